"""Scenario `rls`: what Row Level Security (TENANT_RLS, docs/security.md) costs.

    .venv/bin/python -m bench rls [--seconds 15] [--rounds 2] [--clients 4]
                                  [--contacts 100000] [--events 1000000]

1. Fresh database `tendril_bench_rls`, two workspaces with the same amount of generated
   data (bench.generator, COPY as the owner), so the policy has another tenant's rows to
   keep out.
2. Ingestion: gunicorn (2 gthread workers x 2 threads, as bench.ingest) takes /v1/batch
   (100 messages a request) from --clients threads for --seconds, once with TENANT_RLS off
   and once on, --rounds times, off and on interleaved so that the shared machine's load
   drifts over both alike. No Celery worker: the request path is what is measured (the
   queued pipeline tasks are purged). Prints events/s each way (the sum over rounds) and
   the ratio on/off.
3. Segment count: bench.segment's question (plan in pro/enterprise AND seats >= 10 AND
   "Order Completed" >= 3 times in 30 days) counted by the compiled filter in this process,
   as the owner with RLS off (the baseline) and as the application role inside the
   workspace's scope (the policy on every table it reads). Median of --samples runs each,
   interleaved; both must give the same count.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

from bench import harness
from bench.ingest import Load, Traffic
from bench.segment import QUESTION

DATABASE = "tendril_bench_rls"
PORT = 18190
REDIS_DB = 13
SEED = 5


def prepare(contacts: int, events: int) -> tuple[int, str]:
    """Two workspaces with the same data; returns the measured one's id and write key."""
    from bench.generator import generate
    from contacts.models import AttributeDefinition

    measured: list[tuple[int, str]] = []
    for name in ("Bench RLS", "Bench RLS neighbour"):
        workspace_id, key = harness.workspace(name)
        measured.append((workspace_id, key))
        for field, type_ in (("plan", "string"), ("seats", "number")):
            AttributeDefinition.objects.create(workspace_id=workspace_id, key=field, type=type_)
        print(f"  {name}: {contacts:,} contacts, {events:,} events (COPY) …", flush=True)
        generate(workspace_id, contacts=contacts, events=events, days=90, seed=SEED)
    harness.analyze("contacts_contact", "contacts_event", vacuum=True)
    return measured[0]


def ingest_figures(key: str, *, seconds: float, rounds: int, clients: int) -> tuple[float, float]:
    """events/s with TENANT_RLS off and on (interleaved rounds, totals over rounds)."""
    from config.celery_app import app

    traffic = Traffic(seed=SEED)
    per_phase = int(seconds * 150)  # ~2x what the server takes: phases end on time
    stored = {"false": 0, "true": 0}
    elapsed = {"false": 0.0, "true": 0.0}
    for round_ in range(rounds):
        for rls in ("false", "true"):
            harness.ENV["TENANT_RLS"] = rls
            with harness.server(port=PORT, workers=2, threads=2) as url:
                warm = traffic.identify_bodies()[:200] + [
                    traffic.batch_body()[0] for _ in range(20)
                ]
                Load(url, key, "/v1/batch", warm, clients).run(30)
                bodies = [traffic.batch_body()[0] for _ in range(per_phase)]
                load = Load(url, key, "/v1/batch", bodies, clients)
                took = load.run(seconds)
                if load.errors:
                    raise SystemExit(
                        f"RLS {rls}: {len(load.errors)} errors, first {load.errors[0]}"
                    )
            stored[rls] += load.stored
            elapsed[rls] += took
            print(
                f"  round {round_ + 1}, RLS {'on ' if rls == 'true' else 'off'}: "
                f"{load.stored / took:,.0f} events/s",
                flush=True,
            )
            app.control.purge()
    harness.ENV.pop("TENANT_RLS")
    return stored["false"] / elapsed["false"], stored["true"] / elapsed["true"]


def _as_app_role(on: bool) -> None:
    """This process's connection: the application role under the policies (on), or the
    owner, which RLS does not apply to (off). The setting is read when a connection opens."""
    from django.db import connection

    connection.close()
    connection.tenant_rls = on  # type: ignore[attr-defined]


def segment_figures(workspace_id: int, *, samples: int) -> tuple[int, float, float]:
    from django.utils import timezone

    from segments.filters import filter_count
    from workspaces.models import Workspace
    from workspaces.scoping import workspace_scope

    workspace = Workspace.objects.get(pk=workspace_id)
    now = timezone.now()

    def count() -> int:
        with workspace_scope(workspace):
            return filter_count(workspace=workspace, tree=QUESTION, now=now)

    times: dict[bool, list[float]] = {False: [], True: []}
    counts: dict[bool, Any] = {}
    for rls in (False, True):  # warm both
        _as_app_role(rls)
        counts[rls] = count()
    if counts[False] != counts[True]:
        raise SystemExit(f"RLS changed the count: {counts[True]} vs {counts[False]}")
    for _ in range(samples):
        for rls in (False, True):
            _as_app_role(rls)
            count()  # the connection's first statement sets role and scope: not timed
            started = time.perf_counter()
            count()
            times[rls].append(time.perf_counter() - started)
    _as_app_role(False)
    return counts[False], statistics.median(times[False]), statistics.median(times[True])


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench rls")
    parser.add_argument("--seconds", type=float, default=15, help="per ingestion phase")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--contacts", type=int, default=100_000, help="per workspace")
    parser.add_argument("--events", type=int, default=1_000_000, help="per workspace")
    parser.add_argument("--samples", type=int, default=7, help="segment counts per mode")
    args = parser.parse_args(argv)
    note = harness.machine_note()
    harness.setup_django(database=DATABASE, redis_db=REDIS_DB)
    print("generating two workspaces …", flush=True)
    workspace_id, key = prepare(args.contacts, args.events)
    print("ingestion, RLS off and on …", flush=True)
    off_rate, on_rate = ingest_figures(
        key, seconds=args.seconds, rounds=args.rounds, clients=args.clients
    )
    print("segment count, RLS off and on …", flush=True)
    matching, off_s, on_s = segment_figures(workspace_id, samples=args.samples)
    load_end = f"load average {os.getloadavg()[0]:.2f} at end"
    harness.report(
        "rls",
        [
            ("machine", f"{note}; {load_end}"),
            (
                "data",
                f"2 workspaces x {args.contacts:,} contacts, {args.events:,} events each",
            ),
            (
                "setup",
                f"gunicorn 2 workers x 2 threads, {args.clients} client threads, "
                f"{args.rounds} x {args.seconds:.0f} s per mode, interleaved",
            ),
            ("/v1/batch, RLS off (baseline)", f"{off_rate:,.0f} events/s"),
            ("/v1/batch, RLS on", f"{on_rate:,.0f} events/s  ratio {on_rate / off_rate:.2f}x"),
            (
                "segment count, RLS off (baseline)",
                f"{off_s * 1000:.0f} ms  ({matching:,} contacts)",
            ),
            ("segment count, RLS on", f"{on_s * 1000:.0f} ms  ratio {on_s / off_s:.2f}x"),
        ],
    )
