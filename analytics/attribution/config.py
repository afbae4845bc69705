"""A workspace's attribution settings: which events are conversions, how long a click or an
open keeps a claim on them, and the model the report shows first."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from analytics.models import AttributionConfig, AttributionModel, _default_conversion_events
from workspaces.errors import ValidationFailed
from workspaces.models import Workspace

WINDOW_MIN_DAYS = 1
WINDOW_MAX_DAYS = 90
MAX_CONVERSION_EVENTS = 20
EVENT_NAME_MAX = 200


@dataclass(frozen=True)
class Settings:
    conversion_events: list[str] = field(default_factory=_default_conversion_events)
    click_window_days: int = 5
    open_window_days: int = 1
    default_model: str = AttributionModel.LAST_TOUCH


def attribution_settings(*, workspace: Workspace) -> Settings:
    """The workspace's settings, or the defaults when it never saved any (no row is created)."""
    row = AttributionConfig.objects.filter(workspace=workspace).first()
    if row is None:
        return Settings()
    return Settings(
        conversion_events=[str(name) for name in row.conversion_events or []],
        click_window_days=row.click_window_days,
        open_window_days=row.open_window_days,
        default_model=row.default_model,
    )


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


@transaction.atomic
def attribution_config_save(*, workspace: Workspace, data: dict[str, Any]) -> Settings:
    """Validate everything, then save; a rejected form changes nothing. New settings apply to
    conversions processed from now on — past conversions keep the credit they were given."""
    settings = _validated(data)
    AttributionConfig.objects.update_or_create(
        workspace=workspace,
        defaults={
            "conversion_events": settings.conversion_events,
            "click_window_days": settings.click_window_days,
            "open_window_days": settings.open_window_days,
            "default_model": settings.default_model,
        },
    )
    return settings
