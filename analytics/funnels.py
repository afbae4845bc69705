"""Funnel reports: how many contacts take a list of steps, in order, within a window.

    steps_parse(workspace=ws, steps=[{"event": "Signed Up"}, {"page": "/pricing"}])
    funnel_compute(workspace=ws, steps=..., window_days=30, start=..., end=...)
    funnel_save(workspace=ws, user=u, data={...}, instance=None) / funnel_delete(...)

Semantics (docs/funnels.md): a contact enters on their first step-1 event in [start, end);
each later step is the earliest matching event strictly after the previous step's event and
no later than `window_days` after the step-1 event. Taking the earliest match at every step
never loses a contact who could complete the funnel some other way, so the counts equal
"did the steps in this order within the window".
"""

# ruff: noqa: S608  # the SQL is assembled from fixed fragments; every value is a parameter

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction

from contacts.models import Event
from workspaces.errors import ValidationFailed
from workspaces.models import User, Workspace

from .models import Funnel

MIN_STEPS, MAX_STEPS = 2, 8
MAX_WINDOW_DAYS = 365
NAME_MAX = 200
PAGE_MAX = 500
OTHER_SOURCES = "(other)"
NO_SOURCE = "(none)"
EVENTS = Event._meta.db_table

# A page view's URL: the ingestion API copies context.page.url into properties.url, but an
# import or an old client may have only one of them, or only the path.
_PAGE_URL = (
    "lower(coalesce(e.properties->>'url', e.context->'page'->>'url', e.properties->>'path', ''))"
)


@dataclass(frozen=True)
class FunnelStep:
    kind: str  # "event" or "page"
    value: str  # the event name, or the URL fragment
    where: tuple[Any, ...] = ()  # segments' PropertyCond, for event steps
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def label(self) -> str:
        base = self.value if self.kind == "event" else f"Viewed {self.value}"
        return f"{base} (where …)" if self.where else base


@dataclass
class StepResult:
    step: FunnelStep
    contacts: int
    from_previous: float | None  # share of the previous step's contacts, 0..1
    from_first: float | None
    median_seconds: float | None  # from the previous step; None for step 1

    @property
    def median_text(self) -> str:
        return duration_text(self.median_seconds)


@dataclass
class FunnelResult:
    steps: list[StepResult]
    start: datetime
    end: datetime
    window_days: int
    by_source: dict[str, list[int]] = field(default_factory=dict)  # source -> count per step

    @property
    def entered(self) -> int:
        return self.steps[0].contacts if self.steps else 0

    @property
    def converted(self) -> int:
        return self.steps[-1].contacts if self.steps else 0


# --- validation --------------------------------------------------------------------------------


