"""Scenario `live_count`: the segment builder's live count on the demo workspace.

    .venv/bin/python -m bench live_count [--contacts 3000] [--runs 5] [--reuse]

1. Fresh database `tendril_bench_live_count`, built as `make dev` builds it:
   `manage.py demo_seed` (3,000 contacts, 60,000 events over 30 days, ANALYZE at the end).
2. The condition editor's live count request (POST /api/v1/segments/count/ with the tree,
   through Django's test client as a logged-in marketer, as the island on the segments page
   sends it: both queries — the count and the first 20 contacts — and the JSON answer) for
   event conditions a marketer starts with, over
   7-, 30- and 90-day windows:
   - did "Product Viewed" (the demo's most frequent event),
   - "Order Completed" at least 3 times,
   - "Order Completed" with revenue > 100.
   Each is timed cold (the first request) and warm (median of --runs), next to the baseline:
   a hand-written SQL count of the same question in the same run, and next to the database
   work alone — before (a count, then the filter matched again for the first 20) and now
   (one evaluation for both, segments.filters.filter_count_and_first). Target: ≤ 300 ms.
3. The same on a database without planner statistics (the state of a fresh database before
   ANALYZE or autovacuum: pg_statistic rows removed, row estimates unknown), when this
   connection may do that (a superuser); else said and skipped.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from datetime import timedelta

from bench import harness

DATABASE = "tendril_bench_live_count"
REDIS_DB = 6
WINDOWS = (7, 30, 90)
TARGET_MS = 300
COUNT_URL = "/api/v1/segments/count/"


@dataclass(frozen=True)
class Question:
    label: str
    form: dict[str, str]  # what defines the event condition (n.0, the old builder's names)
    baseline_sql: str  # the same question, hand-written; %(ws)s, %(since)s


QUESTIONS = [
    Question(
        "did Product Viewed",
        {"n.0.event": "Product Viewed"},
        """SELECT count(*) FROM contacts_contact c WHERE c.workspace_id = %(ws)s AND EXISTS (
             SELECT 1 FROM contacts_event e WHERE e.workspace_id = %(ws)s
               AND e.contact_id = c.id AND e.name = 'Product Viewed'
               AND e.timestamp >= %(since)s)""",
    ),
    Question(
        "Order Completed ≥ 3 times",
        {"n.0.event": "Order Completed", "n.0.count_op": "gte", "n.0.count_value": "3"},
        """SELECT count(*) FROM (SELECT e.contact_id FROM contacts_event e
             WHERE e.workspace_id = %(ws)s AND e.name = 'Order Completed'
               AND e.timestamp >= %(since)s
             GROUP BY e.contact_id HAVING count(*) >= 3) matched""",
    ),
    Question(
        "Order Completed, revenue > 100",
        {
            "n.0.event": "Order Completed",
            "n.0.w.0.kind": "property",
            "n.0.w.0.property": "revenue",
            "n.0.w.0.op": "gt",
            "n.0.w.0.value": "100",
        },
        """SELECT count(*) FROM contacts_contact c WHERE c.workspace_id = %(ws)s AND EXISTS (
             SELECT 1 FROM contacts_event e WHERE e.workspace_id = %(ws)s
               AND e.contact_id = c.id AND e.name = 'Order Completed'
               AND e.timestamp >= %(since)s
               AND jsonb_typeof(e.properties->'revenue') = 'number'
               AND (e.properties->>'revenue')::numeric > 100)""",
    ),
]


def prepare(args: argparse.Namespace) -> tuple[int, float | None]:
    harness.setup_django(database=DATABASE, redis_db=REDIS_DB, fresh=not args.reuse)
    from django.core.management import call_command

    from workspaces.management.commands.demo_seed import DEMO_WORKSPACE
    from workspaces.models import Workspace

    seconds = None
    if not Workspace.objects.filter(name=DEMO_WORKSPACE).exists():
        print(f"building the demo workspace ({args.contacts:,} contacts) …", flush=True)
        started = time.perf_counter()
        call_command("demo_seed", contacts=args.contacts)
        seconds = time.perf_counter() - started
    return Workspace.objects.get(name=DEMO_WORKSPACE).pk, seconds


def client_for(workspace_id: int):  # noqa: ANN201
    from django.test import Client

    from workspaces.management.commands.demo_seed import DEMO_EMAIL
    from workspaces.models import User

    client = Client()
    client.force_login(User.objects.get(email=DEMO_EMAIL))
    return client


@dataclass
class Figure:
    label: str
    count: int
    baseline: float  # hand-written SQL count, warm median (s)
    twice: float  # before: count, then match again for the first 20 (s)
    queries: float  # now: one evaluation for the count and the first 20, + their rows (s)
    cold: float  # the whole preview request, first time this question is asked (s)
    warm: float  # the whole preview request, warm median (s)


def tree_for(question: Question, days: int) -> dict:
    """The filter the condition editor posts for `question`."""
    node: dict = {"event": question.form["n.0.event"], "within_days": days}
    if "n.0.count_op" in question.form:
        node["count"] = {"op": "gte", "value": int(question.form["n.0.count_value"])}
    if "n.0.w.0.property" in question.form:
        node["where"] = [{"property": "revenue", "op": "gt", "value": 100}]
    return {"all": [node]}


def measure(workspace_id: int, runs: int) -> list[Figure]:
    from django.db import connection
    from django.utils import timezone

    from contacts.models import Contact
    from segments.filters import compile_filter, filter_count, filter_count_and_first
    from workspaces.models import Workspace

    workspace = Workspace.objects.get(pk=workspace_id)
    client = client_for(workspace_id)
    # One request first, so "cold" is this question's first asking, not Django's first request.
    client.post(COUNT_URL, {"filter": {"all": []}}, content_type="application/json")
    figures = []
    for question in QUESTIONS:
        for days in WINDOWS:
            since = timezone.now() - timedelta(days=days)
            tree = tree_for(question, days)

            def baseline(q: Question = question, since=since) -> int:  # noqa: ANN001
                with connection.cursor() as cursor:
                    cursor.execute(q.baseline_sql, {"ws": workspace_id, "since": since})
                    return int(cursor.fetchone()[0])

            def twice(tree: dict = tree) -> int:
                count = filter_count(workspace=workspace, tree=tree)
                list(compile_filter(workspace=workspace, tree=tree).order_by("-id")[:20])
                return count

            def queries(tree: dict = tree) -> int:
                count, ids = filter_count_and_first(workspace=workspace, tree=tree, limit=20)
                list(Contact.objects.filter(workspace=workspace, pk__in=ids).order_by("-id"))
                return count

            def preview(tree: dict = tree) -> int:
                body = {"filter": tree, "limit": 20}
                response = client.post(COUNT_URL, body, content_type="application/json")
                if response.status_code != 200:
                    raise SystemExit(f"the live count answered {response.status_code}")
                answer = response.json()
                if len(answer["contacts"]) != min(20, answer["count"]):
                    raise SystemExit(f"the first contacts are missing: {answer}")
                return int(answer["count"])

            started = time.perf_counter()
            count = preview()
            cold = time.perf_counter() - started
            warm, again = harness.timed(preview, runs=runs)
            twice_s, _ = harness.timed(twice, runs=runs)
            queries_s, compiled_n = harness.timed(queries, runs=runs)
            base_s, base_n = harness.timed(baseline, runs=runs)
            if not count == again == compiled_n == base_n:
                raise SystemExit(
                    f"{question.label}, {days} days: preview counted {count}/{again}, the "
                    f"compiled filter {compiled_n}, hand-written SQL {base_n}"
                )
            figures.append(
                Figure(
                    f"{question.label}, last {days} days",
                    count,
                    base_s,
                    twice_s,
                    queries_s,
                    cold,
                    warm,
                )
            )
    return figures


def forget_statistics() -> str | None:
    """Put the event and contact tables back to 'never analysed'; None, or why not."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            return "this connection is not a superuser (pg_statistic is not writable)"
        cursor.execute(
            "DELETE FROM pg_statistic WHERE starelid IN "
            "('contacts_event'::regclass, 'contacts_contact'::regclass)"
        )
        cursor.execute(
            "UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE oid IN "
            "('contacts_event'::regclass, 'contacts_contact'::regclass)"
        )
    return None


