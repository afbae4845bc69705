"""Counting a funnel: one SQL statement, bounded in time, and its result as tables.

The statement: a materialised CTE per step (step 1 by event_ws_name_ts or, for a page step,
the timestamp BRIN; each later step a LATERAL probe of the contact's timeline), the contacts
an exclusion leaves out, the breakdown's top values, then counts and medians per step,
overall and per value (GROUPING SETS). See docs/funnels.md "How it runs"."""

# ruff: noqa: S608  # the SQL is assembled from fixed fragments; every value is a parameter

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import OperationalError, connection, transaction

from contacts.models import Contact, Event
from workspaces.errors import TendrilError
from workspaces.models import Workspace

from .definition import (
    DEFAULT_BREAKDOWN,
    NO_VALUE,
    OTHER_VALUES,
    VALUE_MAX,
    Breakdown,
    Exclusion,
    FunnelDefinition,
    FunnelStep,
    breakdown_parse,
    definition_parse,
    exclusions_parse,
)

EVENTS = Event._meta.db_table
CONTACTS = Contact._meta.db_table
# A funnel is counted on each view: past this, PostgreSQL cancels the statement and the page
# says so (a period of 90 days × 8 steps on a very large workspace, or a missing ANALYZE).
QUERY_TIMEOUT_MS = 15_000

# A page view's URL: the ingestion API copies context.page.url into properties.url, but an
# import or an old client may have only one of them, or only the path.
_PAGE_URL = (
    "lower(coalesce(e.properties->>'url', e.context->'page'->>'url', e.properties->>'path', ''))"
)


class FunnelTooSlow(TendrilError):
    status = 503
    code = "funnel_timeout"


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
class BreakdownRow:
    value: str
    counts: list[int]  # contacts at each step

    @property
    def shares(self) -> list[float | None]:
        """Each step's contacts as a share of this value's step 1."""
        return [_share(count, self.counts[0]) for count in self.counts]

    @property
    def converted(self) -> float | None:
        return _share(self.counts[-1], self.counts[0])

    @property
    def cells(self) -> list[tuple[int, float | None]]:
        return list(zip(self.counts, self.shares, strict=True))


@dataclass
class FunnelResult:
    steps: list[StepResult]
    start: datetime
    end: datetime
    window_days: int
    exclusions: list[Exclusion] = field(default_factory=list)
    breakdown: Breakdown = DEFAULT_BREAKDOWN
    rows: list[BreakdownRow] = field(default_factory=list)  # top values, then "(other)"
    excluded: int = 0  # contacts who entered and were left out by an exclusion

    @property
    def entered(self) -> int:
        return self.steps[0].contacts if self.steps else 0

    @property
    def converted(self) -> int:
        return self.steps[-1].contacts if self.steps else 0


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


def _breakdown_value(breakdown: Breakdown) -> tuple[str, list[Any], str, list[Any], str]:
    """(value on the step-1 event `e`, its params, value on the entering row `d` joined to
    its contact `c`, its params, the join) — text, "(none)" when empty, cut to VALUE_MAX."""

    def text(expr: str) -> str:
        return f"coalesce(nullif(left({expr}, {VALUE_MAX}), ''), %s)"

    if breakdown.kind == "utm":
        return text("e.context->'campaign'->>%s"), [breakdown.name, NO_VALUE], "d.v", [], ""
    if breakdown.kind == "property":
        path = breakdown.name.split(".")
        return text("e.properties #>> %s"), [path, NO_VALUE], "d.v", [], ""
    join = f"LEFT JOIN {CONTACTS} c ON c.id = d.contact_id AND c.workspace_id = d.workspace_id"
    if breakdown.column:
        column = connection.ops.quote_name(breakdown.column)
        return "NULL::text", [], text(f"c.{column}::text"), [NO_VALUE], join
    return "NULL::text", [], text("c.attributes->>%s"), [breakdown.name, NO_VALUE], join


