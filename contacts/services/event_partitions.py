"""The event table, range-partitioned by month on `timestamp` (docs/events.md).

    contacts_event                 PARTITION BY RANGE ("timestamp"), primary key (id, timestamp)
      contacts_event_history       FROM (MINVALUE) TO (<first month>): older history (imports)
      contacts_event_y2026m12      one per month, [1st 00:00 UTC, next 1st)
      contacts_event_default       anything else (only if the months ahead ran out)

- `event_partitions_ensure`: the months from the current one to EVENTS_PARTITIONS_AHEAD
  ahead exist (beat, daily; a month created while the default partition holds rows of it
  takes those rows along).
- `EventTableConversion`: an unpartitioned table (an install from before partitioning)
  becomes a partitioned one while the application keeps writing: a partitioned copy is built
  beside it, filled in bounded batches by id, kept exact by a log of the ids written since
  (statement triggers), and swapped in by renames in one short transaction
  (`manage.py events_partition_convert`, docs/operations.md).

Ids come from the sequence `contacts_event_id_seq` in every shape of the table, so an id
names one event across partitions and across the conversion. Everything here is DDL or bulk
copying: run it as the owner (`connection.owner_role()`), never as the application role.
"""

# ruff: noqa: S608  # identifiers are the table's own names (from the catalog or this module)

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from contacts.models import Event

EVENT_TABLE = Event._meta.db_table
ID_SEQUENCE = f"{EVENT_TABLE}_id_seq"
BUILDING = f"{EVENT_TABLE}_p"  # the partitioned table while a conversion fills it
RETIRED = f"{EVENT_TABLE}_unpartitioned"  # the table it replaced, until the operator drops it
LOG = f"{EVENT_TABLE}_convert_log"  # ids written to the old table while it is copied
HISTORY_MONTHS = 36  # a conversion gives months this old their own partitions, older → history
PAST_MONTHS = 12  # and the last year's months in any case (a fresh install's table too)
ID_GAP = 1_000_000  # ids skipped at a swap (event_tables_swap)
_BOUND = re.compile(r"'([^']+)'")


@dataclass(frozen=True)
class Partition:
    name: str
    lower: datetime | None  # None: MINVALUE (or the default partition)
    upper: datetime | None  # None: MAXVALUE (or the default partition)
    default: bool = False

    def overlaps(self, start: datetime, end: datetime | None) -> bool:
        """Whether rows in [start, end) may lie here (end None: no upper limit)."""
        if self.default:
            return True
        below_end = end is None or self.lower is None or self.lower < end
        return below_end and (self.upper is None or self.upper > start)


def month_floor(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def month_add(month: datetime, months: int) -> datetime:
    index = month.year * 12 + month.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_partitioned(cursor: Any, table: str = EVENT_TABLE) -> bool:
    cursor.execute("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(%s)", [table])
    row = cursor.fetchone()
    return bool(row and row[0])


def table_exists(cursor: Any, table: str) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
    return bool(cursor.fetchone()[0])


def event_partitions(cursor: Any, table: str = EVENT_TABLE) -> list[Partition]:
    """The partitions of `table` in bound order (the default partition last)."""
    cursor.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
        [table],
    )
    found = []
    for name, bound in cursor.fetchall():
        if bound == "DEFAULT":
            found.append(Partition(name, None, None, default=True))
            continue
        lower_text, upper_text = bound.split(" TO ", 1)
        found.append(Partition(name, _bound_value(lower_text), _bound_value(upper_text)))
    minimum = datetime.min.replace(tzinfo=UTC)
    return sorted(found, key=lambda p: (p.default, p.lower or minimum))


def _bound_value(text: str) -> datetime | None:
    match = _BOUND.search(text)
    if match is None:  # MINVALUE / MAXVALUE
        return None
    return datetime.fromisoformat(match.group(1)).astimezone(UTC)


def partition_name(table: str, month: datetime) -> str:
    return f"{table}_y{month.year:04d}m{month.month:02d}"


