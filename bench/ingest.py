"""Scenario `ingest`: Segment-style events through the real server, against COPY.

    .venv/bin/python -m bench ingest [--seconds 20] [--clients 4] [--web-workers 2] [--threads 2]

1. Fresh database `tendril_bench_ingest`, a workspace, gunicorn (2 gthread workers × 2
   threads, keep-alive) on 127.0.0.1:18100 and one Celery worker (the events_ingested
   pipeline runs for real; `--defer-worker` starts it only after the HTTP phases).
2. Warm-up: the 5,000 users are identified, plus 50 batches of traffic; then ANALYZE
   (the statistics autovacuum would have gathered on a database in service).
3. Batch phase: N client threads post /v1/batch (100 messages each) for --seconds;
   prints events/s and p50/p99 batch latency.
4. Single phase: the same with one /v1/track per request → requests/s, p50/p99. Each
   phase also prints where the CPU went (web, worker, PostgreSQL, Redis, the clients).
5. Baselines: the batch phase's rows COPY'd straight into contacts_event in this process
   (the cheapest way PostgreSQL can take them) → events/s, and the ratio HTTP / COPY; the
   single phase's rows INSERTed one per transaction from as many connections as clients
   (what the database alone does one event at a time) → rows/s, and the ratio.
6. How long the Celery worker then needs to drain the pipeline tasks queued meanwhile.

    .venv/bin/python -m bench ingest --limiter [--seconds 8] [--rounds 3]

The cost of the per-write-key rate limiter (workspaces/throttling.py): two servers run side
by side, one as configured and one with INGEST_RATE_LIMIT=off, and the single-call and batch
phases alternate between them for --rounds rounds (so load from the rest of the machine falls
on both alike; no Celery worker, the pipeline tasks wait in Redis). Prints the median of each
and the ratio off / on.

    .venv/bin/python -m bench ingest --against CHECKOUT [--seconds 8] [--rounds 3] [--port 18100]

The same alternation between two versions of the code: one server runs this checkout, the
other the checkout at CHECKOUT (e.g. `git worktree add --detach ../before main`), both on
the same database and Redis — a before/after in the same conditions. Prints the ratio after
/ before.

Traffic: 5,000 users, each identified once during warm-up (userId + anonymousId + traits),
then messages from them — 62% page views, 34% track ("Product Viewed", "Added to Cart",
"Order Completed" with revenue), 4% identify with changed traits (these take the
one-by-one identity path) — and ~20% of messages from new anonymous visitors (a fresh
anonymous id each, sessions of 1–4 page views: new contacts are created all along). Request bodies are built
before the clock starts, so the clients spend little CPU while measuring; they still
share the 2 cores with the server, the worker and PostgreSQL.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import os
import random
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import harness

DATABASE = "tendril_bench_ingest"
PORT = 18100
REDIS_DB = 1
BATCH = 100
USERS = 5_000
VISITOR_SHARE = 0.2  # of messages: new anonymous visitors (fresh ids, short sessions)
PAGES = ["/", "/pricing", "/features", "/blog/segments-that-move", "/signup", "/docs/ingestion"]


class Traffic:
    """Realistic Segment messages: known users (identified during warm-up) and a stream of
    new anonymous visitors, each with a fresh anonymous id and a short session of pages."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.session: list[dict[str, str]] = []

    def _who(self) -> dict[str, str]:
        rng = self.rng
        if self.session:
            return self.session.pop()
        if rng.random() < VISITOR_SHARE / 3:  # a visitor session of ~3 events
            visitor = {"anonymousId": str(uuid.UUID(int=rng.getrandbits(128)))}
            self.session = [visitor] * rng.randint(1, 4)
            return visitor
        user = rng.randrange(USERS)
        return {"userId": f"user-{user}", "anonymousId": f"user-anon-{user}"}

    def identify(self, user: int) -> dict[str, Any]:
        return {
            "type": "identify",
            "messageId": str(uuid.uuid4()),
            "timestamp": datetime.now(UTC).isoformat(),
            "userId": f"user-{user}",
            "anonymousId": f"user-anon-{user}",
            "traits": {"email": f"user-{user}@example.com", "firstName": "Bench", "plan": "free"},
        }

    def message(self) -> dict[str, Any]:
        rng = self.rng
        ids = self._who()
        roll = rng.random()
        base = {"messageId": str(uuid.uuid4()), "timestamp": datetime.now(UTC).isoformat(), **ids}
        path = rng.choice(PAGES)
        context = {
            "library": {"name": "bench", "version": "1"},
            "page": {"path": path, "url": f"https://www.example.com{path}"},
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64) bench",
        }
        if roll < 0.62 or "userId" not in ids:
            if rng.random() < 0.2:
                context["campaign"] = {"source": "newsletter", "medium": "email", "name": "spring"}
            return {
                **base,
                "type": "page",
                "name": path.strip("/") or "home",
                "properties": {"path": path, "title": path},
                "context": context,
            }
        if roll < 0.96:
            event = rng.choice(["Product Viewed", "Added to Cart", "Order Completed"])
            props: dict[str, Any] = {"product": f"sku-{rng.randrange(200)}"}
            if event == "Order Completed":
                props |= {"revenue": round(rng.uniform(9, 900), 2), "currency": "EUR"}
            return {
                **base,
                "type": "track",
                "event": event,
                "properties": props,
                "context": context,
            }
        user = ids["userId"]
        return {
            **base,
            "type": "identify",
            "context": context,
            "traits": {
                "email": f"{user}@example.com",
                "firstName": "Bench",
                "plan": rng.choice(["free", "pro"]),
            },
        }

    def batch_body(self) -> tuple[bytes, list[dict[str, Any]]]:
        messages = [self.message() for _ in range(BATCH)]
        body = {"batch": messages, "sentAt": datetime.now(UTC).isoformat()}
        return json.dumps(body).encode(), messages

    def identify_bodies(self) -> list[bytes]:
        """Warm-up: every user identified once, 100 per batch."""
        bodies = []
        for start in range(0, USERS, BATCH):
            batch = [self.identify(u) for u in range(start, min(start + BATCH, USERS))]
            bodies.append(json.dumps({"batch": batch}).encode())
        return bodies

    def track_body(self) -> bytes:
        message = self.message()
        while message["type"] != "track":
            message = self.message()
        return json.dumps(message).encode()


