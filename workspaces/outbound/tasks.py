"""Thin Celery wrappers around outbound.services."""

from __future__ import annotations

from celery import shared_task

from workspaces.models import Workspace
from workspaces.scoping import dangerously_all_workspaces, workspace_task


@workspace_task(name="outbound.delivery_attempt", soft_time_limit=60, time_limit=90)
def delivery_attempt_task(workspace: Workspace, delivery_id: int) -> str | None:
    from .services import delivery_attempt

    delivery = delivery_attempt(workspace=workspace, delivery_id=delivery_id)
    return delivery.status if delivery else None


@shared_task(name="outbound.deliveries_due", soft_time_limit=30, time_limit=60)
def deliveries_due() -> int:
    """Beat: hand retries whose backoff is over (and attempts lost with a worker) to workers."""
    from .services import deliveries_claim_due

    with dangerously_all_workspaces(reason="beat: claim due webhook deliveries of every workspace"):
        due = deliveries_claim_due()
    for workspace_id, delivery_id in due:
        delivery_attempt_task.delay(workspace_id, delivery_id)
    return len(due)


@shared_task(name="outbound.deliveries_prune", soft_time_limit=300, time_limit=360)
def deliveries_prune() -> int:
    """Beat: keep the delivery log to OUTBOUND_LOG_DAYS."""
    from .services import deliveries_prune as prune

    with dangerously_all_workspaces(reason="beat: prune every workspace's old deliveries"):
        return prune()