def _month_partition_create(cursor: Any, table: str, month: datetime) -> str:
    """Create the partition of `month`: built beside the table, given the rows the default
    partition holds for that month (if any), then attached. Attaching takes a SHARE UPDATE
    EXCLUSIVE lock on the table (reads and writes go on) and a brief exclusive one on the
    default partition, whose scan finds nothing left of the month."""
    name = partition_name(table, month)
    upper = month_add(month, 1)
    cursor.execute(
        f"CREATE TABLE {_quote(name)} (LIKE {_quote(table)} INCLUDING DEFAULTS "
        "INCLUDING CONSTRAINTS INCLUDING STORAGE)"
    )
    # The bounds as a constraint too, so attaching does not scan the new table.
    cursor.execute(
        f"ALTER TABLE {_quote(name)} ADD CONSTRAINT {_quote(name + '_bounds')} "
        'CHECK ("timestamp" IS NOT NULL AND "timestamp" >= %s AND "timestamp" < %s)',
        [month, upper],
    )
    default = next((p.name for p in event_partitions(cursor, table) if p.default), None)
    if default is not None:
        cursor.execute(
            f"WITH moved AS (DELETE FROM {_quote(default)} "
            'WHERE "timestamp" >= %s AND "timestamp" < %s RETURNING *) '
            f"INSERT INTO {_quote(name)} SELECT * FROM moved",
            [month, upper],
        )
    cursor.execute(
        f"ALTER TABLE {_quote(table)} ATTACH PARTITION {_quote(name)} FOR VALUES FROM (%s) TO (%s)",
        [month, upper],
    )
    cursor.execute(f"ALTER TABLE {_quote(name)} DROP CONSTRAINT {_quote(name + '_bounds')}")
    return name


def _months_missing(partitions: list[Partition], first: datetime, last: datetime) -> list[datetime]:
    """The months in [first, last] that no bounded partition covers yet."""
    missing, month = [], first
    while month <= last:
        end = month_add(month, 1)
        if not any(p.overlaps(month, end) for p in partitions if not p.default):
            missing.append(month)
        month = end
    return missing


def event_partitions_ensure(
    *, now: datetime | None = None, ahead: int | None = None, table: str = EVENT_TABLE
) -> list[str]:
    """Create the monthly partitions from the current month to `ahead` months after it that
    do not exist yet; the names created. Nothing on an unpartitioned table (an install not
    converted yet). Each month in its own short transaction; a lock not granted within
    5 s (a long query holding the default partition) leaves that month to the next run."""
    now = now or timezone.now()
    ahead = settings.EVENTS_PARTITIONS_AHEAD if ahead is None else ahead
    created: list[str] = []
    with connection.cursor() as cursor:
        if not table_partitioned(cursor, table):
            return created
        current = month_floor(now)
        for month in _months_missing(
            event_partitions(cursor, table), current, month_add(current, ahead)
        ):
            with transaction.atomic():
                cursor.execute("SET LOCAL lock_timeout = '5s'")
                created.append(_month_partition_create(cursor, table, month))
    return created


# --- building a partitioned table -------------------------------------------------------


def _columns(cursor: Any, table: str) -> list[str]:
    cursor.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 "
        "AND NOT attisdropped ORDER BY attnum",
        [table],
    )
    return [row[0] for row in cursor.fetchall()]


def _sequence_of(cursor: Any, table: str) -> str | None:
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    row = cursor.fetchone()
    return row[0] if row else None


