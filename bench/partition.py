"""Scenario `partition`: the month-partitioned event table against the unpartitioned one.

    .venv/bin/python -m bench partition [--contacts 1000000] [--events 10000000] [--days 365]
                                        [--seconds 10] [--rounds 3] [--clients 4]

1. Fresh database `tendril_bench_partition`; the event table put back in the shape it had
   before partitioning (bigint identity primary key, same secondary indexes); contacts and
   events written by bench.generator (COPY) over --days days.
2. The conversion an existing installation runs (`events_partition_convert`'s steps, nothing
   writing meanwhile): its duration and rows/s. Afterwards both shapes hold the same rows —
   `contacts_event` (partitioned) and `contacts_event_unpartitioned`.
3. A 7-day-window segment count (`{"event": "Order Completed", "within_days": 7}`, compiled by
   segments.filters) on each table: median of 5 warm runs, the ratio unpartitioned /
   partitioned, and the partitions the partitioned plan reads.
4. Ingest: gunicorn (2 gthread workers × 2 threads) and --clients threads posting /v1/batch
   (100 messages, bench.ingest's traffic) for --seconds per phase, alternating the live table
   between the two shapes (renamed in and out between phases) for --rounds rounds, so load
   from the rest of the machine falls on both alike. No Celery worker: the figure is events
   accepted (stored and their pipeline work recorded), not run through the pipeline.
5. Disk: each shape's size with its indexes.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from bench import harness

DATABASE = "tendril_bench_partition"
PORT = 18190
REDIS_DB = 7
SEED = 19
WINDOW = {"event": "Order Completed", "within_days": 7}
PARTITIONED, UNPARTITIONED = "partitioned", "unpartitioned"
PARKED = {PARTITIONED: "contacts_event_partitioned", UNPARTITIONED: "contacts_event_unpartitioned"}


def _swap_in(shape: str, live: str) -> str:
    """Make `shape` the live event table (the other parked under its name); the new live."""
    if shape == live:
        return live
    from django.db import connection, transaction

    from contacts.services.event_partitions import event_tables_swap

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE contacts_event IN ACCESS EXCLUSIVE MODE")
        event_tables_swap(cursor, incoming=PARKED[shape], retired=PARKED[live])
    return shape


def prepare(args: argparse.Namespace) -> int:
    """The workspace, with the data in an unpartitioned table; its id."""
    from django.db import connection, transaction

    from bench.generator import generate
    from contacts.services.event_partitions import event_tables_swap, unpartitioned_table_create

    with transaction.atomic(), connection.cursor() as cursor:
        unpartitioned_table_create(cursor, name="contacts_event_plain")
        event_tables_swap(cursor, incoming="contacts_event_plain", retired="contacts_event_fresh")
        cursor.execute("DROP TABLE contacts_event_fresh")
    workspace_id, _ = harness.workspace("Bench partition")
    print(f"generating {args.contacts:,} contacts, {args.events:,} events (COPY) …", flush=True)
    generated = generate(
        workspace_id, contacts=args.contacts, events=args.events, days=args.days, seed=SEED
    )
    print(f"  {generated.events:,} events in {generated.seconds:.0f} s", flush=True)
    harness.analyze("contacts_contact", "contacts_event", vacuum=True)
    return workspace_id


def convert() -> tuple[float, int]:
    from contacts.services.event_partitions import EventTableConversion

    lines: list[str] = []

    def progress(line: str) -> None:
        lines.append(line)
        if len(lines) % 20 == 1 or not line.startswith("copied"):
            print(f"  {line}", flush=True)

    started = time.perf_counter()
    copied = EventTableConversion(batch=100_000, progress=progress).run()
    return time.perf_counter() - started, copied


def window_count(workspace_id: int) -> list[tuple[str, str]]:
    from django.db import connection
    from django.utils import timezone

    from segments.filters import compile_filter_sql
    from workspaces.models import Workspace

    workspace = Workspace.objects.get(pk=workspace_id)
    sql, params = compile_filter_sql(
        workspace=workspace, tree=WINDOW, now=timezone.now()
    ).select_ids()
    statement = f"SELECT count(*) FROM ({sql}) matched"

    def count(table: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute(statement.replace("FROM contacts_event e", f"FROM {table} e"), params)
            return int(cursor.fetchone()[0])

    seconds: dict[str, float] = {}
    counts: dict[str, int] = {}
    for label, table in ((PARTITIONED, "contacts_event"), (UNPARTITIONED, PARKED[UNPARTITIONED])):
        count(table)  # warm
        seconds[label], counts[label] = harness.timed(lambda table=table: count(table), runs=5)
    if counts[PARTITIONED] != counts[UNPARTITIONED]:
        raise SystemExit(f"the shapes disagree: {counts}")
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + statement, params)
        plan = cursor.fetchone()[0]
    read = sorted(_relations(plan[0]["Plan"]))
    return [
        ("7-day window count", f"{counts[PARTITIONED]:,} contacts did {WINDOW['event']!r}"),
        ("  partitioned", f"{seconds[PARTITIONED] * 1000:,.1f} ms (median of 5, warm)"),
        ("  unpartitioned", f"{seconds[UNPARTITIONED] * 1000:,.1f} ms"),
        (
            "  ratio unpartitioned / partitioned",
            f"{seconds[UNPARTITIONED] / seconds[PARTITIONED]:.2f}",
        ),
        ("  partitions read", ", ".join(read)),
    ]


def _relations(node: dict[str, Any]) -> set[str]:
    found = (
        {node["Relation Name"]}
        if node.get("Relation Name", "").startswith("contacts_event")
        else set()
    )
    for child in node.get("Plans", []):
        found |= _relations(child)
    return found


def ingest(args: argparse.Namespace) -> list[tuple[str, str]]:
    from bench.ingest import Traffic, _phase

    # After the conversion the partitioned table is live and the old one parked as
    # contacts_event_unpartitioned; the partitioned one is parked under its own name when out.
    _, key = harness.workspace("Bench partition ingest")
    traffic = Traffic(seed=SEED)
    batches = [traffic.batch_body()[0] for _ in range(int(args.seconds * 150 * 2 * args.rounds))]
    rates: dict[str, list[float]] = {PARTITIONED: [], UNPARTITIONED: []}
    live = PARTITIONED
    with harness.server(port=PORT, workers=2, threads=2) as url:
        _phase(url, key, "/v1/batch", traffic.identify_bodies(), args.clients, 120)
        harness.analyze("contacts_contact")
        for round_ in range(args.rounds):
            order = (
                (PARTITIONED, UNPARTITIONED) if round_ % 2 == 0 else (UNPARTITIONED, PARTITIONED)
            )
            for shape in order:
                live = _swap_in(shape, live)
                load, elapsed = _phase(url, key, "/v1/batch", batches, args.clients, args.seconds)
                batches = batches[load.next :]
                rates[shape].append(load.stored / elapsed)
                print(f"  round {round_ + 1} {shape}: {rates[shape][-1]:,.0f} events/s", flush=True)
        _swap_in(PARTITIONED, live)
    from config.celery_app import app

    app.control.purge()  # the pipeline work recorded meanwhile (no worker ran)
    medians = {shape: statistics.median(values) for shape, values in rates.items()}
    return [
        (
            f"ingest /v1/batch {shape}",
            f"{medians[shape]:,.0f} events/s accepted (rounds: "
            + ", ".join(f"{x:,.0f}" for x in rates[shape])
            + ")",
        )
        for shape in (PARTITIONED, UNPARTITIONED)
    ] + [
        (
            "  ratio partitioned / unpartitioned",
            f"{medians[PARTITIONED] / medians[UNPARTITIONED]:.2f}",
        )
    ]


def disk() -> list[tuple[str, str]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(pg_total_relation_size(relid)), 0) "
            "FROM pg_partition_tree('contacts_event')"
        )
        partitioned = cursor.fetchone()[0]
        cursor.execute("SELECT pg_total_relation_size(%s)", [PARKED[UNPARTITIONED]])
        plain = cursor.fetchone()[0]
        cursor.execute("SELECT pg_total_relation_size('contacts_eventmessage')")
        messages = cursor.fetchone()[0]
    mb = 1024 * 1024
    return [
        ("disk partitioned (with indexes)", f"{partitioned / mb:,.0f} MB"),
        ("disk unpartitioned (with indexes)", f"{plain / mb:,.0f} MB"),
        ("disk messageId claims", f"{messages / mb:,.0f} MB"),
    ]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench partition")
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args(argv)
    start_note = harness.machine_note()
    harness.setup_django(database=DATABASE, redis_db=REDIS_DB)
    workspace_id = prepare(args)
    convert_seconds, copied = convert()
    harness.analyze("contacts_event")
    rows = [
        ("machine at start", start_note),
        ("data", f"{args.contacts:,} contacts, {args.events:,} events over {args.days} days"),
        (
            "conversion (online steps, idle)",
            f"{copied:,} rows in {convert_seconds:,.0f} s = {copied / convert_seconds:,.0f} rows/s",
        ),
    ]
    rows += window_count(workspace_id)
    rows += ingest(args)
    rows += disk()
    rows.append(("machine at end", harness.machine_note()))
    harness.report("partition", rows)