class Load:
    """N threads posting pre-built bodies for a fixed time; collects latencies."""

    def __init__(self, url: str, key: str, path: str, bodies: list[bytes], clients: int):
        self.host, self.port = url.removeprefix("http://").split(":")
        self.auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
        self.path, self.bodies, self.clients = path, bodies, clients
        self.latencies: list[float] = []
        self.stored = 0
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.next = 0

    def _take(self) -> bytes | None:
        with self.lock:
            if self.next >= len(self.bodies):
                return None
            self.next += 1
            return self.bodies[self.next - 1]

    def _client(self, until: float) -> None:
        conn = http.client.HTTPConnection(self.host, int(self.port), timeout=60)
        latencies, stored = [], 0
        while time.monotonic() < until:
            body = self._take()
            if body is None:
                break
            started = time.perf_counter()
            try:
                conn.request(
                    "POST",
                    self.path,
                    body,
                    {"Authorization": self.auth, "Content-Type": "application/json"},
                )
                response = conn.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(self.host, int(self.port), timeout=60)
                continue
            latencies.append(time.perf_counter() - started)
            if response.status != 200:
                with self.lock:
                    self.errors.append(f"{response.status} {payload[:200]!r}")
            else:
                stored += json.loads(payload).get("stored", 1)
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
        conn.close()
        with self.lock:
            self.latencies += latencies
            self.stored += stored

    def run(self, seconds: float) -> float:
        until = time.monotonic() + seconds
        threads = [
            threading.Thread(target=self._client, args=(until,)) for _ in range(self.clients)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started


def _contact_ids(workspace_id: int) -> dict[str, int]:
    """Every userId / anonymousId of the workspace → its contact id."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT external_id, anonymous_ids, id FROM contacts_contact WHERE workspace_id = %s",
            [workspace_id],
        )
        by_id: dict[str, int] = {}
        for external_id, anonymous_ids, pk in cursor.fetchall():
            for name in [external_id, *anonymous_ids]:
                if name:
                    by_id[name] = pk
    return by_id


def insert_baseline(
    workspace_id: int, messages: list[dict[str, Any]], clients: int, seconds: float
) -> float:
    """The single calls' rows INSERTed straight into contacts_event, one row per transaction
    (autocommit, asynchronous commit as ingestion), from `clients` threads with a connection
    each — what the database alone does one event at a time; returns rows/s."""
    import psycopg

    by_id = _contact_ids(workspace_id)
    fallback = next(iter(by_id.values()))
    sql = (
        "INSERT INTO contacts_event (workspace_id, contact_id, type, name, properties, context,"
        " timestamp, received_at, message_id, source)"
        " VALUES (%s, %s, %s, %s, %s::jsonb, %s::jsonb, %s, now(), %s, 'api')"
    )
    rows = [
        (
            workspace_id,
            by_id.get(m.get("userId", ""), by_id.get(m.get("anonymousId", ""), fallback)),
            m["type"],
            m.get("event") or "",
            json.dumps(m.get("properties") or {}),
            json.dumps(m.get("context") or {}),
            m["timestamp"],
            f"insert-{m['messageId']}",
        )
        for m in messages
    ]
    done = [0] * clients
    until = time.monotonic() + seconds

    def client(n: int) -> None:
        with psycopg.connect(harness.ENV["DATABASE_URL"], autocommit=True) as conn:
            conn.execute("SET synchronous_commit = off")
            for row in rows[n::clients]:
                if time.monotonic() >= until:
                    break
                conn.execute(sql, row)
                done[n] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - started)


def copy_baseline(workspace_id: int, messages: list[dict[str, Any]]) -> float:
    """COPY the same rows straight into contacts_event; returns events/s."""
    from django.db import connection, transaction

    by_id = _contact_ids(workspace_id)
    fallback = next(iter(by_id.values()))
    now = datetime.now(UTC).isoformat()
    lines = []
    for m in messages:
        contact = by_id.get(m.get("userId", ""), by_id.get(m.get("anonymousId", ""), fallback))
        props = json.dumps(m.get("properties") or m.get("traits") or {}).replace("\\", "\\\\")
        context = json.dumps(m.get("context") or {}).replace("\\", "\\\\")
        lines.append(
            f"{workspace_id}\t{contact}\t{m['type']}\t{m.get('event') or m.get('name') or ''}\t"
            f"{props}\t{context}\t{m['timestamp']}\t{now}\tcopy-{m['messageId']}\tapi\n"
        )
    raw = connection.connection if connection.connection else None
    connection.ensure_connection()
    raw = connection.connection
    started = time.perf_counter()
    with (
        transaction.atomic(),
        raw.cursor() as cursor,
        cursor.copy(
            "COPY contacts_event (workspace_id, contact_id, type, name, properties, context,"
            " timestamp, received_at, message_id, source) FROM STDIN"
        ) as copy,
    ):
        for start in range(0, len(lines), 5000):
            copy.write("".join(lines[start : start + 5000]))
    return len(lines) / (time.perf_counter() - started)


def _phase(
    url: str, key: str, path: str, bodies: list[bytes], clients: int, seconds: float
) -> tuple[Load, float]:
    load = Load(url, key, path, bodies, clients)
    elapsed = load.run(seconds)
    if load.errors:
        print(f"  {len(load.errors)} errors, first: {load.errors[0]}")
    return load, elapsed


def alternate(
    args: argparse.Namespace,
    key: str,
    traffic: Traffic,
    servers: dict[str, tuple[dict[str, str], Path]],
) -> dict[str, dict[str, list[float]]]:
    """The single-call and batch phases on two servers (label → extra environment, checkout),
    alternating for --rounds rounds so that load from the rest of the machine falls on both
    alike. Per label: requests/s ("track"), p50 ("track_p50") and events/s ("batch")."""
    singles = [traffic.track_body() for _ in range(int(args.seconds * 1500 * 2 * args.rounds))]
    batches = [traffic.batch_body()[0] for _ in range(int(args.seconds * 120 * 2 * args.rounds))]
    results: dict[str, dict[str, list[float]]] = {label: {} for label in servers}
    with contextlib.ExitStack() as stack:
        urls = {}
        for offset, (label, (env, root)) in enumerate(servers.items()):
            saved = dict(harness.ENV)
            harness.ENV.update(env)
            try:
                urls[label] = stack.enter_context(
                    harness.server(
                        port=args.port + offset,
                        workers=args.web_workers,
                        threads=args.threads,
                        root=root,
                    )
                )
            finally:
                harness.ENV.clear()
                harness.ENV.update(saved)
        first = next(iter(urls.values()))
        _phase(first, key, "/v1/batch", traffic.identify_bodies(), args.clients, 60)
        for url in urls.values():  # warm-up: connections, prepared statements, key caches
            _phase(url, key, "/v1/track", singles[:300], args.clients, 30)
            singles = singles[300:]
        harness.analyze()
        for _ in range(args.rounds):
            for label, url in urls.items():
                load, elapsed = _phase(url, key, "/v1/track", singles, args.clients, args.seconds)
                singles = singles[load.next :]
                results[label].setdefault("track", []).append(len(load.latencies) / elapsed)
                results[label].setdefault("track_p50", []).append(
                    harness.percentile(load.latencies, 0.5)
                )
                load, elapsed = _phase(url, key, "/v1/batch", batches, args.clients, args.seconds)
                batches = batches[load.next :]
                results[label].setdefault("batch", []).append(load.stored / elapsed)
    return results


def _alternation_rows(
    args: argparse.Namespace, results: dict[str, dict[str, list[float]]]
) -> list[tuple[str, str]]:
    """Report rows: each label's medians with its rounds, and the ratios second / first."""
    import statistics

    (a, first), (b, second) = (
        (label, {k: statistics.median(v) for k, v in figures.items()})
        for label, figures in results.items()
    )
    rows = [
        ("machine", args.machine),
        (
            "setup",
            f"two servers (gunicorn {args.web_workers} x {args.threads} threads each), {args.clients} client threads, {args.rounds} rounds of {args.seconds:.0f} s per phase, alternating; medians",
        ),
    ]
    for label, medians in ((a, first), (b, second)):
        rounds = ", ".join(f"{x:,.0f}" for x in results[label]["track"])
        rows.append(
            (
                f"/v1/track {label}",
                f"{medians['track']:,.0f} requests/s  (p50 {medians['track_p50'] * 1000:.1f} ms; rounds: {rounds})",
            )
        )
    rows.append((f"ratio track {b} / {a}", f"{second['track'] / first['track']:.3f}"))
    for label, medians in ((a, first), (b, second)):
        rounds = ", ".join(f"{x:,.0f}" for x in results[label]["batch"])
        rows.append((f"/v1/batch {label}", f"{medians['batch']:,.0f} events/s  (rounds: {rounds})"))
    rows.append((f"ratio batch {b} / {a}", f"{second['batch'] / first['batch']:.3f}"))
    return rows


def limiter_cost(args: argparse.Namespace, key: str, traffic: Traffic) -> None:
    """Requests/s and events/s with the ingestion rate limiter on and off (same run)."""
    results = alternate(
        args,
        key,
        traffic,
        {
            "limiter on": ({}, harness.ROOT),
            "limiter off": ({"INGEST_RATE_LIMIT": "off"}, harness.ROOT),
        },
    )
    on_us, off_us = _limiter_call_cost()
    harness.report(
        "ingest: rate limiter cost",
        [
            *_alternation_rows(args, results),
            (
                "key lookup, limiter on",
                f"{on_us:.0f} µs per request (GET + limit script, one round trip; in-process, median of 5 × 2,000)",
            ),
            ("key lookup, limiter off", f"{off_us:.0f} µs per request (GET)"),
            ("ratio lookup on / off", f"{on_us / off_us:.2f}"),
            ("load average at the end", f"{os.getloadavg()[0]:.2f}"),
        ],
    )


def code_cost(args: argparse.Namespace, key: str, traffic: Traffic) -> None:
    """This checkout's code against another's (--against), the same phases alternating."""
    other = Path(args.against).resolve()
    results = alternate(
        args,
        key,
        traffic,
        {f"before ({other.name})": ({}, other), f"after ({harness.ROOT.name})": ({}, harness.ROOT)},
    )
    rows = _alternation_rows(args, results)
    harness.report(
        "ingest: this checkout against another",
        [*rows, ("load average at the end", f"{os.getloadavg()[0]:.2f}")],
    )


def _limiter_call_cost(calls: int = 2_000) -> tuple[float, float]:
    """What the limiter adds to a request's Redis work, without HTTP: the key-cache GET with
    the sliding-window script (limiter on) against the GET alone (off), alternating."""
    import statistics

    from django.conf import settings

    from workspaces import throttling

    item = throttling.rate(settings.INGEST_RATE_LIMIT)
    client = throttling.client()
    on, off = [], []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(calls):
            throttling.hit_and_get(item, ("ingest", "bench"), "bench-key")
        on.append((time.perf_counter() - started) / calls * 1e6)
        started = time.perf_counter()
        for _ in range(calls):
            client.get("bench-key")
        off.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(on), statistics.median(off)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench ingest")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="gthread threads per web worker")
    parser.add_argument("--celery", type=int, default=1, help="Celery worker concurrency")
    parser.add_argument(
        "--defer-worker",
        action="store_true",
        help="no Celery worker during the HTTP phases (tasks queue up); then time the "
        "worker draining the whole backlog — separates ingestion from pipeline cost",
    )
    parser.add_argument(
        "--limiter",
        action="store_true",
        help="only measure the per-write-key rate limiter: on vs off, alternating",
    )
    parser.add_argument(
        "--against",
        metavar="CHECKOUT",
        help="only compare this checkout's code with another checkout's (e.g. a worktree of "
        "main before a change): the limiter's phases, alternating between the two",
    )
    parser.add_argument("--rounds", type=int, default=3, help="with --limiter / --against")
    parser.add_argument("--redis-db", type=int, default=REDIS_DB, help="with --limiter / --against")
    parser.add_argument("--port", type=int, default=PORT, help="first server's port")
    args = parser.parse_args(argv)
    note = args.machine = harness.machine_note()
    if args.limiter or args.against:  # its own database: may run next to the full scenario
        harness.setup_django(database=f"{DATABASE}_ab", redis_db=args.redis_db)
    else:
        harness.setup_django(database=DATABASE, redis_db=REDIS_DB)
    workspace_id, key = harness.workspace("Bench ingest")
    traffic = Traffic(seed=42)
    if args.limiter or args.against:
        (code_cost if args.against else limiter_cost)(args, key, traffic)
        return
    # Enough bodies for ~2x the target rate; a phase ends early only if the clients outrun it.
    batch_count = int(args.seconds * 120)
    print(
        f"building {batch_count} batches of {BATCH} and {int(args.seconds * 1500)} single calls …"
    )
    warmup = traffic.identify_bodies() + [traffic.batch_body()[0] for _ in range(50)]
    batches = [traffic.batch_body() for _ in range(batch_count)]
    singles = [traffic.track_body() for _ in range(int(args.seconds * 1500))]

    with harness.server(port=args.port, workers=args.web_workers, threads=args.threads) as url:
        worker = contextlib.ExitStack()
        if not args.defer_worker:
            worker.enter_context(harness.worker(concurrency=args.celery))
        with worker:
            _phase(url, key, "/v1/batch", warmup, args.clients, 60)
            if not args.defer_worker:
                harness.wait_queue_empty()
            # The database is minutes old: give the planner the statistics autovacuum would
            # have gathered by now on a database in service.
            harness.analyze()
            cpu_before = harness.cpu_by_process()
            batch_load, batch_elapsed = _phase(
                url, key, "/v1/batch", [b for b, _ in batches], args.clients, args.seconds
            )
            batch_queue = harness.queue_length()
            drain_batch = 0.0 if args.defer_worker else harness.wait_queue_empty()
            batch_cpu = harness.cpu_report(
                cpu_before, harness.cpu_by_process(), batch_load.stored // 1000, "1,000 events"
            )
            cpu_before = harness.cpu_by_process()
            single_load, single_elapsed = _phase(
                url, key, "/v1/track", singles, args.clients, args.seconds
            )
            single_queue = harness.queue_length()
            drain_single = 0.0 if args.defer_worker else harness.wait_queue_empty()
            single_cpu = harness.cpu_report(
                cpu_before, harness.cpu_by_process(), len(single_load.latencies), "call"
            )
        backlog_seconds = 0.0
        if args.defer_worker:
            # The pipeline on its own: a worker starts on the whole backlog and is timed.
            with harness.worker(concurrency=args.celery):
                backlog_seconds = harness.wait_queue_empty(timeout=900)

    sent = [m for _, messages in batches[: len(batch_load.latencies)] for m in messages]
    copy_rate = copy_baseline(workspace_id, sent)
    insert_rate = insert_baseline(
        workspace_id,
        [json.loads(body) for body in singles],
        args.clients,
        min(args.seconds, 10),
    )
    events_rate = batch_load.stored / batch_elapsed
    requests_rate = len(single_load.latencies) / single_elapsed
    ms = 1000
    harness.report(
        "ingest",
        [
            ("machine", note),
            (
                "setup",
                f"gunicorn {args.web_workers} worker(s) x {args.threads} thread(s), celery x{args.celery}, {args.clients} client threads, {args.seconds:.0f} s per phase",
            ),
            (
                "/v1/batch (100/batch)",
                f"{events_rate:,.0f} events/s  ({len(batch_load.latencies)} batches, {batch_load.stored:,} events stored)",
            ),
            (
                "  batch latency",
                f"p50 {harness.percentile(batch_load.latencies, 0.5) * ms:.0f} ms, p99 {harness.percentile(batch_load.latencies, 0.99) * ms:.0f} ms",
            ),
            (
                "  pipeline after batches",
                f"{batch_queue} process_events tasks queued at the end, drained in {drain_batch:.1f} s",
            ),
            ("  where the CPU went", batch_cpu),
            (
                "/v1/track (single)",
                f"{requests_rate:,.0f} requests/s  ({len(single_load.latencies)} calls)",
            ),
            (
                "  track latency",
                f"p50 {harness.percentile(single_load.latencies, 0.5) * ms:.1f} ms, p99 {harness.percentile(single_load.latencies, 0.99) * ms:.1f} ms",
            ),
            (
                "  pipeline after singles",
                f"{single_queue} tasks queued at the end, drained in {drain_single:.1f} s",
            ),
            ("  where the CPU went", single_cpu),
            *(
                [
                    (
                        "pipeline alone (deferred)",
                        f"worker drained {single_queue:,} process_events tasks "
                        f"({batch_load.stored + single_load.stored:,} events) in "
                        f"{backlog_seconds:.1f} s = "
                        f"{(batch_load.stored + single_load.stored) / max(backlog_seconds, 0.001):,.0f} events/s",
                    )
                ]
                if args.defer_worker
                else []
            ),
            ("baseline: COPY same rows", f"{copy_rate:,.0f} events/s"),
            ("ratio HTTP batch / COPY", f"{events_rate / copy_rate:.2f}"),
            (
                "baseline: INSERT per row",
                f"{insert_rate:,.0f} rows/s  (the single calls' rows, one transaction each, "
                f"{args.clients} connections)",
            ),
            ("ratio HTTP single / INSERT", f"{requests_rate / insert_rate:.2f}"),
        ],
    )
