"""Reads behind the analytics dashboard.

Event counts and revenue come from the hourly rollups (analytics/rollups.py), never from a
scan of the events table. Message rates, workflow and broadcast results are read from
messaging's and workflows' rows, grouped in the database: one query per section, whatever
the number of workflows or broadcasts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from contacts.models import Contact, Event, LifecycleStage
from workspaces.experiments import Arm, Lift, mean_lift, proportion_lift
from workspaces.models import Workspace

from .models import HourlyEventCount, MessageCount

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30


def period_days(raw: str | None) -> int:
    """The period a page was asked for (?days=…): one of PERIODS, else the default."""
    return int(raw) if raw in {str(days) for days in PERIODS} else DEFAULT_PERIOD


@dataclass(frozen=True)
class Period:
    """Whole days of the workspace's calendar, today included: [start, end) in UTC."""

    first: date
    days: int
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min, tzinfo=self.zone)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.first + timedelta(days=self.days), time.min, tzinfo=self.zone)

    @property
    def dates(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.days)]

    def previous(self) -> Period:
        return Period(first=self.first - timedelta(days=self.days), days=self.days, zone=self.zone)


def period_ending_today(*, workspace: Workspace, days: int, now: datetime | None = None) -> Period:
    zone = ZoneInfo(workspace.timezone or "UTC")
    today = (now or timezone.now()).astimezone(zone).date()
    return Period(first=today - timedelta(days=days - 1), days=days, zone=zone)


def conversion_event_names(*, workspace: Workspace) -> list[str]:
    from .attribution.config import attribution_settings

    return list(attribution_settings(workspace=workspace).conversion_events)


# --- event rollups --------------------------------------------------------------------------

# The platform's own events the dashboard counts (messaging records them as `track`).
EMAIL_SENT = "email.sent"
SMS_SENT = "sms.sent"


@dataclass
class EventTotals:
    page_views: int = 0
    all_events: int = 0
    emails_sent: int = 0
    sms_sent: int = 0
    conversions: int = 0
    revenue: Decimal = Decimal(0)


def event_totals(*, workspace: Workspace, period: Period, conversions: list[str]) -> EventTotals:
    """Totals of the period; `conversions` are the conversion event names
    (`conversion_event_names`, read once by the caller for all its figures)."""
    row = (
        HourlyEventCount.objects.for_workspace(workspace)
        .filter(hour__gte=period.start, hour__lt=period.end)
        .aggregate(
            all_events=Sum("events"),
            page_views=Sum("events", filter=Q(type="page")),
            emails_sent=Sum("events", filter=Q(type="track", name=EMAIL_SENT)),
            sms_sent=Sum("events", filter=Q(type="track", name=SMS_SENT)),
            conversions=Sum("events", filter=Q(type="track", name__in=conversions)),
            conversion_revenue=Sum("revenue", filter=Q(type="track", name__in=conversions)),
        )
    )
    # (An alias may not repeat a field's name: "revenue" is renamed on the way out.)
    revenue = row.pop("conversion_revenue") or Decimal(0)
    return EventTotals(revenue=revenue, **{key: value or 0 for key, value in row.items()})


_DAILY = """
SELECT (h.hour AT TIME ZONE %(zone)s)::date AS day,
       sum(h.events) FILTER (WHERE h.type = 'page') AS page_views,
       sum(h.events) FILTER (WHERE h.type = 'track' AND h.name = %(email_sent)s) AS emails_sent,
       sum(h.events) FILTER (WHERE h.type = 'track' AND h.name = ANY(%(conversions)s))
         AS conversions,
       sum(h.revenue) FILTER (WHERE h.type = 'track' AND h.name = ANY(%(conversions)s))
         AS revenue
FROM analytics_hourlyeventcount h
WHERE h.workspace_id = %(workspace)s AND h.hour >= %(start)s AND h.hour < %(end)s
GROUP BY 1
"""


def daily_series(
    *, workspace: Workspace, period: Period, conversions: list[str]
) -> dict[str, list[float]]:
    """Per day of the period: page views, emails sent, conversions and revenue."""
    with connection.cursor() as cursor:
        cursor.execute(
            _DAILY,
            {
                "zone": str(period.zone),
                "conversions": conversions,
                "email_sent": EMAIL_SENT,
                "workspace": workspace.pk,
                "start": period.start,
                "end": period.end,
            },
        )
        by_day = {row[0]: row[1:] for row in cursor.fetchall()}
    names = ("page_views", "emails_sent", "conversions", "revenue")
    series: dict[str, list[float]] = {name: [] for name in names}
    for day in period.dates:
        values = by_day.get(day, (None,) * len(names))
        for name, value in zip(names, values, strict=True):
            series[name].append(float(value or 0))
    return series