def partitioned_table_create(
    cursor: Any, *, name: str, like: str, first_month: datetime, now: datetime
) -> None:
    """A partitioned table with `like`'s columns and defaults: its own id sequence (starting
    past `like`'s), primary key (id, timestamp), a history partition below `first_month`,
    monthly partitions from `first_month` to EVENTS_PARTITIONS_AHEAD months past `now`, and
    a default partition. Secondary indexes: `indexes_copy`."""
    table = _quote(name)
    cursor.execute(
        f"CREATE TABLE {table} (LIKE {_quote(like)} INCLUDING DEFAULTS INCLUDING STORAGE "
        'INCLUDING COMMENTS) PARTITION BY RANGE ("timestamp")'
    )
    sequence = f"{name}_id_seq"
    cursor.execute(f"CREATE SEQUENCE {_quote(sequence)} AS bigint OWNED BY {table}.id")
    cursor.execute(
        f"ALTER TABLE {table} ALTER COLUMN id SET DEFAULT nextval(%s::regclass)", [sequence]
    )
    cursor.execute(
        f'ALTER TABLE {table} ADD CONSTRAINT {_quote(name + "_pkey")} PRIMARY KEY (id, "timestamp")'
    )
    cursor.execute(
        f"CREATE TABLE {_quote(name + '_history')} PARTITION OF {table} "
        "FOR VALUES FROM (MINVALUE) TO (%s)",
        [first_month],
    )
    month = first_month
    last = month_add(month_floor(now), settings.EVENTS_PARTITIONS_AHEAD)
    while month <= last:
        cursor.execute(
            f"CREATE TABLE {_quote(partition_name(name, month))} PARTITION OF {table} "
            "FOR VALUES FROM (%s) TO (%s)",
            [month, month_add(month, 1)],
        )
        month = month_add(month, 1)
    cursor.execute(f"CREATE TABLE {_quote(name + '_default')} PARTITION OF {table} DEFAULT")


def unpartitioned_table_create(cursor: Any, *, name: str, like: str = EVENT_TABLE) -> None:
    """An empty table of the shape the event table had before partitioning (an identity id
    as the primary key, the same secondary indexes): to measure the two shapes against each
    other (bench/partition.py) and to test the conversion."""
    table = _quote(name)
    cursor.execute(
        f"CREATE TABLE {table} (LIKE {_quote(like)} INCLUDING DEFAULTS INCLUDING STORAGE)"
    )
    cursor.execute(f"ALTER TABLE {table} ALTER COLUMN id DROP DEFAULT")
    cursor.execute(f"ALTER TABLE {table} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
    cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {_quote(name + '_pkey')} PRIMARY KEY (id)")
    indexes_copy(cursor, source=like, target=name)
    from workspaces.db.rls import rls_apply

    rls_apply(cursor)


def indexes_copy(cursor: Any, *, source: str, target: str) -> list[str]:
    """Create on `target` the secondary indexes `source` has (not its primary key, and not a
    unique index, which a partitioned table could not hold without the partition key), under
    `target`'s names for them; the names created (existing ones are skipped)."""
    cursor.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = to_regclass(%s) AND NOT i.indisprimary AND NOT i.indisunique "
        "ORDER BY c.relname",
        [source],
    )
    created = []
    for index, definition in cursor.fetchall():
        name = index_name(canonical_index_name(index, source), target)
        match = re.match(r"CREATE INDEX \S+ ON (?:ONLY )?\S+ (USING .*)$", definition)
        if match is None:
            raise ValueError(f"unexpected index definition: {definition}")
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {_quote(name)} ON {_quote(target)} {match.group(1)}"
        )
        created.append(name)
    return created


def canonical_index_name(name: str, table: str) -> str:
    """The name an index of `table` has on the live event table."""
    if table == EVENT_TABLE:
        return name
    if name.startswith(table + "_"):
        return EVENT_TABLE + name[len(table) :]
    return name.rsplit("__", 1)[0]


def index_name(canonical: str, table: str) -> str:
    """The name of the live table's index `canonical` on `table` (index names are unique per
    schema, so the tables beside the live one carry theirs with a suffix)."""
    if table == EVENT_TABLE:
        return canonical
    if canonical.startswith(EVENT_TABLE + "_"):
        return (table + canonical[len(EVENT_TABLE) :])[:63]
    return f"{canonical}__{table.removeprefix(EVENT_TABLE + '_')}"[:63]


