"""Helpers for the tests of the month-partitioned event table: what a plan reads, which
partitions a time range may touch, where a row lives."""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from contacts.services.event_partitions import EVENT_TABLE, Partition, event_partitions


def partitions() -> list[Partition]:
    with connection.cursor() as cursor:
        return event_partitions(cursor)


def names(parts) -> set[str]:
    return {p.name for p in parts}


def overlapping(start: datetime, end: datetime | None, *, default: bool = True) -> set[str]:
    """The partitions rows in [start, end) may lie in (with the default partition or not)."""
    return names(p for p in partitions() if (default or not p.default) and p.overlaps(start, end))


def event_tables_read(sql: str) -> set[str]:
    """The event table's partitions (or the table itself) the plan of `sql` reads."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
    found: set[str] = set()

    def walk(node: dict) -> None:
        relation = node.get("Relation Name")
        if relation and relation.startswith(EVENT_TABLE) and relation != "contacts_eventmessage":
            found.add(relation)
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found


def partition_of(event_id: int) -> str:
    """The partition the event is stored in."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT tableoid::regclass::text FROM {EVENT_TABLE} WHERE id = %s", [event_id]
        )
        return cursor.fetchone()[0]


def rows_in(partition: str, **where) -> int:
    clauses = " AND ".join(f"{column} = %s" for column in where) or "true"
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{partition}" WHERE {clauses}', list(where.values()))
        return cursor.fetchone()[0]
