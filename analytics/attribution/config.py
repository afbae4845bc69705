"""A workspace's attribution settings: which events are conversions, how long a click or an
open keeps a claim on them, and the model the report shows first.

Changing the events or a window recomputes every conversion with the new settings
(recompute.py): the new settings wait in `pending` meanwhile and the report shows the rows
of the current ones until the recompute is complete. The model the report shows first
needs no recompute (every model is always written) and applies at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from analytics.models import (
    AttributedConversion,
    AttributionConfig,
    AttributionModel,
    _default_conversion_events,
)
from workspaces.errors import ValidationFailed
from workspaces.models import Workspace

WINDOW_MIN_DAYS = 1
WINDOW_MAX_DAYS = 90
MAX_CONVERSION_EVENTS = 20
EVENT_NAME_MAX = 200
# A recompute writes its progress after every batch (seconds apart); this long without one,
# the page offers to resume it.
STALLED_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class Settings:
    conversion_events: list[str] = field(default_factory=_default_conversion_events)
    click_window_days: int = 5
    open_window_days: int = 1
    default_model: str = AttributionModel.LAST_TOUCH


@dataclass(frozen=True)
class State:
    """The settings the report's rows were computed with (generation `generation`), and the
    settings being recomputed (generation `pending_generation`), if any. Read in one
    statement, so the two always belong together."""

    settings: Settings
    generation: int = 0
    pending: Settings | None = None
    pending_generation: int | None = None
    status: str = AttributionConfig.Status.IDLE
    total: int = 0
    done: int = 0
    started_at: datetime | None = None
    recomputed_at: datetime | None = None
    error: str = ""
    touched_at: datetime | None = None  # the last progress written

    @property
    def stalled(self) -> bool:
        """Under way, but no batch for STALLED_AFTER: its worker is likely gone."""
        return bool(
            self.recomputing
            and self.touched_at is not None
            and timezone.now() - self.touched_at > STALLED_AFTER
        )

    @property
    def recomputing(self) -> bool:
        return self.pending is not None and self.status != AttributionConfig.Status.FAILED

    @property
    def percent(self) -> int:
        if self.pending is None:
            return 100
        if not self.total:
            return 0
        return min(99, self.done * 100 // self.total)  # 100 only once the switch is made

    @property
    def wanted(self) -> Settings:
        """What the workspace asked for last: the pending settings, else the current ones."""
        return self.pending or self.settings

    def targets(self) -> list[tuple[int, Settings]]:
        """Each generation being written and its settings: the current one, and the next."""
        found = [(self.generation, self.settings)]
        if self.pending is not None and self.pending_generation is not None:
            found.append((self.pending_generation, self.pending))
        return found


def _settings_of(row: AttributionConfig) -> Settings:
    return Settings(
        conversion_events=[str(name) for name in row.conversion_events or []],
        click_window_days=row.click_window_days,
        open_window_days=row.open_window_days,
        default_model=row.default_model,
    )


def _pending_of(row: AttributionConfig) -> Settings | None:
    pending = row.pending
    if not isinstance(pending, dict):
        return None
    return Settings(
        conversion_events=[str(name) for name in pending.get("conversion_events") or []],
        click_window_days=int(pending["click_window_days"]),
        open_window_days=int(pending["open_window_days"]),
        default_model=row.default_model,
    )


def state_of(row: AttributionConfig | None) -> State:
    if row is None:
        return State(Settings())
    pending = _pending_of(row)
    return State(
        settings=_settings_of(row),
        generation=row.generation,
        pending=pending,
        pending_generation=int(row.pending["generation"]) if pending and row.pending else None,
        status=row.recompute_status,
        total=row.recompute_total,
        done=row.recompute_done,
        started_at=row.recompute_started_at,
        recomputed_at=row.recomputed_at,
        error=row.recompute_error,
        touched_at=row.updated_at,
    )


def attribution_state(*, workspace: Workspace) -> State:
    """Current and pending settings and the recompute's progress (one query)."""
    return state_of(AttributionConfig.objects.filter(workspace=workspace).first())


def attribution_settings(*, workspace: Workspace) -> Settings:
    """The settings the report's figures were computed with, or the defaults when the
    workspace never saved any (no row is created)."""
    return attribution_state(workspace=workspace).settings


def _event_names(raw: Any) -> list[str]:
    """Comma-separated or one per line (a list is taken as is); blanks and repeats dropped."""
    parts = raw if isinstance(raw, list) else str(raw or "").replace("\n", ",").split(",")
    names: list[str] = []
    for part in parts:
        name = str(part).strip()
        if name and name not in names:
            names.append(name)
    return names


