"""Scenario `segment`: a full recompute on 1M contacts / 10M events, and real-time latency.

    .venv/bin/python -m bench segment [--contacts 1000000] [--events 10000000]
                                      [--samples 40] [--load-clients 4] [--celery 1] [--reuse]

1. Fresh database `tendril_bench_segment` (or, with --reuse, the data of a previous run),
   one workspace, contacts and events written by bench.generator (COPY), 90 days of
   activity; custom attributes `plan` (string) and `seats` (number) declared.
2. The question: plan is pro or enterprise AND seats >= 10 AND "Order Completed" at least
   3 times in the last 30 days. Asked three ways, each timed (median of 3 warm runs):
   - the baseline: one hand-written SQL query (JOIN on a GROUP BY … HAVING);
   - the compiled filter (segments.filters, the same count);
   - the full recompute (segment_recompute: set-based diff in chunks, writing memberships,
     history and segment.entered events): first from empty, then steady state (no change).
   Prints each time and the ratio to the baseline.
3. Real time: gunicorn (2 gthread workers × 2 threads, as bench.ingest) + one Celery worker; a segment "did Demo Requested"; N times, POST
   /v1/track for an existing contact and poll until its membership row exists. Measured
   idle, then while bench.ingest's traffic (batches of 100) runs from --load-clients
   threads. Prints p50/p95 and the load's events/s.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import threading
import time
import uuid
from datetime import timedelta

from bench import harness

DATABASE = "tendril_bench_segment"
PORT = 18140
REDIS_DB = 5
SEED = 11
QUESTION = {
    "all": [
        {"field": "plan", "op": "in", "value": ["pro", "enterprise"]},
        {"field": "seats", "op": "gte", "value": 10},
        {"event": "Order Completed", "count": {"op": "gte", "value": 3}, "within_days": 30},
    ]
}
HAND_WRITTEN = """
SELECT count(*) FROM contacts_contact c
JOIN (SELECT contact_id FROM contacts_event
      WHERE workspace_id = %(ws)s AND name = 'Order Completed' AND timestamp >= %(since)s
      GROUP BY contact_id HAVING count(*) >= 3) e ON e.contact_id = c.id
WHERE c.workspace_id = %(ws)s
  AND c.attributes->>'plan' IN ('pro', 'enterprise')
  AND (c.attributes->>'seats')::numeric >= 10