def _funnel_sql(
    workspace_id: int,
    definition: FunnelDefinition,
    window_days: int,
    start: datetime,
    end: datetime,
) -> tuple[str, list[Any]]:
    """One statement: a CTE per step, each step found per contact by a LATERAL probe of the
    contact's timeline (index event_timeline), the first step by event_ws_name_ts or, for a
    page step, the timestamp BRIN; then the contacts an exclusion leaves out (one
    timeline probe per contact and exclusion: `gone`) and the breakdown's top values (`top`). Rows:
    (step, value, contacts, median seconds), grouped by value and overall (grouping 1);
    step 0 is the number of contacts excluded."""
    steps = definition.steps
    pred, pred_params = _step_predicate(steps[0])
    inner, inner_params, outer, outer_params, join = _breakdown_value(definition.breakdown)
    ctes = [
        f"s1 AS MATERIALIZED (SELECT d.contact_id, d.t1, d.t, d.id, NULL::float8 AS dt, "
        f"{outer} AS value FROM (SELECT DISTINCT ON (e.contact_id) e.workspace_id, "
        f"e.contact_id, e.timestamp AS t1, e.timestamp AS t, e.id, {inner} AS v "
        f"FROM {EVENTS} e WHERE e.workspace_id = %s AND e.timestamp >= %s AND e.timestamp < %s "
        f"AND {pred} ORDER BY e.contact_id, e.timestamp, e.id) d {join})"
    ]
    params: list[Any] = [*outer_params, *inner_params, workspace_id, start, end, *pred_params]
    window = timedelta(days=window_days)
    for number, step in enumerate(steps[1:], start=2):
        pred, pred_params = _step_predicate(step)
        ctes.append(
            f"s{number} AS MATERIALIZED (SELECT p.contact_id, p.t1, x.t, x.id, "
            "extract(epoch FROM x.t - p.t)::float8 AS dt, p.value "
            f"FROM s{number - 1} p CROSS JOIN LATERAL (SELECT e.timestamp AS t, e.id "
            f"FROM {EVENTS} e WHERE e.workspace_id = %s AND e.contact_id = p.contact_id "
            "AND e.timestamp >= p.t AND e.timestamp <= p.t1 + %s "
            # the same bounds as constants, so the planner prunes the event table's
            # monthly partitions to the funnel's period plus its window
            "AND e.timestamp >= %s AND e.timestamp <= %s "
            f"AND (e.timestamp > p.t OR e.id > p.id) AND {pred} "
            "ORDER BY e.timestamp, e.id LIMIT 1) x)"
        )
        params += [workspace_id, window, start, end + window, *pred_params]
    excluded, excluded_params = _excluded_sql(workspace_id, definition.exclusions, window)
    ctes.append(f"gone AS MATERIALIZED ({excluded})")
    params += excluded_params
    ctes.append(
        "top AS MATERIALIZED (SELECT value FROM s1 WHERE NOT EXISTS "
        "(SELECT 1 FROM gone WHERE gone.contact_id = s1.contact_id) "
        "GROUP BY value ORDER BY count(*) DESC, value LIMIT %s)"
    )
    params.append(definition.breakdown.top)
    selects = [
        "SELECT 0 AS step, NULL::text AS bucket, 1 AS overall, count(*) AS contacts, "
        "NULL::float8 AS median FROM gone"
    ]
    for n in range(1, len(steps) + 1):
        selects.append(
            f"SELECT {n} AS step, bucket, grouping(bucket) AS overall, count(*) AS contacts, "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY dt) AS median "
            "FROM (SELECT CASE WHEN s.value IN (SELECT value FROM top) THEN s.value "
            f"ELSE %s END AS bucket, s.dt FROM s{n} s WHERE NOT EXISTS "
            "(SELECT 1 FROM gone WHERE gone.contact_id = s.contact_id)) b "
            "GROUP BY GROUPING SETS ((), (bucket))"
        )
        params.append(OTHER_VALUES)
    return "WITH " + ", ".join(ctes) + " " + " UNION ALL ".join(selects), params


def _excluded_sql(
    workspace_id: int, exclusions: list[Exclusion], window: timedelta
) -> tuple[str, list[Any]]:
    """The contacts an exclusion leaves out: an excluded event after their `from_step` event
    and before their `to_step` event (ties in time break on event id, as between steps), or
    before their window closes when they never reached `to_step`."""
    if not exclusions:
        return "SELECT NULL::bigint AS contact_id WHERE false", []
    parts, params = [], []
    for exclusion in exclusions:
        pred, pred_params = _step_predicate(exclusion.step)
        parts.append(
            f"SELECT f.contact_id FROM s{exclusion.from_step} f "
            f"LEFT JOIN s{exclusion.to_step} g ON g.contact_id = f.contact_id "
            f"WHERE EXISTS (SELECT 1 FROM {EVENTS} e WHERE e.workspace_id = %s "
            "AND e.contact_id = f.contact_id AND e.timestamp >= f.t "
            "AND (e.timestamp > f.t OR e.id > f.id) "
            "AND e.timestamp <= coalesce(g.t, f.t1 + %s) "
            "AND (g.id IS NULL OR e.timestamp < g.t OR e.id < g.id) "
            f"AND {pred})"
        )
        params += [workspace_id, window, *pred_params]
    return " UNION ".join(parts), params


_SET_TIMEOUT = "SELECT set_config('statement_timeout', %s, true)"