def _window(raw: Any, problems: dict[str, str], name: str) -> int:
    try:
        days = int(str(raw).strip())
    except ValueError:
        problems[name] = "a whole number of days"
        return 0
    if not WINDOW_MIN_DAYS <= days <= WINDOW_MAX_DAYS:
        problems[name] = f"between {WINDOW_MIN_DAYS} and {WINDOW_MAX_DAYS} days"
    return days


def _validated(data: dict[str, Any]) -> Settings:
    problems: dict[str, str] = {}
    names = _event_names(data.get("conversion_events"))
    if not names:
        problems["conversion_events"] = "name at least one event, e.g. Order Completed"
    elif len(names) > MAX_CONVERSION_EVENTS:
        problems["conversion_events"] = f"at most {MAX_CONVERSION_EVENTS} events"
    elif any(len(name) > EVENT_NAME_MAX for name in names):
        problems["conversion_events"] = f"an event name is at most {EVENT_NAME_MAX} characters"
    click = _window(data.get("click_window_days"), problems, "click_window_days")
    opened = _window(data.get("open_window_days"), problems, "open_window_days")
    model = str(data.get("default_model") or "")
    if model not in AttributionModel.values:
        problems["default_model"] = f"one of {', '.join(AttributionModel.values)}"
    if problems:
        summary = "; ".join(f"{name}: {problem}" for name, problem in problems.items())
        raise ValidationFailed(summary, fields=problems)
    return Settings(names, click, opened, model)


def _credit_rules(settings: Settings) -> tuple[list[str], int, int]:
    """What decides the credit (the default model only decides what the report shows)."""
    return settings.conversion_events, settings.click_window_days, settings.open_window_days


@transaction.atomic
def attribution_config_save(*, workspace: Workspace, data: dict[str, Any]) -> State:
    """Validate everything, then save; a rejected form changes nothing. New events or windows
    start a recompute of every conversion (the figures switch when it is complete); going
    back to the current ones cancels a recompute under way."""
    settings = _validated(data)
    row, _ = AttributionConfig.objects.select_for_update().get_or_create(workspace=workspace)
    row.default_model = settings.default_model
    current = state_of(row)
    if _credit_rules(settings) == _credit_rules(current.wanted):
        row.save(update_fields=["default_model", "updated_at"])
    elif _credit_rules(settings) == _credit_rules(current.settings):
        _cancel(row)
    else:
        _start(row, settings)
    return state_of(row)


@transaction.atomic
def attribution_recompute_start(*, workspace: Workspace) -> State:
    """Recompute every conversion with the settings asked for last: resumes a recompute under
    way or failed where it stopped, else starts one with the current settings (safe to run
    again: each conversion's rows are replaced, never added twice)."""
    row, _ = AttributionConfig.objects.select_for_update().get_or_create(workspace=workspace)
    current = state_of(row)
    if current.pending is None:
        _start(row, current.settings)
    else:
        row.recompute_status = AttributionConfig.Status.QUEUED
        row.recompute_error = ""
        row.save(update_fields=["recompute_status", "recompute_error", "updated_at"])
        _enqueue(workspace.pk, int(row.pending["generation"]))  # type: ignore[index]
    return state_of(row)


def _start(row: AttributionConfig, settings: Settings) -> None:
    """Pending settings as the next generation, and the task that writes it."""
    pending = row.pending if isinstance(row.pending, dict) else {}
    # Past every generation ever written: rows of a cancelled or superseded recompute may
    # still wait for the clean-up, and must not be taken for this one's.
    written = AttributedConversion.objects.filter(workspace_id=row.workspace_id).aggregate(
        last=Max("generation")
    )["last"]
    generation = max(row.generation, int(pending.get("generation", 0)), written or 0) + 1
    row.pending = {
        "generation": generation,
        "conversion_events": settings.conversion_events,
        "click_window_days": settings.click_window_days,
        "open_window_days": settings.open_window_days,
    }
    row.recompute_status = AttributionConfig.Status.QUEUED
    row.recompute_total = row.recompute_done = 0
    row.recompute_cursor = {}
    row.recompute_started_at = timezone.now()
    row.recompute_error = ""
    row.save()
    _enqueue(row.workspace_id, generation)


def _cancel(row: AttributionConfig) -> None:
    """Back to the current settings: the rows written for the pending ones are left to the
    next clean-up (reports never read them)."""
    row.pending = None
    row.recompute_status = AttributionConfig.Status.IDLE
    row.recompute_cursor = {}
    row.recompute_error = ""
    row.save()


def _enqueue(workspace_id: int, generation: int) -> None:
    from analytics.tasks import attribution_recompute_task

    transaction.on_commit(lambda: attribution_recompute_task.delay(workspace_id, generation))
