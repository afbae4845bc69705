"""The reads behind issue #17's panels: who comes back (cohort retention), how many distinct
contacts were active, and segment sizes over time. Retention and active contacts read
`ContactWeek` (one row per active contact and week, kept by the rollups' recount), never the
events table; segment sizes read segments' daily snapshots (segments.selectors)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, F
from django.db.models.functions import TruncWeek
from django.utils import timezone

from contacts.models import Contact
from segments.selectors import segment_sizes_by_day
from workspaces.models import Workspace

from ..models import ContactWeek
from ..selectors import Period

COHORT_WEEKS = 12  # at most 12 sign-up weeks × 12 weeks after
SEGMENTS_SHOWN = 6  # segment sizes: the largest six unless asked for others (at most 10)
SEGMENTS_MAX = 10
MAX_DAYS = 366


# --- cohort retention -----------------------------------------------------------------------


@dataclass(frozen=True)
class Cohort:
    week: date  # the Monday of the sign-up week
    size: int  # contacts created that week
    active: list[int | None]  # per week since sign-up (0 = that week); None: not come yet

    @property
    def shares(self) -> list[float | None]:
        return [None if n is None else (n / self.size if self.size else 0.0) for n in self.active]


@dataclass(frozen=True)
class Retention:
    weeks: int
    cohorts: list[Cohort]  # oldest sign-up week first


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def cohort_retention(
    *, workspace: Workspace, weeks: int = COHORT_WEEKS, now: datetime | None = None
) -> Retention:
    """For each of the last `weeks` sign-up weeks (the current one included, the workspace's
    calendar): how many contacts signed up, and how many of them were active (any event of
    their own) in the sign-up week and in each week after. Two queries: the cohorts' sizes
    from contacts (workspace, created_at), the active counts from ContactWeek's cohort index."""
    zone = ZoneInfo(workspace.timezone or "UTC")
    today = (now or timezone.now()).astimezone(zone).date()
    this_week = _monday(today)
    first = this_week - timedelta(weeks=weeks - 1)
    sizes = {
        row["week"].date(): row["n"]
        for row in Contact.objects.for_workspace(workspace)
        .filter(created_at__gte=datetime.combine(first, datetime.min.time(), tzinfo=zone))
        .annotate(week=TruncWeek("created_at", tzinfo=zone))
        .values("week")
        .annotate(n=Count("id"))
    }
    active = {
        (row["signup_week"], row["week"]): row["n"]
        for row in ContactWeek.objects.for_workspace(workspace)
        .filter(signup_week__gte=first, week__gte=F("signup_week"))
        .values("signup_week", "week")
        .annotate(n=Count("*"))
    }
    cohorts = []
    for i in range(weeks):
        week = first + timedelta(weeks=i)
        cohorts.append(
            Cohort(
                week=week,
                size=sizes.get(week, 0),
                active=[
                    active.get((week, week + timedelta(weeks=n)), 0)
                    if week + timedelta(weeks=n) <= this_week
                    else None
                    for n in range(weeks)
                ],
            )
        )
    return Retention(weeks=weeks, cohorts=cohorts)


# --- distinct active contacts -----------------------------------------------------------------


@dataclass(frozen=True)
class ActiveContacts:
    total: int  # distinct contacts active on any day of the period
    previous: int  # the same for the period before
    weeks: list[tuple[date, int]] = field(
        default_factory=list
    )  # per week: on its days in the period

    @property
    def change(self) -> float | None:
        return (self.total - self.previous) / self.previous if self.previous else None


_ALL_DAYS = 0b1111111

# The period's first and last weeks count only the days inside it (a bit mask each).
_IN_PERIOD = """
  workspace_id = %(workspace)s AND week >= %(first_week)s AND week <= %(last_week)s
  AND days & (CASE WHEN week = %(first_week)s THEN %(first_mask)s ELSE 127 END)
           & (CASE WHEN week = %(last_week)s THEN %(last_mask)s ELSE 127 END) <> 0
"""
_DISTINCT = f"SELECT count(*) FROM (SELECT contact_id FROM analytics_contactweek WHERE {_IN_PERIOD} GROUP BY contact_id) t"  # noqa: S608
_PER_WEEK = f"SELECT week, count(*) FROM analytics_contactweek WHERE {_IN_PERIOD} GROUP BY week"  # noqa: S608


def _period_params(workspace: Workspace, period: Period) -> dict[str, Any]:
    last = period.first + timedelta(days=period.days - 1)
    return {
        "workspace": workspace.pk,
        "first_week": _monday(period.first),
        "last_week": _monday(last),
        # days from the period's first weekday on / up to its last weekday
        "first_mask": _ALL_DAYS & ~((1 << period.first.weekday()) - 1),
        "last_mask": (1 << (last.weekday() + 1)) - 1,
    }


def _query(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def active_contacts(*, workspace: Workspace, period: Period) -> ActiveContacts:
    """Distinct contacts with any event of their own in the period (and the period before),
    and per week of the period. Three index scans of ContactWeek."""
    params = _period_params(workspace, period)
    total = _query(_DISTINCT, params)[0][0]
    previous = _query(_DISTINCT, _period_params(workspace, period.previous()))[0][0]
    per_week = dict(_query(_PER_WEEK, params))
    weeks = []
    week = params["first_week"]
    while week <= params["last_week"]:
        weeks.append((week, per_week.get(week, 0)))
        week += timedelta(weeks=1)
    return ActiveContacts(total=total, previous=previous, weeks=weeks)


# --- segment sizes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentSeries:
    id: int
    name: str
    sizes: list[int | None]  # per day of the period; None: no size recorded that day


def segment_sizes(
    *, workspace: Workspace, period: Period, segment_ids: list[int] | None = None
) -> list[SegmentSeries]:
    """Each chosen segment's size at the end of each day of the period (its recorded daily
    size; today: its size now). Without ids, the largest SEGMENTS_SHOWN."""
    today = period.dates[-1]
    rows = segment_sizes_by_day(
        workspace=workspace,
        first=period.first,
        last=today,
        segment_ids=segment_ids,
        limit=SEGMENTS_MAX if segment_ids is not None else SEGMENTS_SHOWN,
    )
    return [
        SegmentSeries(
            id=row.id,
            name=row.name,
            sizes=[row.by_day.get(day) for day in period.dates[:-1]] + [row.size_now],
        )
        for row in rows
    ]
