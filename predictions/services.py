"""Writes: prediction models, training runs, and the stored per-contact predictions."""

# ruff: noqa: S608  # identifiers are model metadata; every value is a parameter

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from contacts.models import LifecycleStage
from workspaces.errors import Conflict, ValidationFailed
from workspaces.models import Workspace

from . import hooks
from .features import FeatureSpec, dataset_build, spec_choose
from .models import ContactPrediction, GoalType, Kind, PredictionModel, TrainingRun
from .scoring import Scored, Scorer
from .training import train_and_judge

logger = logging.getLogger(__name__)

MAX_HORIZON_DAYS = 365
WRITE_CHUNK = 50_000
# A run still "running" this long after it started died with its worker: another may start.
STALE_RUN = timedelta(hours=2)


# --- models --------------------------------------------------------------------------------


def prediction_model_create(
    *,
    workspace: Workspace,
    name: str,
    kind: str,
    goal_type: str,
    goal: str,
    horizon_days: int,
) -> PredictionModel:
    name, goal = (name or "").strip(), (goal or "").strip()
    fields: dict[str, str] = {}
    if kind not in Kind.values:
        fields["kind"] = f"one of {', '.join(Kind.values)}"
    if goal_type not in GoalType.values:
        fields["goal_type"] = f"one of {', '.join(GoalType.values)}"
    if not goal:
        fields["goal"] = "name the event (e.g. Order Completed) or the lifecycle stage"
    elif goal_type == GoalType.LIFECYCLE and goal not in LifecycleStage.values:
        fields["goal"] = f"a lifecycle stage: one of {', '.join(LifecycleStage.values)}"
    elif len(goal) > 200:
        fields["goal"] = "at most 200 characters"
    if kind == Kind.CHURN and goal_type != GoalType.EVENT:
        fields["goal_type"] = "churn is measured on an event (the purchase or activity that lapses)"
    if not 1 <= int(horizon_days or 0) <= MAX_HORIZON_DAYS:
        fields["horizon_days"] = f"between 1 and {MAX_HORIZON_DAYS} days"
    if fields:
        raise ValidationFailed("; ".join(f"{k}: {v}" for k, v in fields.items()), fields=fields)
    if not name:
        verb = "Lapse risk" if kind == Kind.CHURN else "Likely to convert"
        name = f"{verb}: {goal} in {horizon_days} days"[:150]
    if PredictionModel.objects.for_workspace(workspace).filter(name=name).exists():
        raise ValidationFailed(f"name: a model named “{name}” exists", fields={"name": "taken"})
    return PredictionModel.objects.create(
        workspace=workspace,
        key=_unique_key(workspace, f"{kind}-{goal}"),
        name=name,
        kind=kind,
        goal_type=goal_type,
        goal=goal,
        horizon_days=int(horizon_days),
    )


def _unique_key(workspace: Workspace, text: str) -> str:
    base = (slugify(text) or "model")[:50].strip("-") or "model"
    taken = set(
        PredictionModel.objects.for_workspace(workspace)
        .filter(key__startswith=base)
        .values_list("key", flat=True)
    )
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    return key


def prediction_model_delete(*, model: PredictionModel) -> None:
    model.delete()


# --- training runs -------------------------------------------------------------------------


def training_run_request(
    *, model: PredictionModel, trigger: str = TrainingRun.Trigger.MANUAL
) -> TrainingRun:
    """Queue a training run (the task starts after commit). One at a time per model."""
    from .tasks import training_run_task

    with transaction.atomic():
        PredictionModel.objects.select_for_update().filter(pk=model.pk).first()
        active = (
            TrainingRun.objects.for_workspace(model.workspace)
            .filter(model=model, status__in=[TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING])
            .filter(created_at__gte=timezone.now() - STALE_RUN)
            .first()
        )
        if active is not None:
            raise Conflict(
                f"“{model.name}” is already training (started {active.created_at:%H:%M})."
            )
        run = TrainingRun.objects.create(workspace=model.workspace, model=model, trigger=trigger)
        workspace_id, run_id = model.workspace_id, run.pk
        transaction.on_commit(lambda: training_run_task.delay(workspace_id, run_id))
    return run


def _progress(run: TrainingRun, percent: float, stage: str, **fields: Any) -> None:
    run.progress, run.stage = int(percent), stage
    for name, value in fields.items():
        setattr(run, name, value)
    TrainingRun.objects.filter(pk=run.pk).update(progress=int(percent), stage=stage, **fields)


