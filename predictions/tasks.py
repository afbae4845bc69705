"""Thin Celery wrappers around predictions services."""

from __future__ import annotations

from celery import shared_task

from workspaces.models import Workspace
from workspaces.scoping import dangerously_all_workspaces, workspace_task

# Bounded: a run past the soft limit stops where it is and is recorded as failed.
TRAINING_SOFT_LIMIT = 20 * 60
TRAINING_HARD_LIMIT = 22 * 60


@workspace_task(
    name="predictions.train",
    soft_time_limit=TRAINING_SOFT_LIMIT,
    time_limit=TRAINING_HARD_LIMIT,
)
def training_run_task(workspace: Workspace, run_id: int) -> None:
    from .models import TrainingRun
    from .services import training_run_execute

    run = (
        TrainingRun.objects.for_workspace(workspace)
        .select_related("model", "model__published_run")
        .filter(pk=run_id, status=TrainingRun.Status.QUEUED)
        .first()
    )
    if run is not None:  # gone, or already taken by another delivery of this message
        training_run_execute(run=run)


@shared_task(name="predictions.train_all")
def training_nightly() -> int:
    """Fan out: a queued run for every active model of every workspace (beat calls this)."""
    from workspaces.errors import Conflict

    from .models import PredictionModel, TrainingRun
    from .services import training_run_request

    with dangerously_all_workspaces(reason="beat: the nightly training of every active model"):
        models = list(PredictionModel.objects.filter(is_active=True).select_related("workspace"))
        started = 0
        for model in models:
            try:
                training_run_request(model=model, trigger=TrainingRun.Trigger.SCHEDULE)
                started += 1
            except Conflict:
                continue  # already training
    return started
