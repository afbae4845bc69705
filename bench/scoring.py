"""Scenario `scoring`: what scoring adds to event processing, and what decay costs.

    .venv/bin/python -m bench scoring [--batches 150] [--contacts 20000]

1. Fresh database `tendril_bench_scoring` with two identical workspaces ("on" and "off"),
   each with `--contacts` generated contacts and history (bench.generator, same seed).
   "on" has a realistic primary scoring model: 6 behavioural rules (page views with
   `where`, caps per day, a revenue condition), 3 fit rules, 3 negative rules (unsubscribed,
   bounced, inactive 30 days) and 10 %/30-day decay. "off" has no model (the scoring
   processor still runs and finds nothing to do: one query).
2. The ingest scenario's traffic (bench.ingest.Traffic: 62 % page views, 34 % track, 4 %
   identify; batches of 100) is ingested into both workspaces by the real ingestion service,
   then each batch goes through the real pipeline (`contacts.services.events_process`, every
   registered processor) in each workspace, alternating which goes first. The difference per
   batch, divided by its events, is what scoring adds per event. Target: ≤ 1 ms (median).
3. Decay refresh: every score row of "on" is made due; the set-based refresh recomputes them
   → rows/s, against a baseline UPDATE touching the same rows (the cheapest rewrite).
4. Correction on read: the leads page (50 rows) with every row stale vs fresh.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from bench import harness

DATABASE = "tendril_bench_scoring"
REDIS_DB = 4
WARMUP = 20

RULES: list[dict[str, Any]] = [
    {
        "kind": "behavioural",
        "name": "Visited pricing",
        "event": "pricing",
        "points": 5,
        "cap_per_day": 15,
        "where": [{"property": "path", "op": "contains", "value": "/pricing"}],
    },
    {
        "kind": "behavioural",
        "name": "Signup page",
        "event": "signup",
        "points": 10,
        "cap_total": 10,
    },
    {
        "kind": "behavioural",
        "name": "Viewed a product",
        "event": "Product Viewed",
        "points": 1,
        "cap_per_day": 5,
    },
    {"kind": "behavioural", "name": "Added to cart", "event": "Added to Cart", "points": 5},
    {
        "kind": "behavioural",
        "name": "Big order",
        "event": "Order Completed",
        "points": 20,
        "where": [{"property": "revenue", "op": "gt", "value": 100}],
    },
    {
        "kind": "behavioural",
        "name": "Opened an email",
        "event": "email.opened",
        "points": 1,
        "cap_per_day": 3,
    },
    {
        "kind": "fit",
        "name": "Pro plan",
        "points": 10,
        "filter": {"field": "plan", "op": "eq", "value": "pro"},
    },
    {
        "kind": "fit",
        "name": "Senior title",
        "points": 15,
        "filter": {
            "any": [
                {"field": "job_title", "op": "contains", "value": "VP"},
                {"field": "job_title", "op": "contains", "value": "Head"},
            ]
        },
    },
    {
        "kind": "fit",
        "name": "Target country",
        "points": 5,
        "filter": {"field": "country", "op": "in", "value": ["DE", "FR", "US", "GB"]},
    },
    {"kind": "negative", "name": "Unsubscribed", "signal": "unsubscribed", "points": -20},
    {"kind": "negative", "name": "Bounced", "signal": "bounced", "points": -10, "cap_total": 10},
    {
        "kind": "negative",
        "name": "Gone quiet",
        "signal": "inactive",
        "inactive_days": 30,
        "points": -15,
    },
]


def _scoring_model(workspace: Any) -> None:
    from contacts.services.traits import attributes_register
    from scoring.services.config import model_save, rule_save

    # the generator writes these attributes without registering them; the filter needs them
    attributes_register(
        workspace=workspace, values={"plan": "pro", "seats": 5, "signup_source": "ads"}
    )
    model = model_save(
        workspace=workspace,
        data={
            "name": "Main",
            "mql_threshold": 60,
            "hysteresis": 10,
            "decay_mode": "percent",
            "decay_percent": 10,
            "decay_period_days": 30,
            "is_primary": True,
            "is_active": True,
        },
    )
    for rule in RULES:
        rule_save(workspace=workspace, model=model, data=rule)


def _ingest(
    workspace: Any, messages: list[dict[str, Any]]
) -> tuple[list[int], dict[str, list[str]]]:
    from contacts.ingest.parsing import parse_batch
    from contacts.services.ingest import ingest_messages

    now = datetime.now(UTC)
    parsed, _ = parse_batch({"batch": messages}, received_at=now, check_sizes=False)
    result = ingest_messages(workspace=workspace, messages=parsed, source="api", received_at=now)
    return result.event_ids, {str(k): sorted(v) for k, v in result.changed_fields.items()}


def _timed_process(workspace: Any, ids: list[int], changed: dict[str, list[str]]) -> float:
    from contacts.services import events_process

    started = time.perf_counter()
    events_process(workspace=workspace, event_ids=ids, changed_fields=changed)
    return time.perf_counter() - started


class _ScoringClock:
    """Wraps the scoring processor to add up the time spent inside it."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def install(self) -> None:
        from contacts import hooks

        for index, (order, name, func) in enumerate(hooks._processors):
            if name == "scoring":

                def timed(batch: Any, func: Any = func) -> None:
                    started = time.perf_counter()
                    try:
                        func(batch)
                    finally:
                        self.seconds += time.perf_counter() - started

                hooks._processors[index] = (order, name, timed)


