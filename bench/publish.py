"""Scenario `publish`: config/fast_publish.py against Celery's own `apply_async` (issue #14).

    .venv/bin/python -m bench publish [--count 5000] [--rounds 5]

Every /v1/ request hands one `contacts.process_events` message to the broker after commit.
This measures that hand-off alone, in this process, against the real Redis broker:

- `fast_publish`: Celery builds the message, one LPUSH with a long-lived Redis client
  writes kombu's envelope (what ingestion uses);
- `apply_async, pooled producer`: `task.apply_async(..., producer=p)` with a producer held
  from `app.producer_pool` (the fair alternative: no connection set up per call);
- `apply_async`: as a task is usually sent (a producer acquired from the pool per call).

Each way publishes --count messages of a single call's shape (one event id), --rounds
times, the three interleaved so that the shared machine's load drifts over all alike; the
queue is purged between rounds. Prints CPU µs and wall µs per publish (the median round)
and the ratio of each to fast_publish.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

from bench import harness

DATABASE = "tendril_bench_publish"
REDIS_DB = 12


def ways() -> dict[str, Callable[[int], None]]:
    from config.celery_app import app
    from config.fast_publish import publish
    from contacts.tasks import process_events

    def args(i: int) -> tuple[object, ...]:
        return (1, [i], {}, i)

    def fast(count: int) -> None:
        for i in range(count):
            publish(process_events, args(i), argsrepr=f"(1, <1 events>, <0 contacts>, {i})")

    def pooled(count: int) -> None:
        with app.producer_pool.acquire(block=True) as producer:
            for i in range(count):
                process_events.apply_async(
                    args(i), argsrepr=f"(1, <1 events>, <0 contacts>, {i})", producer=producer
                )

    def plain(count: int) -> None:
        for i in range(count):
            process_events.apply_async(args(i), argsrepr=f"(1, <1 events>, <0 contacts>, {i})")

    return {"fast_publish": fast, "apply_async, pooled producer": pooled, "apply_async": plain}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench publish")
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args(argv)

    harness.setup_django(database=DATABASE, redis_db=REDIS_DB)
    from config.celery_app import app

    note = harness.machine_note()
    candidates = ways()
    for send in candidates.values():  # warm up: connections, pools, imports
        send(200)
    app.control.purge()
    cpu: dict[str, list[float]] = {name: [] for name in candidates}
    wall: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(options.rounds):
        for name, send in candidates.items():
            cpu_started, wall_started = time.process_time(), time.perf_counter()
            send(options.count)
            cpu[name].append((time.process_time() - cpu_started) / options.count * 1e6)
            wall[name].append((time.perf_counter() - wall_started) / options.count * 1e6)
            assert harness.queue_length() == options.count, "every message reached the queue"
            app.control.purge()

    base_cpu = statistics.median(cpu["fast_publish"])
    base_wall = statistics.median(wall["fast_publish"])
    rows = [("machine", note), ("load average at end", f"{os.getloadavg()[0]:.2f}")]
    for name in candidates:
        c, w = statistics.median(cpu[name]), statistics.median(wall[name])
        rows.append(
            (
                name,
                f"{c:6.1f} µs CPU ({c / base_cpu:.2f}x), {w:6.1f} µs wall ({w / base_wall:.2f}x)"
                " per publish",
            )
        )
    harness.report(
        f"publish — {options.count:,} messages x {options.rounds} rounds, median round", rows
    )