def _fetch_bounded(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """Run the statement with at most QUERY_TIMEOUT_MS; FunnelTooSlow past it."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('statement_timeout')")
            previous = cursor.fetchone()[0]
            cursor.execute(_SET_TIMEOUT, [f"{QUERY_TIMEOUT_MS}ms"])
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            cursor.execute(_SET_TIMEOUT, [previous])  # an enclosing transaction goes on
            return rows
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) != "57014":  # query_canceled
            raise
        seconds = QUERY_TIMEOUT_MS / 1000
        raise FunnelTooSlow(
            f"Counting this funnel took longer than {seconds:g} s and was stopped: try a "
            "shorter period, fewer steps or a narrower first step."
        ) from None


def funnel_compute(
    *,
    workspace: Workspace,
    steps: list[FunnelStep] | list[dict[str, Any]] | FunnelDefinition,
    window_days: int,
    start: datetime,
    end: datetime,
    exclusions: Any = None,
    breakdown: Any = None,
) -> FunnelResult:
    """Contacts at each step, conversions, median times and the breakdown; one SQL statement,
    bounded in time (FunnelTooSlow). `steps` may be a parsed FunnelDefinition, parsed steps or
    the JSON steps (then `exclusions` and `breakdown` are the JSON ones too)."""
    if isinstance(steps, FunnelDefinition):
        definition = steps
    elif steps and all(isinstance(step, FunnelStep) for step in steps):
        parsed = [step for step in steps if isinstance(step, FunnelStep)]
        definition = FunnelDefinition(
            parsed,
            exclusions_parse(workspace=workspace, exclusions=exclusions, steps=parsed),
            breakdown_parse(workspace=workspace, breakdown=breakdown),
        )
    else:
        definition = definition_parse(
            workspace=workspace, steps=steps, exclusions=exclusions, breakdown=breakdown
        )
    sql, params = _funnel_sql(workspace.pk, definition, window_days, start, end)
    rows = _fetch_bounded(sql, params)
    size = len(definition.steps)
    totals = [0] * size
    medians: list[float | None] = [None] * size
    per_value: dict[str, list[int]] = {}
    excluded = 0
    for step, value, overall, contacts, median in rows:
        if step == 0:
            excluded = contacts
        elif overall:
            totals[step - 1], medians[step - 1] = contacts, median
        else:
            per_value.setdefault(value, [0] * size)[step - 1] = contacts
    return FunnelResult(
        steps=[
            StepResult(
                step=step,
                contacts=totals[i],
                from_previous=_share(totals[i], totals[i - 1]) if i else None,
                from_first=_share(totals[i], totals[0]) if i else None,
                median_seconds=medians[i] if i else None,
            )
            for i, step in enumerate(definition.steps)
        ],
        start=start,
        end=end,
        window_days=window_days,
        exclusions=definition.exclusions,
        breakdown=definition.breakdown,
        rows=_ranked(per_value),
        excluded=excluded,
    )


ALL_VALUES = "(all)"
TABLE_HEADER = [
    "breakdown",
    "value",
    "step",
    "step_label",
    "contacts",
    "share_of_step_1",
    "share_of_previous",
    "median_seconds_from_previous",
]


def funnel_table(result: FunnelResult) -> list[list[Any]]:
    """The result as one table ("long" form, for a spreadsheet or a BI tool; columns
    TABLE_HEADER): every step overall (value "(all)"), then every step of every breakdown
    value. Shares are 0..1."""
    rows: list[list[Any]] = []
    label = result.breakdown.label
    for number, row in enumerate(result.steps, start=1):
        rows.append(
            [
                label,
                ALL_VALUES,
                number,
                row.step.label,
                row.contacts,
                row.from_first,
                row.from_previous,
                row.median_seconds,
            ]
        )
    for value_row in result.rows:
        for number, (count, share) in enumerate(value_row.cells, start=1):
            previous = value_row.counts[number - 2] if number > 1 else None
            rows.append(
                [
                    label,
                    value_row.value,
                    number,
                    result.steps[number - 1].step.label,
                    count,
                    share if number > 1 else None,
                    _share(count, previous) if previous is not None else None,
                    None,
                ]
            )
    return rows


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


def _ranked(per_value: dict[str, list[int]]) -> list[BreakdownRow]:
    """The top values by contacts entering (the query kept them), then "(other)"."""
    other = per_value.pop(OTHER_VALUES, None)
    ranked = sorted(per_value.items(), key=lambda item: (-item[1][0], item[0]))
    rows = [BreakdownRow(value, counts) for value, counts in ranked]
    if other is not None:
        rows.append(BreakdownRow(OTHER_VALUES, other))
    return rows
