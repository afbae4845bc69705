"""Scenario `analytics`: the dashboard's reads from hourly rollups, against the same figures
computed straight from the events table.

    .venv/bin/python -m bench analytics [--contacts 100000] [--events 2000000] [--days 90]

1. Fresh database `tendril_bench_analytics`, one workspace, contacts and events written by
   bench.generator (COPY) over --days days: page views, sign-ups, orders with revenue.
2. Building the rollups: every hour marked dirty and recounted by `rollups_refresh` (what
   beat does), timed; baseline: ONE GROUP BY over all the workspace's events by hour, type
   and name (the same sums in a single scan, written nowhere).
3. Keeping them current: 5,000 new events in the current hour, marked and recounted — the
   work each 10 s beat pass does for a busy hour; baseline: inserting those events.
4. The dashboard's figures for 30 days (KPIs against the previous 30 days and per-day
   series), median of 5 warm runs: from the rollups (analytics.selectors), and baseline
   the same figures with GROUP BY over the events table. Both must agree.
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta

from bench import harness

DATABASE = "tendril_bench_analytics"
REDIS_DB = 7
SEED = 23

_RAW_BY_HOUR = """
SELECT count(*) FROM (
  SELECT date_trunc('hour', timestamp), type, name, count(*), count(DISTINCT contact_id),
         sum((properties ->> 'revenue')::numeric)
  FROM contacts_event WHERE workspace_id = %s GROUP BY 1, 2, 3) t
"""

_RAW_DAILY = """
SELECT (timestamp AT TIME ZONE %(zone)s)::date,
       count(*) FILTER (WHERE type = 'page'),
       count(*) FILTER (WHERE type = 'track' AND name = 'email.sent'),
       count(*) FILTER (WHERE type = 'track' AND name = ANY(%(conversions)s)),
       sum((properties ->> 'revenue')::numeric) FILTER (WHERE name = ANY(%(conversions)s))
FROM contacts_event
WHERE workspace_id = %(ws)s AND timestamp >= %(start)s AND timestamp < %(end)s
GROUP BY 1
"""


def build_figures(workspace_id: int, days: int) -> list[tuple[str, str]]:
    from django.db import connection
    from django.utils import timezone

    from analytics.models import HourlyEventCount
    from analytics.rollups import dirty_hours_mark, rollups_refresh
    from workspaces.models import Workspace

    workspace = Workspace.objects.get(pk=workspace_id)
    now = timezone.now()
    hours = [now - timedelta(hours=h) for h in range(days * 24 + 1)]

    def raw() -> int:
        with connection.cursor() as cursor:
            cursor.execute(_RAW_BY_HOUR, [workspace_id])
            return int(cursor.fetchone()[0])

    raw_s, groups = harness.timed(raw, runs=1)
    dirty_hours_mark(workspace=workspace, timestamps=hours)

    def build() -> int:
        total = 0
        while (result := rollups_refresh(limit=500)).remaining or result.hours:
            total += result.hours
            if not result.remaining:
                break
        return total

    build_s, recounted = harness.timed(build, runs=1)
    rows = HourlyEventCount.objects.filter(workspace=workspace).count()
    if rows != groups:
        raise SystemExit(f"rollups have {rows} rows, the single GROUP BY {groups}")
    return [
        ("baseline: one GROUP BY over all events", f"{raw_s:.2f} s ({groups:,} hour×name groups)"),
        (
            "rollups built hour by hour",
            f"{build_s:.2f} s  ratio {build_s / raw_s:.2f}x  ({recounted:,} hours, "
            f"{recounted / build_s:,.0f} hours/s)",
        ),
    ]


def steady_figures(workspace_id: int, contact_ids: list[int]) -> list[tuple[str, str]]:
    from django.utils import timezone

    from analytics.rollups import dirty_hours_mark, rollups_refresh
    from contacts.models import Event
    from workspaces.models import Workspace

    workspace = Workspace.objects.get(pk=workspace_id)
    now = timezone.now()
    new = [
        Event(
            workspace=workspace,
            contact_id=contact_ids[i % len(contact_ids)],
            type="page",
            name="Pricing",
            timestamp=now - timedelta(seconds=i % 60),
            message_id=f"steady-{time.time_ns()}-{i}",
        )
        for i in range(5000)
    ]
    insert_s, _ = harness.timed(lambda: Event.objects.bulk_create(new, batch_size=1000), runs=1)
    dirty_hours_mark(workspace=workspace, timestamps=[e.timestamp for e in new])
    recount_s, result = harness.timed(rollups_refresh, runs=1)
    return [
        ("baseline: inserting 5,000 events of this hour", f"{insert_s * 1000:.0f} ms"),
        (
            "recounting that hour (one beat pass)",
            f"{recount_s * 1000:.0f} ms  ratio {recount_s / insert_s:.2f}x  "
            f"({result.hours} hour(s))",
        ),
    ]


def dashboard_figures(workspace_id: int) -> list[tuple[str, str]]:
    from django.db import connection

    from analytics import selectors
    from workspaces.models import Workspace

    workspace = Workspace.objects.get(pk=workspace_id)
    period = selectors.period_ending_today(workspace=workspace, days=30)
    conversions = selectors.conversion_event_names(workspace=workspace)

    def rollups() -> tuple[int, float]:
        totals = selectors.event_totals(workspace=workspace, period=period, conversions=conversions)
        selectors.event_totals(
            workspace=workspace, period=period.previous(), conversions=conversions
        )
        series = selectors.daily_series(workspace=workspace, period=period, conversions=conversions)
        selectors.top_events(workspace=workspace, period=period)
        return totals.page_views, round(sum(series["revenue"]), 2)

    def raw() -> tuple[int, float]:
        figures = []
        for window in (period, period.previous()):
            with connection.cursor() as cursor:
                cursor.execute(
                    _RAW_DAILY,
                    {
                        "zone": str(window.zone),
                        "conversions": conversions,
                        "ws": workspace_id,
                        "start": window.start,
                        "end": window.end,
                    },
                )
                figures.append(cursor.fetchall())
        rows = figures[0]
        return sum(r[1] for r in rows), round(float(sum(r[4] or 0 for r in rows)), 2)

    raw_s, expected = harness.timed(raw, runs=5)
    rollup_s, got = harness.timed(rollups, runs=5)
    if got != expected:
        raise SystemExit(f"rollups say {got}, the events table {expected}")
    return [
        ("figures (page views, revenue)", f"{got[0]:,} page views, {got[1]:,.2f} revenue"),
        ("baseline: GROUP BY over the events", f"{raw_s * 1000:.0f} ms"),
        ("from the rollups", f"{rollup_s * 1000:.1f} ms  ratio {rollup_s / raw_s:.3f}x"),
    ]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench analytics")
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args(argv)
    harness.setup_django(database=DATABASE, redis_db=REDIS_DB)
    print(harness.machine_note())
    workspace_id, _ = harness.workspace("Bench analytics")
    from bench.generator import generate

    print(f"generating {args.contacts:,} contacts and {args.events:,} events (COPY) …", flush=True)
    generated = generate(
        workspace_id, contacts=args.contacts, events=args.events, days=args.days, seed=SEED
    )
    harness.analyze("contacts_contact", "contacts_event", vacuum=True)
    harness.report("building the rollups", build_figures(workspace_id, args.days))
    harness.analyze("analytics_hourlyeventcount")
    harness.report("keeping them current", steady_figures(workspace_id, generated.contact_ids))
    harness.report("the dashboard's figures, 30 days", dashboard_figures(workspace_id))