def _rename_family(cursor: Any, table: str, new: str) -> None:
    """Rename `table` to `new` with its id sequence, its own indexes and its partitions."""
    cursor.execute(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = to_regclass(%s)",
        [table],
    )
    for (index,) in cursor.fetchall():
        renamed = index_name(canonical_index_name(index, table), new)
        if renamed != index:
            cursor.execute(f"ALTER INDEX {_quote(index)} RENAME TO {_quote(renamed)}")
    for partition in event_partitions(cursor, table):
        if partition.name.startswith(table + "_"):
            renamed = new + partition.name[len(table) :]
            cursor.execute(f"ALTER TABLE {_quote(partition.name)} RENAME TO {_quote(renamed)}")
    sequence = _sequence_of(cursor, table)
    if sequence is not None:
        cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {_quote(new + '_id_seq')}")
    cursor.execute(f"ALTER TABLE {_quote(table)} RENAME TO {_quote(new)}")


def event_tables_swap(cursor: Any, *, incoming: str, retired: str) -> None:
    """Put `incoming` in the live table's place and keep the live one as `retired`, with
    their sequences, indexes and partitions renamed along. Its id sequence continues past
    every id the live one gave. Call inside a transaction that holds the live table
    (`LOCK … IN EXCLUSIVE MODE`); the renames take the exclusive lock for an instant."""
    live_sequence = _sequence_of(cursor, EVENT_TABLE)
    incoming_sequence = _sequence_of(cursor, incoming)
    if incoming_sequence is None:
        raise ValueError(f"{incoming} has no id sequence")
    # A statement parsed before the swap and waiting for its lock writes into the new table
    # once granted (PostgreSQL looks the name up again) but draws its id from the sequence
    # it already resolved: start past a gap that such stragglers cannot fill.
    cursor.execute(
        f"SELECT setval(%s, greatest(nextval(%s), (SELECT coalesce(max(id), 0) FROM "
        f"{_quote(incoming)})) + %s)",
        [incoming_sequence, live_sequence, ID_GAP],
    )
    _rename_family(cursor, EVENT_TABLE, retired)
    _rename_family(cursor, incoming, EVENT_TABLE)


# --- the online conversion --------------------------------------------------------------

Progress = Callable[[str], None]


