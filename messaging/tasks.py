"""Thin Celery wrappers around messaging services."""

from __future__ import annotations

from celery import shared_task
from celery.signals import worker_process_shutdown

from workspaces.models import Workspace
from workspaces.scoping import dangerously_all_workspaces, workspace_task


@workspace_task(
    name="messaging.messages_send",
    autoretry_for=(Exception,),
    retry_backoff=2,
    retry_backoff_max=30,
    max_retries=5,
)
def messages_send_task(workspace: Workspace, message_ids: list[int]) -> None:
    from .services.sending import messages_send

    messages_send(workspace=workspace, message_ids=message_ids)


@shared_task(name="messaging.dispatch_due", ignore_result=True)
def dispatch_due() -> None:
    from .services.broadcasts import broadcasts_tick
    from .services.dispatch import messages_dispatch_due

    with dangerously_all_workspaces(reason="beat: start due broadcasts and sends everywhere"):
        broadcasts_tick()
        messages_dispatch_due()


@shared_task(name="messaging.sends_recover", ignore_result=True)
def sends_recover() -> None:
    from .services.dispatch import messages_recover

    with dangerously_all_workspaces(reason="beat: recover every workspace's interrupted sends"):
        messages_recover()


@shared_task(name="messaging.deliverability_sweep_all", ignore_result=True)
def deliverability_sweep_all() -> None:
    """Beat: one guard sweep task per workspace (each reads its own window)."""
    with dangerously_all_workspaces(reason="beat: list workspaces for the deliverability sweep"):
        ids = list(Workspace.objects.values_list("pk", flat=True))
    for workspace_id in ids:
        deliverability_sweep.delay(workspace_id)


@workspace_task(name="messaging.deliverability_sweep", ignore_result=True)
def deliverability_sweep(workspace: Workspace) -> None:
    from .services.deliverability import deliverability_sweep as sweep

    sweep(workspace=workspace)


@workspace_task(name="messaging.broadcast_fanout", autoretry_for=(Exception,), max_retries=3)
def broadcast_fanout_task(workspace: Workspace, broadcast_id: int) -> None:
    from .services.broadcasts import broadcast_fanout

    broadcast_fanout(workspace=workspace, broadcast_id=broadcast_id)


@workspace_task(name="messaging.double_opt_in_send", autoretry_for=(Exception,), max_retries=5)
def double_opt_in_send(workspace: Workspace, contact_id: int, source: str) -> None:
    from .services.confirmation import confirmation_email_send

    confirmation_email_send(workspace=workspace, contact_id=contact_id, source=source)


@worker_process_shutdown.connect
def _close_connections(**_: object) -> None:
    from .channels.email import connection_reset

    connection_reset()