"""


def prepare(args: argparse.Namespace) -> tuple[int, str, float | None]:
    harness.setup_django(database=DATABASE, redis_db=REDIS_DB, fresh=not args.reuse)

    from contacts.models import AttributeDefinition, Contact
    from workspaces.models import ApiKey, Workspace

    existing = Workspace.objects.filter(name="Bench segment").first()
    if existing and Contact.objects.filter(workspace=existing).count() >= args.contacts:
        key = ApiKey.objects.filter(workspace=existing, kind="write").first()
        raw = f"tdw_bench_{uuid.uuid4().hex}"
        if key is not None:  # keys are stored hashed: give the bench's key a known value
            key.key_hash = ApiKey.hash(raw)
            key.save(update_fields=["key_hash"])
        return existing.pk, raw, None
    workspace_id, write_key = harness.workspace("Bench segment")
    for key_name, type_ in (("plan", "string"), ("seats", "number")):
        AttributeDefinition.objects.create(workspace_id=workspace_id, key=key_name, type=type_)
    from bench.generator import generate

    print(f"generating {args.contacts:,} contacts and {args.events:,} events (COPY) …", flush=True)
    generated = generate(
        workspace_id, contacts=args.contacts, events=args.events, days=90, seed=SEED
    )
    harness.analyze("contacts_contact", "contacts_event", vacuum=True)
    return workspace_id, write_key, generated.seconds


def recompute_figures(workspace_id: int) -> list[tuple[str, str]]:
    from django.db import connection
    from django.utils import timezone

    from segments.filters import filter_count, filter_dependencies
    from segments.models import Segment
    from segments.services import segment_recompute
    from workspaces.models import Workspace

    workspace = Workspace.objects.get(pk=workspace_id)
    now = timezone.now()

    def hand() -> int:
        with connection.cursor() as cursor:
            cursor.execute(HAND_WRITTEN, {"ws": workspace_id, "since": now - timedelta(days=30)})
            return int(cursor.fetchone()[0])

    def compiled() -> int:
        return filter_count(workspace=workspace, tree=QUESTION, now=now)

    hand_s, hand_n = harness.timed(hand)
    compiled_s, compiled_n = harness.timed(compiled)
    if hand_n != compiled_n:
        raise SystemExit(f"the compiled filter disagrees: {compiled_n} vs hand-written {hand_n}")

    Segment.objects.filter(workspace=workspace, name="Bench question").delete()
    deps = filter_dependencies(QUESTION)
    segment = Segment.objects.create(
        workspace=workspace,
        name="Bench question",
        filter=QUESTION,
        dep_event_names=sorted(deps.event_names),
        dep_fields=sorted(deps.fields),
        drifts=deps.drifts,
    )
    started = time.perf_counter()
    first = segment_recompute(segment=segment, now=now)
    first_s = time.perf_counter() - started
    steady_s, steady = harness.timed(lambda: segment_recompute(segment=segment, now=now))
    assert first is not None and steady is not None
    segment.refresh_from_db()
    if segment.member_count != hand_n:
        raise SystemExit(f"recompute gave {segment.member_count} members, expected {hand_n}")
    contacts = workspace_contacts(workspace_id)
    return [
        ("data", f"{contacts:,} contacts, {events_count(workspace_id):,} events"),
        ("matching contacts", f"{hand_n:,}"),
        ("baseline: hand-written SQL", f"{hand_s:.2f} s"),
        ("compiled filter (count)", f"{compiled_s:.2f} s  ratio {compiled_s / hand_s:.2f}x"),
        (
            "full recompute, first (all enter)",
            f"{first_s:.2f} s  ratio {first_s / hand_s:.2f}x  "
            f"({len(first.entered):,} memberships + history + segment.entered events written)",
        ),
        ("full recompute, steady (no change)", f"{steady_s:.2f} s  ratio {steady_s / hand_s:.2f}x"),
    ]


def workspace_contacts(workspace_id: int) -> int:
    from contacts.models import Contact

    return Contact.objects.filter(workspace_id=workspace_id).count()


def events_count(workspace_id: int) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM contacts_event WHERE workspace_id = %s", [workspace_id]
        )
        return int(cursor.fetchone()[0])


class Prober:
    """POST /v1/track for a known contact; wait until the segment has them."""

    def __init__(self, url: str, key: str, workspace_id: int, segment_id: int):
        self.host, self.port = url.removeprefix("http://").split(":")
        self.auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
        self.workspace_id, self.segment_id = workspace_id, segment_id
        self.http: list[float] = []  # the POST alone
        self.pipeline: list[float] = []  # from the POST's answer to the membership row

    def sample(self, external_id: str, contact_id: int) -> float:
        from segments.models import SegmentMembership

        body = json.dumps(
            {
                "userId": external_id,
                "event": "Demo Requested",
                "properties": {"source": "bench"},
                "messageId": f"probe-{uuid.uuid4()}",
            }
        )
        conn = http.client.HTTPConnection(self.host, int(self.port), timeout=60)
        started = time.perf_counter()
        conn.request(
            "POST",
            "/v1/track",
            body,
            {"Authorization": self.auth, "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        response.read()
        conn.close()
        if response.status != 200:
            raise RuntimeError(f"/v1/track answered {response.status}")
        self.http.append(time.perf_counter() - started)
        members = SegmentMembership.objects.filter(
            workspace_id=self.workspace_id, segment_id=self.segment_id, contact_id=contact_id
        )
        while not members.exists():
            if time.perf_counter() - started > 120:
                return float("inf")
            time.sleep(0.02)
        total = time.perf_counter() - started
        self.pipeline.append(total - self.http[-1])
        return total


def latency_figures(
    workspace_id: int, key: str, samples: int, load_clients: int, celery: int = 1
) -> list[tuple[str, str]]:
    from contacts.models import Contact
    from segments.models import Segment
    from segments.services import segment_create, segment_recompute

    Segment.objects.filter(workspace_id=workspace_id, name="Demo requested").delete()
    segment = segment_create(
        workspace=Contact.objects.filter(workspace_id=workspace_id).first().workspace,
        name="Demo requested",
        filter={"event": "Demo Requested"},
    )
    segment_recompute(segment=segment)
    candidates = list(
        Contact.objects.filter(workspace_id=workspace_id, external_id__startswith=f"gen-{SEED}-")
        .order_by("?")
        .values_list("external_id", "id")[: samples * 2]
    )
    rows: list[tuple[str, str]] = []
    with (
        harness.server(port=PORT, workers=2, threads=2) as url,
        harness.worker(concurrency=celery),
    ):
        harness.wait_queue_empty()
        prober = Prober(url, key, workspace_id, segment.pk)
        idle = [prober.sample(*candidates[i]) for i in range(samples)]
        rows.append(("real time, idle: p50 / p95", _p(idle)))
        rows.append(("  of which the POST itself", _p(prober.http)))
        rows.append(("  then the pipeline (task → row)", _p(prober.pipeline)))
        prober.http, prober.pipeline = [], []

        from bench.ingest import BATCH, Load, Traffic

        traffic = Traffic(seed=7)
        bodies = [traffic.batch_body()[0] for _ in range(4000)]
        load = Load(url, key, "/v1/batch", bodies, load_clients)
        stop_after = 600.0
        thread = threading.Thread(target=load.run, args=(stop_after,), daemon=True)
        started = time.perf_counter()
        thread.start()
        time.sleep(3)  # let the load reach its pace
        loaded = []
        for i in range(samples, samples * 2):
            loaded.append(prober.sample(*candidates[i]))
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        with load.lock:
            load.next = len(load.bodies)  # stop the clients
        thread.join()
        queued = harness.queue_length()
        rows.append(
            (
                f"real time, under ingest load ({load_clients} clients): p50 / p95",
                _p(loaded),
            )
        )
        rows.append(("  of which the POST itself", _p(prober.http)))
        rows.append(("  then the pipeline (task → row)", _p(prober.pipeline)))
        rows.append(
            (
                "ingest load meanwhile",
                f"{len(load.latencies) * BATCH / elapsed:,.0f} events/s posted in batches of "
                f"{BATCH}; {queued} pipeline tasks still queued when sampling ended",
            )
        )
    return rows


def _p(values: list[float]) -> str:
    return (
        f"{harness.percentile(values, 0.5) * 1000:.0f} ms / "
        f"{harness.percentile(values, 0.95) * 1000:.0f} ms  (n={len(values)})"
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench segment")
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--load-clients", type=int, default=4)
    parser.add_argument("--celery", type=int, default=1, help="Celery worker concurrency")
    parser.add_argument("--reuse", action="store_true", help="keep the data of the last run")
    parser.add_argument("--no-latency", action="store_true")
    args = parser.parse_args(argv)
    note = harness.machine_note()
    workspace_id, key, generated_s = prepare(args)
    rows = [("machine", note)]
    if generated_s is not None:
        rows.append(("generator (COPY)", f"{generated_s:.0f} s"))
    rows += recompute_figures(workspace_id)
    harness.report("segment: full recompute", rows)
    if not args.no_latency:
        latency = latency_figures(workspace_id, key, args.samples, args.load_clients, args.celery)
        harness.report("segment: real time (POST /v1/track → membership row)", latency)
    from config.celery_app import app

    app.control.purge()  # segment.entered notifications nobody will process here


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
