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
5. Each panel of issue #17 (analytics.panels: cohort retention 12 × 12 weeks, distinct active
   contacts over 30 and 90 days with the period before and per week, segment sizes over 90
   days, the lead-score distribution), median and p95 of --runs warm runs, each against the
   same question as hand-written SQL over the events / contacts tables in the same run. The
   answers must agree. (Segment snapshots and lead scores are written for the scenario:
   six segments × 90 days of sizes, a score per contact.)

The issue's figure is the 10M-event dataset (~5 min to generate with COPY):

    BENCH_NAMESPACE=panels .venv/bin/python -m bench analytics --contacts 1000000 --events 10000000
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

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


_ACTIVITY = "(e.source <> 'platform' OR e.name = ANY(%(actions)s))"

# Cohort retention straight from the events: each cohort contact's active weeks.
_RAW_RETENTION = f"""
WITH cohort AS (
  SELECT c.id, date_trunc('week', c.created_at AT TIME ZONE %(zone)s)::date AS week
  FROM contacts_contact c
  WHERE c.workspace_id = %(ws)s AND c.created_at >= %(start)s
), active AS (
  SELECT DISTINCT e.contact_id, date_trunc('week', e.timestamp AT TIME ZONE %(zone)s)::date AS week
  FROM contacts_event e
  WHERE e.workspace_id = %(ws)s AND e.timestamp >= %(start)s AND {_ACTIVITY}
)
SELECT c.week, a.week, count(*) FROM active a JOIN cohort c ON c.id = a.contact_id
WHERE a.week >= c.week GROUP BY 1, 2
"""

_RAW_DISTINCT = f"""
SELECT count(DISTINCT e.contact_id) FROM contacts_event e
WHERE e.workspace_id = %(ws)s AND e.timestamp >= %(start)s AND e.timestamp < %(end)s AND {_ACTIVITY}
"""

_RAW_SCORES = """
SELECT CASE WHEN score < 0 THEN -1 WHEN score = 0 THEN 0 WHEN score < 10 THEN 1
            WHEN score >= 100 THEN 100 ELSE (score / 10) * 10 END, count(*)
FROM contacts_contact WHERE workspace_id = %(ws)s GROUP BY 1
"""

_RAW_SEGMENT_SIZES = """
SELECT s.segment_id, s.day, s.size FROM segments_segmentsizesnapshot s
JOIN segments_segment g ON g.id = s.segment_id
WHERE s.workspace_id = %(ws)s AND s.day >= %(first)s AND s.day <= %(last)s
  AND g.id IN (SELECT id FROM segments_segment WHERE workspace_id = %(ws)s
               ORDER BY member_count DESC, name LIMIT 6)
"""


def _p95(func: Any, runs: int) -> tuple[float, float, Any]:
    """Median and p95 (nearest rank) seconds of `runs` calls after one to warm up, and the
    last result (with 3 runs the p95 is the slowest)."""
    func()  # warm
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - started)
    times.sort()
    rank = max(0, math.ceil(0.95 * len(times)) - 1)
    return statistics.median(times), times[rank], result


def _panel_data(workspace_id: int, days: int) -> None:
    """Six segments with a size recorded for each of `days` days, and a lead score per
    contact (the generator writes 0): what the segment-size and score panels read."""
    from django.db import connection
    from django.utils import timezone

    from segments.models import Segment, SegmentSizeSnapshot

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE contacts_contact SET score = (abs(hashtext(id::text)) %% 130) - 10 "
            "WHERE workspace_id = %s",
            [workspace_id],
        )
    today = timezone.now().date()
    for i in range(6):
        size = 10_000 * (i + 1)
        segment = Segment.objects.create(
            workspace_id=workspace_id, name=f"Bench segment {i}", kind="static", member_count=size
        )
        SegmentSizeSnapshot.objects.bulk_create(
            SegmentSizeSnapshot(
                workspace_id=workspace_id,
                segment=segment,
                day=today - timedelta(days=d),
                size=size - 50 * d,
            )
            for d in range(days + 1)
        )