def _bad(path: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{path}: {message}", fields={path: message})


def steps_parse(*, workspace: Workspace, steps: Any) -> list[FunnelStep]:
    """The steps, checked; raises ValidationFailed naming the first bad path (`steps[2].event`)."""
    if not isinstance(steps, list):
        raise _bad("steps", "must be a list of steps")
    if not MIN_STEPS <= len(steps) <= MAX_STEPS:
        raise _bad("steps", f"a funnel has {MIN_STEPS} to {MAX_STEPS} steps, not {len(steps)}")
    return [_step_parse(workspace, raw, f"steps[{index}]") for index, raw in enumerate(steps)]


def _step_parse(workspace: Workspace, raw: Any, path: str) -> FunnelStep:
    if not isinstance(raw, dict):
        raise _bad(path, 'must look like {"event": "Signed Up"} or {"page": "/pricing"}')
    kinds = [key for key in ("event", "page") if key in raw]
    if len(kinds) != 1:
        raise _bad(path, 'needs exactly one of "event" or "page"')
    kind = kinds[0]
    allowed = {"event", "where"} if kind == "event" else {"page"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise _bad(f"{path}.{unknown[0]}", f"unknown key '{unknown[0]}' in a {kind} step")
    value = raw[kind]
    limit = NAME_MAX if kind == "event" else PAGE_MAX
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        what = "an event name" if kind == "event" else "a part of the page URL"
        raise _bad(f"{path}.{kind}", f"must be {what} (1-{limit} characters)")
    value = value.strip()
    where = _where_parse(workspace, value, raw.get("where", []), path) if kind == "event" else ()
    normalized: dict[str, Any] = {kind: value}
    if raw.get("where"):
        normalized["where"] = raw["where"]
    return FunnelStep(kind, value, where, normalized)


def _where_parse(workspace: Workspace, event: str, where: Any, path: str) -> tuple[Any, ...]:
    """Property conditions in the segment filter language (same operators, same errors)."""
    from segments.selectors import FilterInvalid, event_property_conditions

    if where in ([], None):
        return ()
    if not isinstance(where, list):
        raise _bad(f"{path}.where", "must be a list of property conditions")
    try:
        return event_property_conditions(workspace=workspace, event=event, where=where)
    except FilterInvalid as invalid:
        key, message = next(iter(invalid.errors.items()))
        raise _bad(f"{path}.{key}" if key else f"{path}.where", message) from None


def window_parse(value: Any) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise _bad("window_days", "must be a whole number of days") from None
    if not 1 <= days <= MAX_WINDOW_DAYS:
        raise _bad("window_days", f"must be from 1 to {MAX_WINDOW_DAYS} days")
    return days


# --- services ----------------------------------------------------------------------------------


@transaction.atomic
def funnel_save(
    *, workspace: Workspace, user: User | None, data: dict[str, Any], instance: Funnel | None
) -> Funnel:
    """Create or update a funnel from {"name", "steps", "window_days"}; nothing is written
    unless every part is valid."""
    name = str(data.get("name") or "").strip()
    if not name or len(name) > NAME_MAX:
        raise _bad("name", f"give the funnel a name (1-{NAME_MAX} characters)")
    steps = steps_parse(workspace=workspace, steps=data.get("steps"))
    window = window_parse(data.get("window_days", 30))
    funnel = instance or Funnel(workspace=workspace, created_by=user)
    funnel.name, funnel.window_days = name, window
    funnel.steps = [step.raw for step in steps]
    funnel.save()
    return funnel


def funnel_delete(*, workspace: Workspace, funnel: Funnel) -> None:
    assert funnel.workspace_id == workspace.pk
    funnel.delete()


# --- selectors ---------------------------------------------------------------------------------


def funnel_list(*, workspace: Workspace) -> list[Funnel]:
    return list(Funnel.objects.filter(workspace=workspace).order_by("-created_at"))


def funnel_first(*, workspace: Workspace) -> Funnel | None:
    """The funnel the dashboard shows: the first one saved."""
    return Funnel.objects.filter(workspace=workspace).order_by("created_at", "pk").first()


def _step_predicate(step: FunnelStep) -> tuple[str, list[Any]]:
    """A predicate on `contacts_event e` for one step."""
    if step.kind == "page":
        return f"e.type = 'page' AND strpos({_PAGE_URL}, %s) > 0", [step.value.lower()]
    from segments.selectors import event_property_predicate

    parts, params = ["e.name = %s"], [step.value]
    for prop in step.where:
        sql, prop_params = event_property_predicate(prop)
        parts.append(f"({sql})")
        params += prop_params
    return " AND ".join(parts), params


def _funnel_sql(
    workspace_id: int, steps: list[FunnelStep], window_days: int, start: datetime, end: datetime
) -> tuple[str, list[Any]]:
    """One statement: a CTE per step, each step found per contact by a LATERAL probe of the
    contact's timeline (index event_timeline), the first step by event_ws_name_ts or, for a
    page step, the timestamp BRIN. Rows: (step, source, contacts, median seconds), grouped
    by source and overall (source NULL, grouping 1)."""
    pred, params = _step_predicate(steps[0])
    ctes = [
        "s1 AS MATERIALIZED (SELECT DISTINCT ON (e.contact_id) e.contact_id, e.timestamp AS t1, "
        "e.timestamp AS t, e.id, NULL::float8 AS dt, "
        "coalesce(nullif(e.context->'campaign'->>'source', ''), %s) AS source "
        f"FROM {EVENTS} e WHERE e.workspace_id = %s AND e.timestamp >= %s AND e.timestamp < %s "
        f"AND {pred} ORDER BY e.contact_id, e.timestamp, e.id)"
    ]
    params = [NO_SOURCE, workspace_id, start, end, *params]
    window = timedelta(days=window_days)
    for number, step in enumerate(steps[1:], start=2):
        pred, pred_params = _step_predicate(step)
        ctes.append(
            f"s{number} AS MATERIALIZED (SELECT p.contact_id, p.t1, x.t, x.id, "
            "extract(epoch FROM x.t - p.t)::float8 AS dt, p.source "
            f"FROM s{number - 1} p CROSS JOIN LATERAL (SELECT e.timestamp AS t, e.id "
            f"FROM {EVENTS} e WHERE e.workspace_id = %s AND e.contact_id = p.contact_id "
            "AND e.timestamp >= p.t AND e.timestamp <= p.t1 + %s "
            f"AND (e.timestamp > p.t OR e.id > p.id) AND {pred} "
            "ORDER BY e.timestamp, e.id LIMIT 1) x)"
        )
        params += [workspace_id, window, *pred_params]
    selects = [
        f"SELECT {n} AS step, source, grouping(source) AS overall, count(*) AS contacts, "
        f"percentile_cont(0.5) WITHIN GROUP (ORDER BY dt) AS median FROM s{n} "
        "GROUP BY GROUPING SETS ((), (source))"
        for n in range(1, len(steps) + 1)
    ]
    return "WITH " + ", ".join(ctes) + " " + " UNION ALL ".join(selects), params


def funnel_compute(
    *,
    workspace: Workspace,
    steps: list[FunnelStep] | list[dict[str, Any]],
    window_days: int,
    start: datetime,
    end: datetime,
    top_sources: int = 8,
) -> FunnelResult:
    """Contacts at each step, conversions and median times; one SQL statement."""
    parsed: list[FunnelStep] = (
        [step for step in steps if isinstance(step, FunnelStep)]
        if all(isinstance(step, FunnelStep) for step in steps)
        else steps_parse(workspace=workspace, steps=steps)
    )
    sql, params = _funnel_sql(workspace.pk, parsed, window_days, start, end)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    totals = [0] * len(parsed)
    medians: list[float | None] = [None] * len(parsed)
    per_source: dict[str, list[int]] = {}
    for step, source, overall, contacts, median in rows:
        if overall:
            totals[step - 1], medians[step - 1] = contacts, median
        else:
            per_source.setdefault(source, [0] * len(parsed))[step - 1] = contacts
    return FunnelResult(
        steps=[
            StepResult(
                step=step,
                contacts=totals[i],
                from_previous=_share(totals[i], totals[i - 1]) if i else None,
                from_first=_share(totals[i], totals[0]) if i else None,
                median_seconds=medians[i] if i else None,
            )
            for i, step in enumerate(parsed)
        ],
        start=start,
        end=end,
        window_days=window_days,
        by_source=_top_sources(per_source, top_sources),
    )


def duration_text(seconds: float | None) -> str:
    """A median time as a person reads it: "45 s", "12 min", "3 h 20 min", "2 d 4 h"."""
    if seconds is None:
        return "—"
    minutes, hours = int(seconds // 60), int(seconds // 3600)
    if seconds < 60:
        return f"{int(seconds)} s"
    if minutes < 60:
        return f"{minutes} min"
    if hours < 48:
        return f"{hours} h {minutes % 60} min" if minutes % 60 else f"{hours} h"
    return f"{hours // 24} d {hours % 24} h" if hours % 24 else f"{hours // 24} d"


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _top_sources(per_source: dict[str, list[int]], keep: int) -> dict[str, list[int]]:
    """The `keep` sources that brought the most contacts in; the rest summed as one row."""
    ranked = sorted(per_source.items(), key=lambda item: (-item[1][0], item[0]))
    top = dict(ranked[:keep])
    rest = [counts for _, counts in ranked[keep:]]
    if rest:
        top[OTHER_SOURCES] = [sum(column) for column in zip(*rest, strict=True)]
    return top
