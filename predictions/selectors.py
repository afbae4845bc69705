"""Reads: models and runs for the Predictions page, a contact's predictions for the contact
and lead pages, and the filter language's prediction fields for segments (which builds its
field catalogue, its SQL and its per-contact evaluation from these)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from contacts.models import Contact
from workspaces.models import Workspace

from .features import FeatureSpec, describe_value
from .models import ContactPrediction, PredictionModel, Tier, TrainingRun

TIERS = tuple(Tier.values)


def prediction_model_list(*, workspace: Workspace) -> list[PredictionModel]:
    return list(PredictionModel.objects.for_workspace(workspace).select_related("published_run"))


def prediction_model_find(*, workspace: Workspace, model_id: Any) -> PredictionModel | None:
    try:
        pk = int(model_id)
    except (TypeError, ValueError):
        return None
    return (
        PredictionModel.objects.for_workspace(workspace)
        .select_related("published_run")
        .filter(pk=pk)
        .first()
    )


def training_runs(*, model: PredictionModel, limit: int = 20) -> QuerySet[TrainingRun]:
    return TrainingRun.objects.for_workspace(model.workspace_id).filter(model=model)[:limit]


def training_run_find(*, model: PredictionModel, run_id: Any) -> TrainingRun | None:
    try:
        pk = int(run_id)
    except (TypeError, ValueError):
        return None
    return TrainingRun.objects.for_workspace(model.workspace_id).filter(model=model, pk=pk).first()


def training_latest(*, workspace: Workspace) -> dict[int, TrainingRun]:
    """model id → its newest run (one query)."""
    runs = (
        TrainingRun.objects.for_workspace(workspace)
        .order_by("model_id", "-created_at")
        .distinct("model_id")
    )
    return {run.model_id: run for run in runs}


def next_training(now: datetime | None = None) -> datetime | None:
    """When the nightly training runs next (from the one beat schedule)."""
    entry = settings.CELERY_BEAT_SCHEDULE.get("predictions-train-nightly")
    if not entry:
        return None
    now = now or timezone.now()
    schedule = entry["schedule"]
    if isinstance(schedule, int | float):
        return now + timedelta(seconds=schedule)
    return now + schedule.remaining_estimate(now)


# --- a contact's predictions (contact and lead pages) --------------------------------------


@dataclass
class ContactPredictionView:
    model: PredictionModel
    probability: float
    tier: str
    # (in words, effect as a fraction of probability, the effect signed: "+0.18")
    reasons: list[tuple[str, float, str]]
    scored_at: datetime

    @property
    def percent(self) -> float:
        return round(self.probability * 100, 1)


def contact_predictions(
    *, workspace: Workspace, contact: Contact | int
) -> list[ContactPredictionView]:
    """Every model's stored prediction for this contact, with its reasons in words."""
    contact_id = contact if isinstance(contact, int) else contact.pk
    rows = (
        ContactPrediction.objects.for_workspace(workspace)
        .filter(contact_id=contact_id)
        .select_related("model", "run")
        .order_by("model__name")
    )
    out = []
    for row in rows:
        spec = FeatureSpec.from_json(row.run.parameters["spec"])
        reasons = []
        for column, value, effect in row.reasons or []:
            if 0 <= int(column) < len(spec.columns):
                text = describe_value(spec, int(column), float(value))
                reasons.append((text, float(effect), f"{float(effect):+.2f}"))
        out.append(
            ContactPredictionView(row.model, row.probability, row.tier, reasons, row.scored_at)
        )
    return out


# --- the filter language's prediction fields (segments) ------------------------------------


@dataclass(frozen=True)
class PredictionField:
    name: str  # prediction.<key>.likelihood / prediction.<key>.tier
    label: str
    part: str  # "likelihood" (0–100) or "tier"
    model_id: int


def prediction_fields(*, workspace: Workspace) -> list[PredictionField]:
    """The fields every model adds to the filter language (published or not: a filter may be
    written before the first model is published; until then nobody matches)."""
    fields = []
    for model_id, key, name in PredictionModel.objects.for_workspace(workspace).values_list(
        "id", "key", "name"
    ):
        fields.append(
            PredictionField(
                f"prediction.{key}.likelihood", f"{name} — likelihood %", "likelihood", model_id
            )
        )
        fields.append(PredictionField(f"prediction.{key}.tier", f"{name} — tier", "tier", model_id))
    return fields


def prediction_value_sql(*, workspace_id: int, model_id: int, part: str) -> tuple[str, list[Any]]:
    """A scalar subquery on `contacts_contact c`: the contact's likelihood (numeric, 0–100)
    or tier (text), NULL when it has none — one probe of the (workspace, model, contact)
    unique index."""
    column = "round((p.probability * 100)::numeric, 4)" if part == "likelihood" else "p.tier::text"
    table = ContactPrediction._meta.db_table
    return (
        f"(SELECT {column} FROM {table} p WHERE p.workspace_id = %s "  # noqa: S608
        "AND p.model_id = %s AND p.contact_id = c.id)",
        [workspace_id, model_id],
    )


def contact_prediction_values(
    *, workspace_id: int, contact_id: int
) -> dict[int, tuple[float, str]]:
    """model id → (likelihood 0–100, tier) for one contact (per-contact filter evaluation)."""
    rows = (
        ContactPrediction.objects.for_workspace(workspace_id)
        .filter(contact_id=contact_id)
        .values_list("model_id", "probability", "tier")
    )
    return {model_id: (round(probability * 100, 4), tier) for model_id, probability, tier in rows}


def lead_likelihoods(
    *, workspace: Workspace, contact_ids: list[int]
) -> tuple[PredictionModel | None, dict[int, tuple[float, str]]]:
    """The leads list's column: the workspace's first published conversion model (by name)
    and these contacts' (likelihood %, tier) under it — two queries, whatever the page size."""
    model = (
        PredictionModel.objects.for_workspace(workspace)
        .filter(kind="conversion", published_run__isnull=False)
        .order_by("name")
        .first()
    )
    if model is None or not contact_ids:
        return model, {}
    rows = (
        ContactPrediction.objects.for_workspace(workspace)
        .filter(model=model, contact_id__in=contact_ids)
        .values_list("contact_id", "probability", "tier")
    )
    return model, {pk: (round(p * 100, 1), tier) for pk, p, tier in rows}