def training_run_execute(*, run: TrainingRun, now: datetime | None = None) -> TrainingRun:
    """Train on the earlier cut-off, judge on the later one, publish (and score every
    contact) or say why not. Progress is written as it goes; a failure is recorded."""
    model = run.model
    now = now or timezone.now()
    holdout_cutoff = now - timedelta(days=model.horizon_days)
    train_cutoff = holdout_cutoff - timedelta(days=model.horizon_days)
    _progress(
        run,
        2,
        "Choosing features",
        status=TrainingRun.Status.RUNNING,
        started_at=timezone.now(),
        train_cutoff=train_cutoff,
        holdout_cutoff=holdout_cutoff,
    )
    clock = _Stopwatch()
    try:
        spec = spec_choose(model=model, cutoff=holdout_cutoff)
        clock.lap("choose_features")
        train = dataset_build(
            model=model,
            spec=spec,
            cutoff=train_cutoff,
            with_labels=True,
            progress=lambda f: _progress(run, 5 + 25 * f, "Building the training set"),
        )
        holdout = dataset_build(
            model=model,
            spec=spec,
            cutoff=holdout_cutoff,
            with_labels=True,
            progress=lambda f: _progress(run, 30 + 25 * f, "Building the validation set"),
        )
        clock.lap("build_datasets")
        _progress(run, 55, "Fitting and validating")
        assert train.labels is not None and holdout.labels is not None
        outcome = train_and_judge(
            spec=spec,
            train_raw=train.raw,
            train_labels=train.labels,
            holdout_raw=holdout.raw,
            holdout_labels=holdout.labels,
            holdout_rule_scores=holdout.rule_scores,
            churn=model.kind == Kind.CHURN,
        )
        del train, holdout
        clock.lap("fit_and_validate")
        TrainingRun.objects.filter(pk=run.pk).update(
            published=outcome.published,
            verdict=outcome.verdict,
            report=outcome.report,
            parameters=outcome.parameters,
        )
        run.published, run.verdict = outcome.published, outcome.verdict
        run.report, run.parameters = outcome.report, outcome.parameters
        scoring_run = run if outcome.published else model.published_run
        if scoring_run is not None:
            stage = (
                "Scoring contacts" if outcome.published else "Re-scoring with the published model"
            )
            predictions_score(
                model=model,
                run=scoring_run,
                now=now,
                progress=lambda f: _progress(run, 75 + 24 * f, stage),
            )
            clock.lap("score_contacts")
        run.report = {**run.report, "seconds": clock.laps}
        TrainingRun.objects.filter(pk=run.pk).update(report=run.report)
    except Exception as error:
        logger.exception("training run %s failed", run.pk)
        _progress(
            run,
            run.progress,
            "Failed",
            status=TrainingRun.Status.FAILED,
            finished_at=timezone.now(),
            error=f"{type(error).__name__}: {error}"[:2000],
        )
        raise
    _progress(run, 100, "Done", status=TrainingRun.Status.DONE, finished_at=timezone.now())
    return run


class _Stopwatch:
    """Seconds per stage of a run, kept in its report (the page and bench predict show them)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 3)
        self._last = now


# --- scoring contacts ----------------------------------------------------------------------


def predictions_score(
    *,
    model: PredictionModel,
    run: TrainingRun,
    now: datetime | None = None,
    progress: Callable[[float], None] | None = None,
) -> int:
    """Score the model's population as of `now` with `run`'s parameters and store each
    contact's probability, tier and reasons (upserted in chunks; rows of contacts no longer in
    the population are removed). Then tell the listeners (segments recompute)."""
    now = now or timezone.now()
    parameters = run.parameters
    spec = FeatureSpec.from_json(parameters["spec"])
    data = dataset_build(model=model, spec=spec, cutoff=now, with_labels=False)
    if progress:
        progress(0.4)
    scorer = Scorer(parameters)
    stamp = timezone.now()
    total = len(data)
    for start in range(0, total, WRITE_CHUNK):  # chunks: memory stays bounded
        stop = min(start + WRITE_CHUNK, total)
        raw = data.raw[start:stop]
        _write_chunk(model, run, stamp, data.contact_ids[start:stop], raw, scorer.score(raw))
        if progress:
            progress(0.4 + 0.6 * stop / max(total, 1))
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {ContactPrediction._meta.db_table} WHERE workspace_id = %s "
            "AND model_id = %s AND scored_at < %s",
            [model.workspace_id, model.pk, stamp],
        )
    PredictionModel.objects.filter(pk=model.pk).update(
        published_run=run, scored_at=stamp, scored_count=total
    )
    model.published_run, model.scored_at, model.scored_count = run, stamp, total
    hooks.predictions_scored(
        hooks.PredictionsScored(
            workspace=model.workspace,
            model_id=model.pk,
            key=model.key,
            fields=model.filter_fields,
            contacts=total,
        )
    )
    return total


def reasons_json(columns: np.ndarray, values: np.ndarray, effects: np.ndarray) -> list[str]:
    """Each row's reasons as compact JSON: [[column, raw value, effect], …] (words are made
    when read, from the run's feature list)."""
    out = []
    for cols, vals, effs in zip(columns.tolist(), values.tolist(), effects.tolist(), strict=True):
        out.append(
            "["
            + ",".join(
                f"[{c},{v:.6g},{e:.4f}]" for c, v, e in zip(cols, vals, effs, strict=True) if c >= 0
            )
            + "]"
        )
    return out


def _write_chunk(
    model: PredictionModel,
    run: TrainingRun,
    stamp: datetime,
    ids: np.ndarray,
    raw: np.ndarray,
    scored: Scored,
) -> None:
    columns = scored.reason_columns
    values = np.take_along_axis(raw, np.maximum(columns, 0), axis=1)
    reasons = reasons_json(columns, values, scored.reason_effects)
    table = ContactPrediction._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table}
                (workspace_id, model_id, contact_id, run_id, probability, tier, reasons, scored_at)
            SELECT %s, %s, u.contact_id, %s, u.p, u.tier, u.reasons::jsonb, %s
            FROM unnest(%s::bigint[], %s::float8[], %s::text[], %s::text[])
                AS u(contact_id, p, tier, reasons)
            ON CONFLICT (workspace_id, model_id, contact_id) DO UPDATE SET
                run_id = EXCLUDED.run_id, probability = EXCLUDED.probability,
                tier = EXCLUDED.tier, reasons = EXCLUDED.reasons, scored_at = EXCLUDED.scored_at
            """,
            [
                model.workspace_id,
                model.pk,
                run.pk,
                stamp,
                ids.tolist(),
                scored.probabilities.tolist(),
                scored.tiers.tolist(),
                reasons,
            ],
        )
