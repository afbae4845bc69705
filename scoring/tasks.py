"""Thin Celery wrappers around scoring services."""

from __future__ import annotations

import smtplib

from celery import shared_task

from workspaces.models import Workspace
from workspaces.scoping import dangerously_all_workspaces, workspace_task


@shared_task(name="scoring.scores_refresh_all")
def scores_refresh_all() -> int:
    """Beat: fan out one refresh per workspace that scores."""
    from .services.refresh import workspaces_with_scoring

    with dangerously_all_workspaces(reason="beat: find the workspaces that score"):
        ids = workspaces_with_scoring()
    for workspace_id in ids:
        scores_refresh_workspace.delay(workspace_id)
    return len(ids)


@workspace_task(name="scoring.scores_refresh_workspace", expires=5 * 60)
def scores_refresh_workspace(workspace: Workspace) -> int:
    from .services.refresh import scores_refresh_due

    return scores_refresh_due(workspace=workspace)


@workspace_task(name="scoring.model_rescore")
def model_rescore_task(workspace: Workspace, model_id: int, mark_due: bool = False) -> int:
    from .models import ScoringModel
    from .services.rescore import model_rescore

    model = ScoringModel.objects.for_workspace(workspace).filter(pk=model_id).first()
    if model is None:
        return 0
    return model_rescore(workspace=workspace, model=model, mark_due=mark_due)


@workspace_task(name="scoring.lead_handoff")
def lead_handoff(workspace: Workspace, contact_id: int) -> int | None:
    from .services.handoff import lead_handoff as handoff

    task = handoff(workspace=workspace, contact_id=contact_id)
    return task.pk if task else None


@workspace_task(
    name="scoring.notification_email_send",
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=True,
    max_retries=5,
)
def notification_email_send(workspace: Workspace, notification_id: int) -> bool:
    from .services.notify import notification_email

    return notification_email(workspace=workspace, notification_id=notification_id)


@workspace_task(name="scoring.rule_backfill")
def rule_backfill_task(workspace: Workspace, backfill_id: int) -> int:
    """Count a behavioural rule's past events (progress on the RuleBackfill row)."""
    from .models import RuleBackfill
    from .services.backfill import rule_backfill_run

    backfill = (
        RuleBackfill.objects.for_workspace(workspace)
        .select_related("rule__model")
        .filter(pk=backfill_id)
        .first()
    )
    if backfill is None or not backfill.is_active:
        return 0
    return rule_backfill_run(workspace=workspace, backfill=backfill).events_done