def _pipeline(on: Any, off: Any, batches: int) -> dict[str, Any]:
    from bench.ingest import Traffic

    traffic_on, traffic_off = Traffic(seed=42), Traffic(seed=42)
    for _ in range(WARMUP):  # the population becomes known contacts with score rows
        for workspace, traffic in ((on, traffic_on), (off, traffic_off)):
            ids, changed = _ingest(workspace, traffic.batch_body()[1])
            _timed_process(workspace, ids, changed)
    harness.analyze()  # as autovacuum would have by now on a live system: plans need statistics
    clock = _ScoringClock()
    clock.install()
    times_on, times_off, diffs, events = [], [], [], 0
    for index in range(batches):
        body_on, body_off = traffic_on.batch_body()[1], traffic_off.batch_body()[1]
        ids_on, changed_on = _ingest(on, body_on)
        ids_off, changed_off = _ingest(off, body_off)
        order = [(on, ids_on, changed_on, times_on), (off, ids_off, changed_off, times_off)]
        if index % 2:
            order.reverse()
        for workspace, ids, changed, into in order:
            into.append(_timed_process(workspace, ids, changed))
        diffs.append((times_on[-1] - times_off[-1]) / len(ids_on))
        events += len(ids_on)
    scored_in = clock.seconds
    return {
        "events": events,
        "on": times_on,
        "off": times_off,
        "added_per_event": diffs,
        "inside_scoring_per_event": scored_in / events,
        "batch_size": events / batches,
    }


def _refresh(on: Any) -> dict[str, float]:
    from django.db import connection
    from django.utils import timezone

    from scoring.models import ContactScore
    from scoring.services.refresh import scores_refresh_due

    rows = ContactScore.objects.for_workspace(on)
    count = rows.count()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE scoring_contactscore SET score = score, updated_at = now() WHERE workspace_id = %s",
            [on.pk],
        )
    baseline = time.perf_counter() - started
    rows.update(valid_until=timezone.now())
    started = time.perf_counter()
    refreshed = scores_refresh_due(workspace=on)
    elapsed = time.perf_counter() - started
    return {"rows": count, "refreshed": refreshed, "seconds": elapsed, "baseline": baseline}


def _read(on: Any) -> dict[str, float]:
    from django.utils import timezone

    from scoring import selectors
    from scoring.models import ContactScore

    def page_ms() -> float:
        samples = []
        for _ in range(15):
            started = time.perf_counter()
            page = selectors.lead_page(
                workspace=on, filters=selectors.LeadFilters(stage="all"), user=None
            )
            list(page.object_list)
            samples.append(time.perf_counter() - started)
        return statistics.median(samples) * 1000

    fresh = page_ms()
    ContactScore.objects.for_workspace(on).update(valid_until=timezone.now())
    stale = page_ms()
    return {"fresh_ms": fresh, "stale_ms": stale}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench scoring")
    parser.add_argument("--batches", type=int, default=150)
    parser.add_argument("--contacts", type=int, default=20_000)
    args = parser.parse_args(argv)
    note = harness.machine_note()
    harness.setup_django(database=DATABASE, redis_db=REDIS_DB)
    from bench.generator import generate
    from config.celery_app import app
    from workspaces.models import Workspace

    on = Workspace.objects.get(pk=harness.workspace("Scoring on")[0])
    off = Workspace.objects.get(pk=harness.workspace("Scoring off")[0])
    for workspace in (on, off):
        generate(workspace.pk, contacts=args.contacts, events=args.contacts * 10, seed=7)
    _scoring_model(on)
    print(
        f"{args.contacts:,} contacts and {args.contacts * 10:,} events per workspace; "
        f"{WARMUP} warm-up + {args.batches} measured batches per workspace …"
    )
    pipeline = _pipeline(on, off, args.batches)
    refresh = _refresh(on)
    read = _read(on)
    app.control.purge()  # the process_events tasks ingestion queued; processed here already

    ms = 1000
    median_on = statistics.median(pipeline["on"]) / pipeline["batch_size"] * ms
    median_off = statistics.median(pipeline["off"]) / pipeline["batch_size"] * ms
    added = [d * ms for d in pipeline["added_per_event"]]
    harness.report(
        "scoring",
        [
            ("machine", note),
            (
                "setup",
                f"{args.contacts:,} contacts per workspace, {args.batches} batches of {pipeline['batch_size']:.0f} events, in-process pipeline",
            ),
            ("pipeline, scoring off (baseline)", f"{median_off:.3f} ms/event (median batch)"),
            ("pipeline, scoring on", f"{median_on:.3f} ms/event (median batch)"),
            (
                "added by scoring, per event",
                f"median {statistics.median(added):.3f} ms, p90 {harness.percentile(added, 0.9):.3f} ms (target ≤ 1 ms)",
            ),
            (
                "  time inside the scoring processor",
                f"{pipeline['inside_scoring_per_event'] * ms:.3f} ms/event (mean)",
            ),
            ("ratio on / off", f"{median_on / median_off:.2f}"),
            (
                "decay refresh (all rows due)",
                f"{refresh['refreshed']:,} rows in {refresh['seconds']:.2f} s = {refresh['refreshed'] / refresh['seconds']:,.0f} rows/s",
            ),
            (
                "  baseline: plain UPDATE of the same rows",
                f"{refresh['rows'] / refresh['baseline']:,.0f} rows/s",
            ),
            (
                "  ratio refresh / plain UPDATE",
                f"{(refresh['refreshed'] / refresh['seconds']) / (refresh['rows'] / refresh['baseline']):.2f}",
            ),
            ("leads page (50 rows), scores fresh", f"{read['fresh_ms']:.1f} ms"),
            (
                "leads page, every row stale (corrected on read)",
                f"{read['stale_ms']:.1f} ms  (ratio {read['stale_ms'] / read['fresh_ms']:.2f})",
            ),
        ],
    )