@dataclass
class EventTableConversion:
    """Convert the live (unpartitioned) event table into a partitioned one, online.

    1. `prepare`: a log of the ids written to the live table from now on (statement-level
       triggers with transition tables: one INSERT into the log per writing statement),
       then the partitioned table `contacts_event_p` with its partitions and primary key;
    2. `copy`: rows by ascending id in batches of `batch` rows, each its own transaction,
       until less than a batch is left (resumable: the id reached is committed with each
       batch);
    3. `indexes`: the secondary indexes, built once the bulk is in (then `copy` again for
       what arrived meanwhile);
    4. `catch_up`: ids logged since are copied again (deleted and re-read: a merge moved
       them, a delete removed them, or an insert committed after its id was passed);
    5. `swap`: one transaction locks the live table against writes (reads go on), copies
       the rest, applies the rest of the log, and renames: the live table becomes
       `contacts_event_unpartitioned` (drop it once satisfied), the partitioned one
       `contacts_event`, sequences following. Writers waiting on the lock continue on the
       new table (PostgreSQL resolves a renamed table's name again after waiting).
    """

    batch: int = 50_000
    progress: Progress = print
    lock_timeout: str = "5s"
    log_changes: bool = True  # False only when nothing writes meanwhile (a migration)

    def run(self, *, now: datetime | None = None) -> int:
        """Every step; the rows copied."""
        self.prepare(now=now)
        copied = self.copy()
        self.indexes()
        copied += self.copy()  # what arrived while the indexes were built
        self.catch_up()
        self.swap()
        return copied

    def prepare(self, *, now: datetime | None = None) -> None:
        now = now or timezone.now()
        with transaction.atomic(), connection.cursor() as cursor:
            if table_partitioned(cursor, EVENT_TABLE):
                raise ConversionError(f"{EVENT_TABLE} is partitioned already")
            if table_exists(cursor, RETIRED):
                raise ConversionError(
                    f"{RETIRED} exists (an earlier conversion's old table): drop it first"
                )
            if self.log_changes and not table_exists(cursor, LOG):
                self._log_install(cursor)
            if table_exists(cursor, BUILDING):
                self.progress(f"{BUILDING} exists: resuming")
                return
            cursor.execute(f'SELECT min("timestamp") FROM {EVENT_TABLE}')
            oldest = month_floor(cursor.fetchone()[0] or now)
            current = month_floor(now)
            # At least the last year by month (an import of last year's orders lands in
            # partitions that retention can drop whole), at most HISTORY_MONTHS.
            first = max(
                min(oldest, month_add(current, -PAST_MONTHS)),
                month_add(current, -HISTORY_MONTHS),
            )
            partitioned_table_create(
                cursor, name=BUILDING, like=EVENT_TABLE, first_month=first, now=now
            )
            from workspaces.db.rls import rls_apply

            rls_apply(cursor)  # the tenant policy, as on every tenant table
            self.progress(
                f"created {BUILDING}: monthly partitions from {first:%Y-%m}, history before"
            )

    def _log_install(self, cursor: Any) -> None:
        cursor.execute(f"CREATE TABLE {LOG} (seq bigserial PRIMARY KEY, event_id bigint NOT NULL)")
        cursor.execute(
            f"""CREATE FUNCTION {LOG}_new() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN INSERT INTO {LOG} (event_id) SELECT id FROM changed; RETURN NULL; END $$"""
        )
        # (CREATE TRIGGER waits for every transaction writing the table to end: each write
        # from then on is either visible to the copy or in the log.)
        for operation, transition in (("INSERT", "NEW"), ("UPDATE", "OLD"), ("DELETE", "OLD")):
            cursor.execute(
                f"CREATE TRIGGER {LOG}_{operation.lower()} AFTER {operation} ON {EVENT_TABLE} "
                f"REFERENCING {transition} TABLE AS changed FOR EACH STATEMENT "
                f"EXECUTE FUNCTION {LOG}_new()"
            )

    def _copied_through(self, cursor: Any) -> int:
        """The id up to which the bulk copy has read the live table (kept as the building
        table's comment, written in each batch's transaction, so a resumed run continues
        exactly where the last one committed)."""
        cursor.execute("SELECT obj_description(to_regclass(%s), 'pg_class')", [BUILDING])
        note = cursor.fetchone()[0] or ""
        return int(note.removeprefix("copied through id ")) if note.startswith("copied") else 0

    def _copy_range(self, cursor: Any, after: int, through: int | None) -> int:
        columns = ", ".join(_quote(c) for c in _columns(cursor, EVENT_TABLE))
        # ON CONFLICT: the log may have put a row of this range in already.
        cursor.execute(
            f"INSERT INTO {BUILDING} ({columns}) SELECT {columns} FROM {EVENT_TABLE} "
            "WHERE id > %s"
            + (" AND id <= %s" if through is not None else "")
            + " ON CONFLICT DO NOTHING",
            [after] if through is None else [after, through],
        )
        copied = cursor.rowcount
        if through is not None:
            cursor.execute(f"COMMENT ON TABLE {BUILDING} IS 'copied through id {int(through)}'")
        return copied

    def copy(self) -> int:
        """Copy by ascending id, `batch` rows per transaction, until less than a batch is
        left (the swap copies those); the rows copied."""
        copied, started = 0, time.monotonic()
        with connection.cursor() as cursor:
            done = self._copied_through(cursor)
            cursor.execute(
                "SELECT greatest(reltuples, 1)::bigint FROM pg_class WHERE oid = %s::regclass",
                [EVENT_TABLE],
            )
            estimate = int(cursor.fetchone()[0])
            while True:
                # The id `batch` rows on (ids have gaps: by rows, not by id arithmetic).
                cursor.execute(
                    f"SELECT id FROM {EVENT_TABLE} WHERE id > %s ORDER BY id OFFSET %s LIMIT 1",
                    [done, self.batch - 1],
                )
                row = cursor.fetchone()
                if row is None:
                    break
                with transaction.atomic():
                    copied += self._copy_range(cursor, done, int(row[0]))
                done = int(row[0])
                elapsed = max(time.monotonic() - started, 1e-6)
                self.progress(
                    f"copied {copied:,} rows, through id {done:,} "
                    f"(~{min(copied / estimate, 1):.0%} of ~{estimate:,}, "
                    f"{copied / elapsed:,.0f} rows/s)"
                )
        return copied

    def indexes(self) -> None:
        with connection.cursor() as cursor:
            for name in indexes_copy(cursor, source=EVENT_TABLE, target=BUILDING):
                self.progress(f"index {name} built")
            cursor.execute(f"ANALYZE {BUILDING}")

    def catch_up(self, *, limit: int = 10_000) -> int:
        """Apply the logged ids in batches of `limit` until the log is empty; ids applied."""
        if not self.log_changes:
            return 0
        applied = 0
        with connection.cursor() as cursor:
            while True:
                with transaction.atomic():
                    count = self._apply_log(cursor, limit)
                applied += count
                if count < limit:
                    break
        self.progress(f"caught up: {applied:,} changed ids copied again")
        return applied

    def _apply_log(self, cursor: Any, limit: int | None) -> int:
        """Copy again the rows of up to `limit` logged ids (all with None): deleted from the
        partitioned table and read again from the live one, as they are now."""
        cursor.execute(
            f"DELETE FROM {LOG} WHERE seq IN (SELECT seq FROM {LOG} ORDER BY seq "
            + ("LIMIT %s" if limit else "")
            + ") RETURNING event_id",
            [limit] if limit else [],
        )
        rows = cursor.fetchall()
        ids = sorted({row[0] for row in rows})
        if ids:
            columns = ", ".join(_quote(c) for c in _columns(cursor, EVENT_TABLE))
            cursor.execute(f"DELETE FROM {BUILDING} WHERE id = ANY(%s)", [ids])
            cursor.execute(
                f"INSERT INTO {BUILDING} ({columns}) SELECT {columns} FROM {EVENT_TABLE} "
                "WHERE id = ANY(%s)",
                [ids],
            )
        return len(rows)

    def swap(self) -> None:
        """The last rows and log entries, then the renames, in one transaction."""
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{self.lock_timeout}'")
            cursor.execute(
                f"LOCK TABLE {EVENT_TABLE} IN EXCLUSIVE MODE"
            )  # writes wait; reads go on
            rest = self._copy_range(cursor, self._copied_through(cursor), None)
            if self.log_changes:
                self._apply_log(cursor, None)
                for operation in ("insert", "update", "delete"):
                    cursor.execute(f"DROP TRIGGER {LOG}_{operation} ON {EVENT_TABLE}")
                cursor.execute(f"DROP TABLE {LOG}")
                cursor.execute(f"DROP FUNCTION {LOG}_new()")
            cursor.execute(f"COMMENT ON TABLE {BUILDING} IS NULL")
            event_tables_swap(cursor, incoming=BUILDING, retired=RETIRED)
        self.progress(
            f"swapped: {EVENT_TABLE} is partitioned ({rest:,} last rows copied under the lock); "
            f"the old table is {RETIRED}"
        )


class ConversionError(Exception):
    pass


def event_table_convert_inline() -> bool:
    """For a migration: convert a small table on the spot, nothing writing meanwhile; False
    (and nothing done) when the table is partitioned already."""
    with connection.cursor() as cursor:
        if table_partitioned(cursor, EVENT_TABLE):
            return False
    conversion = EventTableConversion(batch=1_000_000, progress=lambda _: None, log_changes=False)
    conversion.run()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {RETIRED}")
    return True