def table(figures: list[Figure]) -> list[tuple[str, str]]:
    rows = [
        (
            "question (matches)",
            "hand-written SQL | before: count + first 20 (÷ SQL) | now: one evaluation "
            "(÷ SQL) | preview request cold / warm",
        )
    ]
    for f in figures:
        verdict = "ok" if f.warm * 1000 <= TARGET_MS else f"OVER {TARGET_MS} ms"
        rows.append(
            (
                f"{f.label} ({f.count:,})",
                f"{f.baseline * 1000:6.1f} ms | {f.twice * 1000:6.1f} ms "
                f"({f.twice / f.baseline:4.2f}x) | {f.queries * 1000:6.1f} ms "
                f"({f.queries / f.baseline:4.2f}x) | {f.cold * 1000:6.1f} / "
                f"{f.warm * 1000:6.1f} ms {verdict}",
            )
        )
    worst = max(f.warm for f in figures)
    rows.append(("slowest warm preview", f"{worst * 1000:.1f} ms (target ≤ {TARGET_MS} ms)"))
    rows.append(
        ("median warm preview", f"{statistics.median(f.warm for f in figures) * 1000:.1f} ms")
    )
    return rows


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench live_count")
    parser.add_argument("--contacts", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="keep the demo of the last run")
    args = parser.parse_args(argv)
    print(harness.machine_note())
    workspace_id, seeded = prepare(args)
    from bench.segment import events_count
    from contacts.models import Contact

    rows = [
        (
            "data",
            f"{Contact.objects.filter(workspace_id=workspace_id).count():,} contacts, "
            f"{events_count(workspace_id):,} events"
            + (f" (demo_seed {seeded:.1f} s)" if seeded else " (reused)"),
        )
    ]
    harness.report(
        "live count on the demo workspace (after demo_seed's ANALYZE)",
        rows + table(measure(workspace_id, args.runs)),
    )
    why_not = forget_statistics()
    if why_not:
        harness.report("without planner statistics", [("skipped", why_not)])
    else:
        harness.report("without planner statistics", table(measure(workspace_id, args.runs)))
        harness.analyze("contacts_contact", "contacts_event")
    import os

    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
