"""Every panel of the dashboard as one table — the same numbers for its CSV download and
`/api/v1/analytics/panels/<name>/` — with the parameters a panel may be asked, and the KPIs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from scoring.selectors import score_distribution
from segments.selectors import segment_names
from workspaces.errors import ValidationFailed
from workspaces.models import Workspace

from .. import selectors
from ..selectors import Period
from .reads import (
    COHORT_WEEKS,
    MAX_DAYS,
    SEGMENTS_MAX,
    active_contacts,
    cohort_retention,
    segment_sizes,
)

# --- every panel as one table (page, CSV, API) -------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: str


@dataclass(frozen=True)
class Table:
    columns: list[Column]
    rows: list[dict[str, Any]]

    @property
    def header(self) -> list[str]:
        return [column.label for column in self.columns]

    def values(self) -> list[list[Any]]:
        return [[row.get(column.key) for column in self.columns] for row in self.rows]


@dataclass(frozen=True)
class Params:
    """What a panel may be asked: the period (`days`, ending today), retention's `weeks`,
    and the segments whose sizes to show (`segment`, repeated)."""

    days: int = selectors.DEFAULT_PERIOD
    weeks: int = COHORT_WEEKS
    segment_ids: list[int] | None = None


def _whole(raw: str | None, name: str, low: int, high: int, default: int) -> int:
    if raw is None or raw == "":
        return default
    if raw.isascii() and raw.isdigit() and low <= int(raw) <= high:
        return int(raw)
    message = f"a whole number from {low} to {high}"
    raise ValidationFailed(f"{name}: {message}.", fields={name: message})


def params_parse(query: Any) -> Params:
    """Params from a query string (a QueryDict); ValidationFailed naming the bad one."""
    ids = None
    raw_ids = query.getlist("segment")
    if raw_ids:
        if len(raw_ids) > SEGMENTS_MAX:
            message = f"at most {SEGMENTS_MAX} segments"
            raise ValidationFailed(f"segment: {message}.", fields={"segment": message})
        ids = [_whole(raw, "segment", 1, 2**63 - 1, 0) for raw in raw_ids]
    return Params(
        days=_whole(query.get("days"), "days", 1, MAX_DAYS, selectors.DEFAULT_PERIOD),
        weeks=_whole(query.get("weeks"), "weeks", 1, COHORT_WEEKS, COHORT_WEEKS),
        segment_ids=ids,
    )


def _kpis_table(workspace: Workspace, period: Period, params: Params) -> Table:
    rows = [
        {
            "figure": kpi["key"],
            "label": kpi["label"],
            "value": kpi["value"],
            "previous": kpi["previous"],
            "change": None if kpi["change"] is None else round(kpi["change"], 4),
        }
        for kpi in kpis(workspace=workspace, period=period)
    ]
    return Table(
        [
            Column("figure", "Figure"),
            Column("label", "Label"),
            Column("value", "This period"),
            Column("previous", "Period before"),
            Column("change", "Change"),
        ],
        rows,
    )


def _daily_table(workspace: Workspace, period: Period, params: Params) -> Table:
    conversions = selectors.conversion_event_names(workspace=workspace)
    series = selectors.daily_series(workspace=workspace, period=period, conversions=conversions)
    _, contacts = selectors.new_contacts(workspace=workspace, period=period)
    rows = [
        {
            "day": day,
            "page_views": int(series["page_views"][i]),
            "emails_sent": int(series["emails_sent"][i]),
            "new_contacts": contacts[i],
            "conversions": int(series["conversions"][i]),
            "revenue": Decimal(str(series["revenue"][i])).quantize(Decimal("0.01")),
        }
        for i, day in enumerate(period.dates)
    ]
    return Table(
        [
            Column("day", "Day"),
            Column("page_views", "Page views"),
            Column("emails_sent", "Emails sent"),
            Column("new_contacts", "New contacts"),
            Column("conversions", "Conversions"),
            Column("revenue", f"Revenue ({workspace.currency})"),
        ],
        rows,
    )


def _lifecycle_table(workspace: Workspace, period: Period, params: Params) -> Table:
    rows = [
        {
            "stage": row["stage"],
            "label": row["label"],
            "reached": row["reached"],
            "from_previous": None
            if row["from_previous"] is None
            else round(row["from_previous"], 4),
        }
        for row in selectors.lifecycle_funnel(workspace=workspace)
    ]
    return Table(
        [
            Column("stage", "Stage"),
            Column("label", "Label"),
            Column("reached", "Reached (at the stage or further)"),
            Column("from_previous", "From the stage before"),
        ],
        rows,
    )


_ENGAGEMENT = [
    Column("sent", "Sent"),
    Column("delivered", "Delivered"),
    Column("opened", "Opened"),
    Column("clicked", "Clicked"),
    Column("bounced", "Bounced"),
]


def _channels_table(workspace: Workspace, period: Period, params: Params) -> Table:
    rates = selectors.message_rates(workspace=workspace, period=period)
    rows = [
        {"channel": channel, **{c.key: row.get(c.key) or 0 for c in _ENGAGEMENT}}
        for channel, row in sorted(rates.items())
    ]
    return Table([Column("channel", "Channel"), *_ENGAGEMENT], rows)


def _workflows_table(workspace: Workspace, period: Period, params: Params) -> Table:
    rows = [
        {
            "id": row["id"],
            "name": row["name"],
            "status": row["status"],
            "enrolled": row["enrolled"],
            "live": row["live"],
            "converted": row["converted"],
            "sent": row["sent"],
            "opened": row["opened"],
            "clicked": row["clicked"],
        }
        for row in selectors.workflow_results(workspace=workspace, period=period)
    ]
    return Table(
        [
            Column("id", "Workflow id"),
            Column("name", "Workflow"),
            Column("status", "Status"),
            Column("enrolled", "Enrolled"),
            Column("live", "In progress"),
            Column("converted", "Reached goal"),
            Column("sent", "Messages"),
            Column("opened", "Opened"),
            Column("clicked", "Clicked"),
        ],
        rows,
    )


def _broadcasts_table(workspace: Workspace, period: Period, params: Params) -> Table:
    rows = [
        {
            "id": row["broadcast"].pk,
            "name": row["broadcast"].name,
            "started_at": row["broadcast"].started_at,
            **{c.key: row.get(c.key) or 0 for c in _ENGAGEMENT},
            "ab_winner": row["broadcast"].ab_winner.label if row["broadcast"].ab_winner else None,
        }
        for row in selectors.broadcast_results(workspace=workspace, period=period)
    ]
    return Table(
        [
            Column("id", "Broadcast id"),
            Column("name", "Broadcast"),
            Column("started_at", "Started"),
            *_ENGAGEMENT,
            Column("ab_winner", "A/B winner"),
        ],
        rows,
    )


def _top_events_table(workspace: Workspace, period: Period, params: Params) -> Table:
    rows = [
        {"event": row["name"], "count": row["count"], "revenue": row["amount"] or Decimal(0)}
        for row in selectors.top_events(workspace=workspace, period=period)
    ]
    return Table(
        [Column("event", "Event"), Column("count", "Count"), Column("revenue", "Revenue")], rows
    )


def _retention_table(workspace: Workspace, period: Period, params: Params) -> Table:
    retention = cohort_retention(workspace=workspace, weeks=params.weeks)
    rows = []
    for cohort in retention.cohorts:
        row: dict[str, Any] = {"cohort": cohort.week, "size": cohort.size}
        for n, (active, share) in enumerate(zip(cohort.active, cohort.shares, strict=True)):
            row[f"week_{n}"] = active
            row[f"week_{n}_share"] = None if share is None else round(share, 4)
        rows.append(row)
    columns = [Column("cohort", "Sign-up week"), Column("size", "Signed up")]
    for n in range(retention.weeks):
        columns += [
            Column(f"week_{n}", f"Active in week {n}"),
            Column(f"week_{n}_share", f"Share active in week {n}"),
        ]
    return Table(columns, rows)


def _active_contacts_table(workspace: Workspace, period: Period, params: Params) -> Table:
    result = active_contacts(workspace=workspace, period=period)
    rows: list[dict[str, Any]] = [
        {"week": "period", "active": result.total},
        {"week": "period before", "active": result.previous},
    ]
    rows += [{"week": week, "active": n} for week, n in result.weeks]
    return Table(
        [Column("week", "Week (Monday) or period"), Column("active", "Distinct active contacts")],
        rows,
    )


def _segment_sizes_table(workspace: Workspace, period: Period, params: Params) -> Table:
    series = segment_sizes(workspace=workspace, period=period, segment_ids=params.segment_ids)
    columns = [Column("day", "Day")] + [Column(f"segment_{s.id}", s.name) for s in series]
    rows = [
        {"day": day, **{f"segment_{s.id}": s.sizes[i] for s in series}}
        for i, day in enumerate(period.dates)
    ]
    return Table(columns, rows)


def _scores_table(workspace: Workspace, period: Period, params: Params) -> Table:
    distribution = score_distribution(workspace=workspace)
    rows = [
        {"bucket": b.label, "low": b.low, "high": b.high, "contacts": b.contacts}
        for b in distribution.buckets
    ]
    return Table(
        [
            Column("bucket", "Score"),
            Column("low", "From"),
            Column("high", "To"),
            Column("contacts", "Contacts"),
        ],
        rows,
    )


@dataclass(frozen=True)
class Panel:
    name: str
    title: str
    table: Callable[[Workspace, Period, Params], Table]
    description: str


PANELS: dict[str, Panel] = {
    panel.name: panel
    for panel in [
        Panel("kpis", "Key figures", _kpis_table, "The KPIs against the period before."),
        Panel(
            "daily",
            "Per day",
            _daily_table,
            "Page views, emails sent, new contacts, conversions and revenue per day.",
        ),
        Panel(
            "lifecycle",
            "Lifecycle funnel",
            _lifecycle_table,
            "Contacts at each lifecycle stage or further along, today.",
        ),
        Panel(
            "channels",
            "Channels",
            _channels_table,
            "Messages sent in the period per channel and how many were delivered, opened, clicked, bounced.",
        ),
        Panel(
            "workflows",
            "Workflows",
            _workflows_table,
            "Per workflow: enrolments and messages of the period.",
        ),
        Panel(
            "broadcasts",
            "Broadcasts",
            _broadcasts_table,
            "Broadcasts started in the period and their engagement.",
        ),
        Panel(
            "top-events",
            "Top events",
            _top_events_table,
            "The most frequent custom events of the period.",
        ),
        Panel(
            "retention",
            "Cohort retention",
            _retention_table,
            "Per sign-up week (the workspace's calendar, last `weeks`): contacts signed up and how many were active (any event of their own) in each week since.",
        ),
        Panel(
            "active-contacts",
            "Active contacts",
            _active_contacts_table,
            "Distinct contacts with any event of their own in the period, the period before, and per week.",
        ),
        Panel(
            "segment-sizes",
            "Segment sizes",
            _segment_sizes_table,
            "Each segment's size at the end of each day (the six largest, or `segment` ids).",
        ),
        Panel(
            "scores",
            "Lead scores",
            _scores_table,
            "Contacts per lead-score bucket (the primary scoring model).",
        ),
    ]
}


def panel_table(*, workspace: Workspace, name: str, params: Params) -> tuple[Period, Table]:
    """One panel's table for the period ending today; ValidationFailed for an unknown
    segment id (not this workspace's)."""
    panel = PANELS[name]
    segments_check(workspace=workspace, segment_ids=params.segment_ids)
    period = selectors.period_ending_today(workspace=workspace, days=params.days)
    return period, panel.table(workspace, period, params)


class UnknownSegment(LookupError):
    """A segment id that is not one of this workspace's (a 404, like any other object)."""


def segments_check(*, workspace: Workspace, segment_ids: list[int] | None) -> None:
    """UnknownSegment for the first id that is not one of this workspace's segments."""
    if segment_ids:
        known = segment_names(workspace=workspace, ids=segment_ids)
        missing = [pk for pk in segment_ids if pk not in known]
        if missing:
            raise UnknownSegment(missing[0])


# --- the KPIs (page, CSV and API) --------------------------------------------------------------


def kpis(
    *, workspace: Workspace, period: Period, conversions: list[str] | None = None
) -> list[dict[str, Any]]:
    """The dashboard's key figures for the period, each with the period before and the change
    (`conversions`: the conversion event names, when the caller has read them already)."""
    if conversions is None:
        conversions = selectors.conversion_event_names(workspace=workspace)
    previous = period.previous()
    totals = selectors.event_totals(workspace=workspace, period=period, conversions=conversions)
    before = selectors.event_totals(workspace=workspace, period=previous, conversions=conversions)
    contacts, _ = selectors.new_contacts(workspace=workspace, period=period)
    contacts_before, _ = selectors.new_contacts(workspace=workspace, period=previous)
    pairs: list[tuple[str, str, int | Decimal, int | Decimal, bool]] = [
        ("new_contacts", "New contacts", contacts, contacts_before, False),
        ("page_views", "Page views", totals.page_views, before.page_views, False),
        ("emails_sent", "Emails sent", totals.emails_sent, before.emails_sent, False),
        ("conversions", "Conversions", totals.conversions, before.conversions, False),
        ("revenue", "Revenue", totals.revenue, before.revenue, True),
    ]
    return [
        {
            "key": key,
            "label": label,
            "value": value,
            "previous": earlier,
            "money": money,
            "change": (float(value) - float(earlier)) / float(earlier) if earlier else None,
        }
        for key, label, value, earlier, money in pairs
    ]
