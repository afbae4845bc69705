"""Scenario `noisy`: a noisy neighbour — one workspace floods, another's latency holds (#19).

    .venv/bin/python -m bench noisy [--samples 40] [--flood-clients 4] [--users 5000]
                                    [--profile py-spy]

Fresh database `tendril_bench_noisy` (BENCH_NAMESPACE suffixes it). Two workspaces:

- **noisy**, the realistic pipeline of issue #19: 50 segments (event counts, windows, fields,
  tags), a scoring model (bench.scoring's rules) and 20 active workflows triggered by its
  events (trigger → wait 1 hour → tag). Its users are identified first (bench.ingest's
  traffic: pages, product views, carts, orders, identifies).
- **quiet**: one segment "did Demo Requested" and one workflow "Demo Requested → wait 3 s
  → tag". A prober posts /v1/track "Demo Requested" for one of its contacts every 0.25 s and
  polls until the contact's membership row exists; the wait's lag (step ran − due, the
  engine's `lag_ms` on the resumed wait) is read from the step log.

Processes as deployed per queue (CELERY_TASK_ROUTES): gunicorn (2 workers × 2 threads),
Celery workers `pipeline` (prefork ×2), `steps`, `default` (beat's ticks and sweeps) and
`sends,bulk`, and celery beat. Phases, same run:

1. **no flood**: the quiet workspace alone — membership p50/p95, wait lag p50/p95;
2. **flood**: `--flood-clients` threads post the noisy workspace's /v1/batch (100 events
   each) at full speed for the whole phase; the same quiet measurements, and the ratio to
   phase 1. Also: the noisy workspace's events accepted/s, and events/s through its
   pipeline (accepted − still on record as pending work at the end), with the backlog left
   on its list — "accepted" and "sustained" are different figures;
3. where the CPU went during the flood (per process group); with `--profile py-spy`, the
   pipeline worker's hottest functions (py-spy must be on PATH: `pip install py-spy`).

Targets (issue #19): the quiet p95 stays under 0.5 s, its waits are not delayed.
Timings on a shared 2-core machine are noisy; the load average is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import threading
import time
from typing import Any

from bench import harness

DATABASE = "tendril_bench_noisy"
PORT = 18190
REDIS_DB = 9
QUIET_WAIT_SECONDS = 3
TRACKED = ["Product Viewed", "Added to Cart", "Order Completed"]


# --- set-up ------------------------------------------------------------------------------


def _segments_of_noisy() -> list[dict[str, Any]]:
    """50 filters of the kinds marketers write, over what the flood sends."""
    filters: list[dict[str, Any]] = []
    for i in range(50):
        event = TRACKED[i % 3]
        kind = i % 5
        if kind == 0:
            filters.append({"event": event, "count": {"op": "gte", "value": 1 + i % 4}})
        elif kind == 1:
            filters.append({"event": event, "within_days": 7 + i})
        elif kind == 2:
            filters.append(
                {"all": [{"field": "plan", "op": "eq", "value": "pro"}, {"event": event}]}
            )
        elif kind == 3:
            filters.append(
                {
                    "event": "Order Completed",
                    "where": [{"property": "revenue", "op": "gt", "value": 10 * i}],
                }
            )
        else:
            filters.append(
                {"any": [{"tag": f"t{i}"}, {"field": "plan", "op": "eq", "value": "pro"}]}
            )
    return filters


def _wait_tag_graph(trigger: str, wait: dict[str, int], tag: str) -> dict[str, Any]:
    return {
        "nodes": [
            {"id": "start", "type": "trigger.event", "config": {"event": trigger}},
            {"id": "wait", "type": "wait.duration", "config": wait},
            {"id": "tag", "type": "action.tag_add", "config": {"tags": [tag]}},
        ],
        "edges": [
            {"source": "start", "target": "wait"},
            {"source": "wait", "target": "tag"},
        ],
    }


def setup_noisy(workspace: Any) -> None:
    from bench.scoring import _scoring_model
    from bench.workflow import make_workflow
    from segments.services import segment_create

    _scoring_model(workspace)
    for i, filter_ in enumerate(_segments_of_noisy()):
        segment_create(workspace=workspace, name=f"Noisy {i}", filter=filter_)
    for i in range(20):
        make_workflow(
            workspace, f"Noisy flow {i}", _wait_tag_graph(TRACKED[i % 3], {"hours": 1}, f"w{i}")
        )


def setup_quiet(workspace: Any, contacts: int) -> tuple[int, int, list[tuple[str, int]]]:
    from bench.workflow import make_workflow
    from contacts.models import Contact
    from segments.services import segment_create

    created = Contact.objects.bulk_create(
        [
            Contact(workspace=workspace, external_id=f"quiet-{i}", email=f"q{i}@quiet.test")
            for i in range(contacts)
        ]
    )
    segment = segment_create(
        workspace=workspace, name="Demo requested", filter={"event": "Demo Requested"}
    )
    workflow = make_workflow(
        workspace,
        "Demo follow-up",
        _wait_tag_graph("Demo Requested", {"seconds": QUIET_WAIT_SECONDS}, "followed-up"),
    )
    return segment.pk, workflow.pk, [(c.external_id, c.pk) for c in created]


# --- the quiet workspace's probe ------------------------------------------------------------


def probe_phase(prober: Any, contacts: list[tuple[str, int]], interval: float) -> list[float]:
    """bench.segment's Prober (POST "Demo Requested", poll the membership row), one contact
    every `interval` seconds."""
    latencies = []
    for external_id, contact_id in contacts:
        started = time.perf_counter()
        latencies.append(prober.sample(external_id, contact_id))
        time.sleep(max(0.0, interval - (time.perf_counter() - started)))
    return latencies


def wait_lags(workflow_id: int, contact_ids: list[int], timeout: float = 180) -> list[float]:
    """Seconds late each quiet wait ended (the engine's lag_ms on the resumed wait)."""
    from workflows.models import StepLog

    logs = StepLog.objects.filter(
        workflow_id=workflow_id, contact_id__in=contact_ids, node_id="wait", outcome="resumed"
    )
    deadline = time.monotonic() + timeout
    while logs.count() < len(contact_ids) and time.monotonic() < deadline:
        time.sleep(0.5)
    return [
        (detail or {}).get("lag_ms", 0) / 1000 for detail in logs.values_list("detail", flat=True)
    ]


# --- the flood ------------------------------------------------------------------------------


def pending_events(workspace_id: int) -> int:
    """Events accepted but not yet through the pipeline (PendingProcessing on record)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(cardinality(event_ids)), 0) FROM contacts_pendingprocessing "
            "WHERE workspace_id = %s",
            [workspace_id],
        )
        return int(cursor.fetchone()[0])


class Flood:
    """bench.ingest's Load posting the noisy workspace's batches until stopped."""

    def __init__(self, url: str, key: str, clients: int, bodies: list[bytes]):
        from bench.ingest import Load

        self.load = Load(url, key, "/v1/batch", bodies, clients)
        self.thread = threading.Thread(target=self.load.run, args=(900.0,), daemon=True)

    def __enter__(self) -> Flood:
        self.started = time.perf_counter()
        self.thread.start()
        return self

    def stop(self) -> float:
        with self.load.lock:
            self.load.next = len(self.load.bodies)
        self.thread.join()
        return time.perf_counter() - self.started

    def __exit__(self, *exc: object) -> None:
        if self.thread.is_alive():
            self.stop()


@contextlib.contextmanager
def py_spy(pid: int | None, seconds: int, out: str) -> Any:
    """py-spy top functions of the pipeline worker while the block runs (if installed)."""
    exe = shutil.which("py-spy")
    if not exe or pid is None:
        yield None
        return
    proc = subprocess.Popen(  # noqa: S603 — a local profiler on our own process
        [exe, "record", "--pid", str(pid), "--subprocesses", "--duration", str(seconds),
         "--rate", "50", "--format", "raw", "--output", out, "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield proc
    finally:
        proc.wait(timeout=seconds + 60)


def top_functions(raw: str, limit: int = 15) -> list[tuple[str, str]]:
    """Self and inclusive sample shares per function from py-spy's collapsed stacks."""
    self_counts: dict[str, int] = {}
    incl: dict[str, int] = {}
    total = 0
    with open(raw) as stacks:
        for line in stacks:
            stack, _, count = line.rstrip().rpartition(" ")
            if not count.isdigit():
                continue
            frames = stack.split(";")
            n = int(count)
            total += n
            leaf = frames[-1]
            self_counts[leaf] = self_counts.get(leaf, 0) + n
            for frame in set(frames):
                incl[frame] = incl.get(frame, 0) + n
    rows = []
    for frame, n in sorted(incl.items(), key=lambda item: -item[1]):
        if any(skip in frame for skip in ("<module>", "billiard", "celery/", "kombu/")):
            continue
        rows.append(
            (frame[:110], f"{n / total:.0%} incl, {self_counts.get(frame, 0) / total:.0%} self")
        )
        if len(rows) >= limit:
            break
    return rows


def _p(values: list[float]) -> str:
    return (
        f"p50 {harness.percentile(values, 0.5) * 1000:,.0f} ms / "
        f"p95 {harness.percentile(values, 0.95) * 1000:,.0f} ms (n={len(values)})"
    )


def _ratio(loaded: list[float], idle: list[float], q: float) -> str:
    base = harness.percentile(idle, q)
    return f"{harness.percentile(loaded, q) / base:.2f}" if base else "—"


def _pipeline_pid() -> int | None:
    """The main process of the `pipeline` worker (py-spy follows its pool children)."""
    out = subprocess.run(
        ["pgrep", "-f", "celery.*-n noisy-pipeline"], capture_output=True, text=True, check=False
    ).stdout.split()
    return int(out[0]) if out else None


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench noisy")
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--flood-clients", type=int, default=4)
    parser.add_argument("--users", type=int, default=5_000, help="the noisy workspace's users")
    parser.add_argument("--profile", choices=["none", "py-spy"], default="none")
    args = parser.parse_args(argv)
    note = harness.machine_note()
    harness.setup_django(database=DATABASE, redis_db=REDIS_DB)
    from bench import ingest
    from workspaces.models import Workspace

    ingest.USERS = args.users
    noisy_id, noisy_key = harness.workspace("Noisy")
    quiet_id, quiet_key = harness.workspace("Quiet")
    setup_noisy(Workspace.objects.get(pk=noisy_id))
    segment_id, workflow_id, quiet = setup_quiet(
        Workspace.objects.get(pk=quiet_id), args.samples * 2
    )
    traffic = ingest.Traffic(seed=19)
    flood_bodies = [traffic.batch_body()[0] for _ in range(6000)]
    rows: list[tuple[str, str]] = [("machine", note)]
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(harness.server(port=PORT, workers=2, threads=2))
        for name, queues, concurrency in (
            ("noisy-pipeline", "pipeline", 2),
            ("noisy-steps", "steps", 1),
            ("noisy-default", "celery", 1),
            ("noisy-other", "sends,bulk", 1),
        ):
            stack.enter_context(harness.worker(concurrency=concurrency, queues=queues, name=name))
        stack.enter_context(harness.beat(name="noisy"))
        # The noisy workspace's users, identified (contacts exist, traits set), then quiet.
        warm = ingest.Load(url, noisy_key, "/v1/batch", traffic.identify_bodies(), 4)
        warm.run(600)
        harness.wait_queue_empty(timeout=600)
        harness.analyze()
        from bench.segment import Prober

        prober = Prober(url, quiet_key, quiet_id, segment_id)

        # 1. no flood
        idle_contacts = quiet[: args.samples]
        idle = probe_phase(prober, idle_contacts, 0.25)
        idle_lags = wait_lags(workflow_id, [pk for _, pk in idle_contacts])
        harness.wait_queue_empty(timeout=300)

        # 2. flood
        flood_contacts = quiet[args.samples :]
        pending_before = pending_events(noisy_id)
        cpu_before = harness.cpu_by_process()
        spy_out = str(harness.ROOT / ".data" / "noisy-py-spy.txt")
        with Flood(url, noisy_key, args.flood_clients, flood_bodies) as flood:
            time.sleep(5)  # the flood reaches its pace and builds a backlog
            spy_seconds = int(args.samples * 0.3) + 5
            with py_spy(
                _pipeline_pid() if args.profile == "py-spy" else None, spy_seconds, spy_out
            ):
                loaded = probe_phase(prober, flood_contacts, 0.25)
                loaded_lags = wait_lags(workflow_id, [pk for _, pk in flood_contacts])
            elapsed = flood.stop()
        cpu_after = harness.cpu_by_process()
        accepted = flood.load.stored
        backlog = pending_events(noisy_id) - pending_before
        through = accepted - backlog
        from config.fair_queue import fair_waiting
        from contacts.tasks import process_events

        waiting_items = fair_waiting(process_events).get(noisy_id, 0)
        drain = harness.wait_queue_empty(timeout=900)

    rows += [
        ("quiet: event → membership, no flood", _p(idle)),
        ("quiet: event → membership, flood", _p(loaded)),
        ("  ratio flood / no flood (p50, p95)", f"{_ratio(loaded, idle, 0.5)}, {_ratio(loaded, idle, 0.95)}  (target: p95 < 500 ms)"),
        ("quiet: wait lag, no flood", _p(idle_lags)),
        ("quiet: wait lag, flood", _p(loaded_lags)),
        ("  ratio flood / no flood (p50, p95)", f"{_ratio(loaded_lags, idle_lags, 0.5)}, {_ratio(loaded_lags, idle_lags, 0.95)}"),
        ("noisy: accepted (HTTP 200)", f"{accepted / elapsed:,.0f} events/s ({args.flood_clients} clients × batches of {ingest.BATCH}, {elapsed:.0f} s; {len(flood.load.errors)} errors)"),
        ("noisy: through the pipeline meanwhile", f"{through / elapsed:,.0f} events/s (50 segments, scoring model, 20 workflows)"),
        ("noisy: backlog at the flood's end", f"{backlog:,} events ({waiting_items:,} items on its list), drained in {drain:.0f} s after"),
        ("flood: " + harness.cpu_report(cpu_before, cpu_after, max(accepted // 1000, 1), "1,000 events accepted"), ""),
    ]  # fmt: skip
    harness.report("noisy neighbour: the quiet workspace while another floods", rows)
    if args.profile == "py-spy" and os.path.exists(spy_out):
        harness.report(
            "pipeline worker, py-spy during the flood (share of samples)", top_functions(spy_out)
        )


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