def panel_figures(workspace_id: int, runs: int, baseline_runs: int) -> list[tuple[str, str]]:
    from django.db import connection

    from analytics import panels, selectors
    from analytics.rollups import CONTACT_ACTIONS
    from workspaces.models import Workspace

    workspace = Workspace.objects.get(pk=workspace_id)
    zone = str(ZoneInfo(workspace.timezone or "UTC"))
    actions = sorted(CONTACT_ACTIONS)

    def sql(query: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(query, {"ws": workspace_id, "zone": zone, "actions": actions, **params})
            return cursor.fetchall()

    rows: list[tuple[str, str]] = []

    def line(label: str, ours: tuple[float, float, Any], raw: tuple[float, float, Any]) -> None:
        target = "ok" if ours[1] <= 2.0 else "OVER the 2 s target"
        rows.append(
            (
                label,
                f"panel {ours[0] * 1000:.0f} ms median, {ours[1] * 1000:.0f} ms p95 ({target}) | "
                f"hand-written SQL {raw[0] * 1000:.0f} ms median, {raw[1] * 1000:.0f} ms p95 | "
                f"ratio {ours[0] / raw[0]:.3f}x",
            )
        )

    # Cohort retention, 12 × 12 weeks.
    retention = _p95(lambda: panels.cohort_retention(workspace=workspace), runs)
    first = retention[2].cohorts[0].week
    start = datetime.combine(first, datetime.min.time(), tzinfo=ZoneInfo(zone))
    raw_retention = _p95(lambda: sql(_RAW_RETENTION, {"start": start}), baseline_runs)
    expected = {(c, w): n for c, w, n in raw_retention[2]}
    got = {
        (c.week, c.week + timedelta(weeks=k)): n
        for c in retention[2].cohorts
        for k, n in enumerate(c.active)
        if n
    }
    if got != expected:
        raise SystemExit(f"retention differs: {len(got)} cells vs {len(expected)} from the events")
    line("cohort retention 12×12 weeks", retention, raw_retention)

    # Distinct active contacts over the period (and the period before, and per week).
    for days in (30, 90):
        period = selectors.period_ending_today(workspace=workspace, days=days)
        ours = _p95(lambda p=period: panels.active_contacts(workspace=workspace, period=p), runs)

        def raw(p: Any = period) -> tuple[int, int]:
            now = sql(_RAW_DISTINCT, {"start": p.start, "end": p.end})[0][0]
            before = sql(_RAW_DISTINCT, {"start": p.previous().start, "end": p.previous().end})
            return now, before[0][0]

        raw_active = _p95(raw, baseline_runs)
        if (ours[2].total, ours[2].previous) != raw_active[2]:
            raise SystemExit(f"active contacts differ: {ours[2]} vs {raw_active[2]}")
        line(f"distinct active contacts, {days} days (+ before, per week)", ours, raw_active)
        rows.append((f"  ({days} days)", f"{ours[2].total:,} active, {ours[2].previous:,} before"))

    # Segment sizes over 90 days (the six largest).
    period = selectors.period_ending_today(workspace=workspace, days=90)
    sizes = _p95(lambda: panels.segment_sizes(workspace=workspace, period=period), runs)
    raw_sizes = _p95(
        lambda: sql(_RAW_SEGMENT_SIZES, {"first": period.first, "last": period.dates[-1]}), runs
    )
    recorded = sum(1 for s in sizes[2] for v in s.sizes[:-1] if v is not None) + len(sizes[2])
    if recorded != len(raw_sizes[2]):
        raise SystemExit(f"segment sizes differ: {recorded} vs {len(raw_sizes[2])}")
    line("segment sizes, 6 segments × 90 days", sizes, raw_sizes)

    # Lead-score distribution.
    scores = _p95(lambda: panels.score_distribution(workspace=workspace), runs)
    raw_scores = _p95(lambda: sql(_RAW_SCORES, {}), baseline_runs)
    by_low = {b.low if b.low is not None else -1: b.contacts for b in scores[2].buckets}
    if {k: v for k, v in by_low.items() if v} != dict(raw_scores[2]):
        raise SystemExit(f"score buckets differ: {by_low} vs {dict(raw_scores[2])}")
    line("lead-score distribution", scores, raw_scores)
    return rows


# --- funnels: exclusions and breakdowns (issue #17) --------------------------------------------

FUNNEL_STEPS = [
    {"event": "Product Viewed"},
    {"event": "Added to Cart"},
    {"event": "Order Completed"},
]
FUNNEL_VARIANTS: list[tuple[str, dict[str, object]]] = [
    ("+ exclusion (Trial Started, steps 1-3)", {"exclusions": [{"event": "Trial Started"}]}),
    (
        "+ breakdown by event property (product, top 20)",
        {"breakdown": {"property": "product", "top": 20}},
    ),
    (
        "+ breakdown by contact field (country, top 20)",
        {"breakdown": {"field": "country", "top": 20}},
    ),
    (
        "+ exclusion + property breakdown",
        {
            "exclusions": [{"event": "Trial Started"}],
            "breakdown": {"property": "product", "top": 20},
        },
    ),
]


def funnel_figures(workspace_id: int, runs: int, days: int = 30) -> list[tuple[str, str]]:
    """A 3-step funnel over `days` (median and p95 of `runs` warm runs): the plain funnel
    (UTM-source breakdown, no exclusion) is the baseline; each variant adds an exclusion or a
    breakdown. A breakdown must change no total, or the scenario fails."""
    from analytics.funnels import funnel_compute
    from analytics.selectors import period_ending_today
    from workspaces.models import Workspace

    workspace = Workspace.objects.get(pk=workspace_id)
    period = period_ending_today(workspace=workspace, days=days)

    def counted(**extra: Any) -> tuple[float, float, list[int]]:
        def run() -> list[int]:
            result = funnel_compute(
                workspace=workspace,
                steps=FUNNEL_STEPS,
                window_days=30,
                start=period.start,
                end=period.end,
                **extra,
            )
            return [row.contacts for row in result.steps]

        return _p95(run, runs)

    base = counted()
    rows = [
        (
            f"baseline: plain funnel, {days} days",
            f"{base[0] * 1000:.0f} ms median, {base[1] * 1000:.0f} ms p95  {base[2]}",
        ),
    ]
    for label, extra in FUNNEL_VARIANTS:
        ours = counted(**extra)
        if "exclusions" not in extra and ours[2] != base[2]:
            raise SystemExit(f"{label}: {ours[2]}, the plain funnel {base[2]}")
        target = "ok" if ours[1] <= 2.0 else "OVER the 2 s target"
        rows.append(
            (
                label,
                f"{ours[0] * 1000:.0f} ms median, {ours[1] * 1000:.0f} ms p95 ({target})  "
                f"ratio {ours[0] / base[0]:.2f}x  {ours[2]}",
            )
        )
    return rows


def recompute_figures(workspace_id: int) -> list[tuple[str, str]]:
    """Attribution recomputed after a settings change (every conversion of the dataset,
    batches of 500), against the baseline of the pipeline's own step crediting the same
    conversions batch by batch as ingestion would. Both must credit the same conversions."""
    from analytics.attribution import attribution_config_save, attribution_process_events
    from analytics.attribution.recompute import attribution_recompute_run
    from analytics.models import AttributedConversion
    from contacts.models import Event
    from workspaces.models import Workspace

    workspace = Workspace.objects.get(pk=workspace_id)
    names = ["Order Completed", "deal.won"]
    ids = list(
        Event.objects.filter(workspace=workspace, name__in=names)
        .order_by("pk")
        .values_list("pk", flat=True)
    )

    def pipeline() -> int:
        for start in range(0, len(ids), 500):
            batch = list(Event.objects.filter(pk__in=ids[start : start + 500]))
            attribution_process_events(workspace=workspace, events=batch)
        return AttributedConversion.objects.filter(workspace=workspace, generation=0).count()

    pipeline_s, rows = harness.timed(pipeline, runs=1)
    state = attribution_config_save(
        workspace=workspace,
        data={
            "conversion_events": names,
            "click_window_days": 10,
            "open_window_days": 1,
            "default_model": "last_touch",
        },
    )
    generation = state.pending_generation
    assert generation is not None

    def recompute() -> int:
        attribution_recompute_run(workspace=workspace, generation=generation)
        return AttributedConversion.objects.filter(workspace=workspace).count()

    recompute_s, after = harness.timed(recompute, runs=1)
    if after != rows:
        raise SystemExit(f"the recompute wrote {after} rows, the pipeline {rows}")
    return [
        (
            f"baseline: the pipeline step over {len(ids):,} conversions",
            f"{pipeline_s:.1f} s ({len(ids) / pipeline_s:,.0f} conversions/s)",
        ),
        (
            "recompute after a settings change (batches of 500, old rows deleted)",
            f"{recompute_s:.1f} s ({len(ids) / recompute_s:,.0f} conversions/s)  "
            f"ratio {recompute_s / pipeline_s:.2f}x",
        ),
    ]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench analytics")
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--runs", type=int, default=20, help="warm runs per panel figure")
    parser.add_argument(
        "--baseline-runs", type=int, default=3, help="warm runs of each hand-written SQL"
    )
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
    _panel_data(workspace_id, args.days)
    harness.analyze("contacts_contact", "analytics_contactweek", "segments_segmentsizesnapshot")
    harness.report(
        "the panels of issue #17 (p95 target 2 s)",
        panel_figures(workspace_id, args.runs, args.baseline_runs),
    )
    harness.report(
        "funnels with exclusions and breakdowns (p95 target 2 s)",
        funnel_figures(workspace_id, args.runs),
    )
    harness.report("attribution recomputed", recompute_figures(workspace_id))
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
