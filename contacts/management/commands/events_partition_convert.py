"""python manage.py events_partition_convert [--batch N] [--lock-timeout 5s] [--drop-old]

Converts an unpartitioned event table (an install older than partitioning, whose migration
found too many events to convert on the spot) into the month-partitioned one, while the
application keeps ingesting: copies in batches by id with progress, catches up with what
was written meanwhile, and swaps the names in one short transaction. Resumable: run it
again after an interruption. `--drop-old` drops the old table (`contacts_event_unpartitioned`)
once a conversion is done. docs/operations.md, "Partitioning the event table".
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import OperationalError, connection

from contacts.services.event_partitions import (
    RETIRED,
    ConversionError,
    EventTableConversion,
    table_exists,
    table_partitioned,
)
from contacts.services.event_retention import as_owner


class Command(BaseCommand):
    help = "Convert the event table to monthly partitions online (batches, progress, swap)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=50_000, help="ids copied per transaction")
        parser.add_argument(
            "--lock-timeout",
            default="5s",
            help="longest wait for the write lock of the final swap (retried 3 times)",
        )
        parser.add_argument(
            "--drop-old", action="store_true", help=f"drop {RETIRED} (after a conversion)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with as_owner():
            if options["drop_old"]:
                self._drop_old()
                return
            with connection.cursor() as cursor:
                if table_partitioned(cursor):
                    self.stdout.write("contacts_event is partitioned already: nothing to do.")
                    return
            if options["batch"] < 1:
                raise CommandError("--batch: at least 1")
            conversion = EventTableConversion(
                batch=options["batch"],
                progress=lambda line: self.stdout.write(line),
                lock_timeout=options["lock_timeout"],
            )
            try:
                conversion.prepare()
                conversion.copy()
                conversion.indexes()
                conversion.copy()
                conversion.catch_up()
                self._swap(conversion)
            except ConversionError as error:
                raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                "Done. Check the application, then: manage.py events_partition_convert --drop-old"
            )
        )

    def _swap(self, conversion: EventTableConversion) -> None:
        for attempt in range(1, 4):
            try:
                conversion.swap()
                return
            except OperationalError as error:  # the lock was not granted in time
                self.stdout.write(f"swap attempt {attempt}: {error}".strip())
                conversion.catch_up()
        raise CommandError("the swap did not get its lock; run the command again later")

    def _drop_old(self) -> None:
        with connection.cursor() as cursor:
            if not table_exists(cursor, RETIRED):
                raise CommandError(f"{RETIRED} does not exist")
            if not table_partitioned(cursor):
                raise CommandError("contacts_event is not partitioned: keep the old table")
            cursor.execute(f"DROP TABLE {RETIRED}")
        self.stdout.write(f"dropped {RETIRED}")