def top_events(*, workspace: Workspace, period: Period, limit: int = 10) -> list[dict[str, Any]]:
    """The most frequent custom events of the period (the platform's own email.*, sms.* …
    signals are left out: the channel section shows them)."""
    return list(
        HourlyEventCount.objects.for_workspace(workspace)
        .filter(hour__gte=period.start, hour__lt=period.end, type="track")
        .exclude(name__regex=r"^(email|sms|segment|score|lifecycle|workflow|form)\.")
        .values("name")
        .annotate(count=Sum("events"), amount=Sum("revenue"))
        .order_by("-count", "name")[:limit]
    )


# --- contacts -------------------------------------------------------------------------------


def new_contacts(*, workspace: Workspace, period: Period) -> tuple[int, list[int]]:
    """Contacts created in the period: the total and the count per day."""
    rows = dict(
        Contact.objects.for_workspace(workspace)
        .filter(created_at__gte=period.start, created_at__lt=period.end)
        .annotate(day=TruncDate("created_at", tzinfo=period.zone))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    per_day = [rows.get(day, 0) for day in period.dates]
    return sum(per_day), per_day


STAGE_ORDER = ["subscriber", "lead", "mql", "sql", "customer"]


def lifecycle_funnel(*, workspace: Workspace) -> list[dict[str, Any]]:
    """How many contacts are at each stage or further along (the lifecycle funnel today),
    with the conversion from the stage before."""
    counts = dict(
        Contact.objects.for_workspace(workspace)
        .filter(lifecycle_stage__in=STAGE_ORDER)
        .values("lifecycle_stage")
        .annotate(n=Count("id"))
        .values_list("lifecycle_stage", "n")
    )
    labels = dict(LifecycleStage.choices)
    rows: list[dict[str, Any]] = []
    reached = 0
    for stage in reversed(STAGE_ORDER):
        reached += counts.get(stage, 0)
        rows.append({"stage": stage, "label": labels.get(stage, stage), "reached": reached})
    rows.reverse()
    for before, row in zip([None, *rows], rows, strict=False):
        row["from_previous"] = (
            row["reached"] / before["reached"] if before and before["reached"] else None
        )
    return rows


# --- messages, workflows, broadcasts -----------------------------------------------------


def message_rates(*, workspace: Workspace, period: Period) -> dict[str, dict[str, Any]]:
    """Per channel, messages sent in the period and how many were delivered, opened,
    clicked, bounced — one row per message, so a rate is people, not pixel loads."""
    from messaging.models import Message

    rows = (
        Message.objects.for_workspace(workspace)
        .filter(sent_at__gte=period.start, sent_at__lt=period.end)
        .exclude(source_type="test")
        .values("channel")
        .annotate(**_engagement())
    )
    return {row.pop("channel"): _with_rates(row) for row in rows}


# opened: a person's first open; machine_opened: Apple's prefetch or a scanner (never a rate
# of people — shown apart).
_MILESTONES = ("delivered", "opened", "machine_opened", "clicked", "bounced")


def _engagement() -> dict[str, Count]:
    """Messages, and how many of them reached each milestone (its timestamp is set)."""
    return {
        "sent": Count("id"),
        **{key: Count("id", filter=Q(**{f"{key}_at__isnull": False})) for key in _MILESTONES},
    }


def _with_rates(row: dict[str, Any]) -> dict[str, Any]:
    sent = row.get("sent") or 0
    for key in _MILESTONES:
        row[f"{key}_rate"] = (row.get(key) or 0) / sent if sent else None
    return row


_WORKFLOW_RESULTS = """
WITH runs AS (
  SELECT r.workflow_id, count(*) AS enrolled,
         count(*) FILTER (WHERE r.status = 'converted') AS converted,
         count(*) FILTER (WHERE r.status IN ('active', 'waiting')) AS live
  FROM workflows_workflowrun r
  WHERE r.workspace_id = %(workspace)s AND r.created_at >= %(start)s AND r.created_at < %(end)s
    AND r.context->>'exit_reason' IS DISTINCT FROM 'holdout'  -- held out: not enrolled
  GROUP BY r.workflow_id
), sent AS (
  SELECT r.workflow_id, count(*) AS sent, count(m.opened_at) AS opened,
         count(m.clicked_at) AS clicked
  FROM messaging_message m
  JOIN workflows_workflowrun r
    ON r.workspace_id = m.workspace_id AND r.id = split_part(m.source_id, ':', 1)::bigint
  WHERE m.workspace_id = %(workspace)s AND m.source_type = 'workflow'
    AND m.sent_at >= %(start)s AND m.sent_at < %(end)s
  GROUP BY r.workflow_id
)
SELECT w.id, w.name, w.status, coalesce(runs.enrolled, 0), coalesce(runs.converted, 0),
       coalesce(runs.live, 0), coalesce(sent.sent, 0), coalesce(sent.opened, 0),
       coalesce(sent.clicked, 0)
FROM workflows_workflow w
LEFT JOIN runs ON runs.workflow_id = w.id
LEFT JOIN sent ON sent.workflow_id = w.id
WHERE w.workspace_id = %(workspace)s AND (runs.enrolled > 0 OR sent.sent > 0 OR w.status = 'active')
ORDER BY coalesce(runs.enrolled, 0) DESC, w.name
LIMIT %(limit)s
"""


def workflow_results(
    *, workspace: Workspace, period: Period, limit: int = 20
) -> list[dict[str, Any]]:
    """Per workflow: contacts enrolled in the period, converted (reached the goal), still in
    it, and its messages sent in the period with their opens and clicks."""
    keys = ("id", "name", "status", "enrolled", "converted", "live", "sent", "opened", "clicked")
    params: dict[str, Any] = {
        "workspace": workspace.pk,
        "start": period.start,
        "end": period.end,
        "limit": limit,
    }
    with connection.cursor() as cursor:
        cursor.execute(_WORKFLOW_RESULTS, params)
        rows = [dict(zip(keys, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        _with_rates(row)
        row["conversion_rate"] = row["converted"] / row["enrolled"] if row["enrolled"] else None
    return rows


def broadcast_results(
    *, workspace: Workspace, period: Period, limit: int = 20
) -> list[dict[str, Any]]:
    """Broadcasts started in the period with their reach and engagement, and the A/B test's
    winning variant where there was one."""
    from messaging.models import Broadcast, Message

    broadcasts = list(
        Broadcast.objects.for_workspace(workspace)
        .filter(started_at__gte=period.start, started_at__lt=period.end)
        .select_related("ab_winner")
        .order_by("-started_at")[:limit]
    )
    engagement: dict[int, dict[str, Any]] = defaultdict(dict)
    for row in (
        Message.objects.for_workspace(workspace)
        .filter(broadcast__in=broadcasts, sent_at__isnull=False)
        .values("broadcast_id")
        .annotate(**_engagement())
    ):
        engagement[row.pop("broadcast_id")] = row
    return [
        {
            "broadcast": broadcast,
            **_with_rates({"sent": 0, **dict.fromkeys(_MILESTONES, 0), **engagement[broadcast.pk]}),
        }
        for broadcast in broadcasts
    ]


def event_counts_since(
    *, workspace: Workspace, names: list[str], since: datetime
) -> dict[str, int]:
    """Events per name since `since`, from the hourly rollups (no scan of events): the
    workflow builder's event picker (registered on workflows.hooks.on_event_counts)."""
    if not names:
        return {}
    rows = (
        HourlyEventCount.objects.for_workspace(workspace)
        .filter(name__in=names, hour__gte=since)
        .values("name")
        .annotate(n=Sum("events"))
    )
    return {row["name"]: int(row["n"] or 0) for row in rows}


# --- A workflow's holdout: conversion and revenue of those treated vs those held out ---------

HOLDOUT_WINDOW_DAYS = 7


@dataclass(frozen=True)
class HoldoutReport:
    workflow_id: int
    workflow_name: str
    holdout_percent: int
    window_days: int
    conversions: list[str]
    treated: int
    held_out: int
    treated_converted: int
    held_out_converted: int
    conversion: Lift
    revenue: Lift

    @property
    def enough(self) -> bool:
        return bool(self.treated and self.held_out)


def workflow_holdout(
    *,
    workspace: Workspace,
    workflow_id: int,
    period: Period,
    window_days: int = HOLDOUT_WINDOW_DAYS,
) -> HoldoutReport | None:
    """Entries in the period, split into treated and held out; for each, whether the contact
    did one of the workspace's conversion events within `window_days` of entering and the
    revenue of those conversions. The lift is treated minus held out, with its interval."""
    from workflows.selectors import workflow_entries, workflow_list

    workflow = workflow_list(workspace=workspace).filter(pk=workflow_id).first()
    if workflow is None:
        return None
    conversions = conversion_event_names(workspace=workspace)
    entries = list(
        workflow_entries(
            workspace=workspace, workflow_id=workflow_id, start=period.start, end=period.end
        ).values_list("contact_id", "created_at", "held_out")
    )
    outcome = treated_vs_control(
        workspace=workspace, entries=entries, conversions=conversions, window_days=window_days
    )
    return HoldoutReport(
        workflow_id=workflow.pk,
        workflow_name=workflow.name,
        holdout_percent=workflow.holdout_percent,
        window_days=window_days,
        conversions=conversions,
        treated=outcome.treated,
        held_out=outcome.control,
        treated_converted=outcome.treated_converted,
        held_out_converted=outcome.control_converted,
        conversion=outcome.conversion,
        revenue=outcome.revenue,
    )


@dataclass(frozen=True)
class TreatedVsControl:
    treated: int
    control: int
    treated_converted: int
    control_converted: int
    conversion: Lift
    revenue: Lift


def treated_vs_control(
    *,
    workspace: Workspace,
    entries: list[tuple[int, datetime, bool]],
    conversions: list[str],
    window_days: int,
) -> TreatedVsControl:
    """(contact, since when, in the control?) each → whether the contact did one of the
    `conversions` events within `window_days` of that moment and the revenue of those events;
    the lift of treated over control, for conversion (a rate) and revenue per contact (a mean),
    with 95 % intervals (workspaces.experiments). One query for the events."""
    from .attribution.processing import revenue_of

    window = timedelta(days=window_days)
    by_contact: dict[int, list[tuple[datetime, Any]]] = defaultdict(list)
    if entries and conversions:
        events = Event.objects.filter(
            workspace=workspace,
            name__in=conversions,
            contact_id__in={contact for contact, _, _ in entries},
            timestamp__gte=min(at for _, at, _ in entries),
            timestamp__lt=max(at for _, at, _ in entries) + window,
        ).values_list("contact_id", "timestamp", "properties")
        for contact_id, at, properties in events.iterator(chunk_size=2000):
            by_contact[contact_id].append((at, properties))
    revenue: dict[bool, list[float]] = {True: [], False: []}
    converted = {True: 0, False: 0}
    for contact_id, since, control in entries:
        after = [p for at, p in by_contact.get(contact_id, ()) if since <= at < since + window]
        converted[control] += bool(after)
        revenue[control].append(
            float(sum((revenue_of(p if isinstance(p, dict) else {}) for p in after), Decimal(0)))
        )
    treated, control = len(revenue[False]), len(revenue[True])
    return TreatedVsControl(
        treated=treated,
        control=control,
        treated_converted=converted[False],
        control_converted=converted[True],
        conversion=proportion_lift(
            Arm("treated", treated, converted[False]), Arm("control", control, converted[True])
        ),
        revenue=mean_lift(revenue[False], revenue[True]),
    )


# --- messaging over time (analytics.models.MessageCount) -------------------------------------

MESSAGE_STATS = (
    ("sent", "Sent"),
    ("delivered", "Delivered"),
    ("hard_bounced", "Hard bounces"),
    ("soft_bounced", "Soft bounces"),
    ("opened", "Unique opens (people)"),
    ("machine_opened", "Machine opens"),
    ("clicked", "Unique clicks"),
    ("unsubscribed", "Unsubscribes"),
    ("complained", "Complaints"),
)
MESSAGE_STAT_KEYS = tuple(key for key, _ in MESSAGE_STATS)


@dataclass(frozen=True)
class MessageSource:
    """Whose messages: a broadcast (optionally one A/B variant), a template (every send of
    it), or a workflow (optionally one node)."""

    kind: str  # broadcast | template | workflow
    id: int
    node: str = ""
    variant_id: int | None = None


def _message_counts(workspace: Workspace, period: Period, source: MessageSource) -> Any:
    rows = MessageCount.objects.filter(
        workspace=workspace, bucket__gte=period.start, bucket__lt=period.end
    )
    if source.kind == "template":
        rows = rows.filter(template_id=source.id)
    else:
        rows = rows.filter(source_type=source.kind, owner=str(source.id))
    if source.node:
        rows = rows.filter(node=source.node)
    if source.variant_id is not None:
        rows = rows.filter(variant_id=source.variant_id)
    return rows


def message_counts_daily(
    *, workspace: Workspace, period: Period, source: MessageSource
) -> list[dict[str, Any]]:
    """Per day of the period in the workspace's time zone (every day, zeros included): sent,
    delivered, hard and soft bounces, unique human opens, machine opens, unique clicks,
    unsubscribes, complaints — summed from quarter-hour rollups, so a local day is exact in
    any zone (India's +5:30 too)."""
    rows = (
        _message_counts(workspace, period, source)
        .annotate(day=TruncDate("bucket", tzinfo=period.zone))
        .values("day")
        .annotate(**{key: Sum(key) for key in MESSAGE_STAT_KEYS})
    )
    found = {row["day"]: row for row in rows}
    return [
        {"day": day, **{key: found.get(day, {}).get(key) or 0 for key in MESSAGE_STAT_KEYS}}
        for day in period.dates
    ]


def message_counts_by(
    *, workspace: Workspace, period: Period, source: MessageSource, by: str
) -> list[dict[str, Any]]:
    """The period's totals per workflow node (`by="node"`) or broadcast variant
    (`by="variant_id"`), with rates."""
    rows = (
        _message_counts(workspace, period, source)
        .values(by)
        .annotate(**{key: Sum(key) for key in MESSAGE_STAT_KEYS})
        .order_by(by)
    )
    return [message_rates_of({"key": row.pop(by), **row}) for row in rows]


def message_rates_of(row: dict[str, Any]) -> dict[str, Any]:
    """Rates of a row of counts, each over the messages sent (None when none was)."""
    sent = row.get("sent") or 0
    for key in MESSAGE_STAT_KEYS[1:]:
        row[f"{key}_rate"] = (row.get(key) or 0) / sent if sent else None
    return row


def message_counts_total(days: list[dict[str, Any]]) -> dict[str, Any]:
    return message_rates_of({key: sum(day[key] for day in days) for key in MESSAGE_STAT_KEYS})


def message_nodes(*, workspace: Workspace, workflow_id: int) -> list[str]:
    """The nodes of a workflow that have messages in the rollups (any time), in id order."""
    return list(
        MessageCount.objects.filter(
            workspace=workspace, source_type="workflow", owner=str(workflow_id)
        )
        .exclude(node="")
        .values_list("node", flat=True)
        .distinct()
        .order_by("node")
    )


# --- The workspace's global control group: no marketing at all, against everyone else ------


@dataclass(frozen=True)
class ControlGroupReport:
    percent: int
    window_days: int
    conversions: list[str]
    mixed: int  # contacts both sent to and held back in the period (the share was changed)
    outcome: TreatedVsControl

    @property
    def enough(self) -> bool:
        return bool(self.outcome.treated and self.outcome.control)


def control_group_report(
    *, workspace: Workspace, period: Period, window_days: int = HOLDOUT_WINDOW_DAYS
) -> ControlGroupReport:
    """Contacts marketing reached in the period (a broadcast or workflow message sent) against
    contacts it would have reached but the global control group held back (the message was
    withheld at send time, reason "control_group"). Each from their first such message: did
    they convert within `window_days`, and for how much."""
    from messaging.selectors import marketing_exposures

    conversions = conversion_event_names(workspace=workspace)
    entries: list[tuple[int, datetime, bool]] = []
    mixed = 0
    for contact_id, first_sent, first_withheld in marketing_exposures(
        workspace=workspace, start=period.start, end=period.end
    ):
        if first_sent is not None and first_withheld is not None:
            mixed += 1
        elif first_sent is not None:
            entries.append((contact_id, first_sent, False))
        elif first_withheld is not None:
            entries.append((contact_id, first_withheld, True))
    return ControlGroupReport(
        percent=workspace.control_group_percent,
        window_days=window_days,
        conversions=conversions,
        mixed=mixed,
        outcome=treated_vs_control(
            workspace=workspace, entries=entries, conversions=conversions, window_days=window_days
        ),
    )
