"""Scenario `imports`: how fast a CSV of contacts imports, against the database's floor.

    .venv/bin/python -m bench imports [--rows 100000] [--sample 3000]

1. Fresh database `tendril_bench_imports`. A generated CSV of `--rows` contacts (email,
   names, company, country, two typed attributes, tags; 1 row in 1,000 has a broken email).
2. First import (every row creates a contact) and a second import of the same people with
   changed values (every row updates one), each through the real service
   (`contacts.services.imports.import_run`, the body of the Celery task), chunk by chunk.
   → rows/s for each.
3. Baselines measured in the same run:
   - floor: COPY of the same rows straight into the contacts table (another workspace),
     no parsing, validation or identity work — the cheapest possible write;
   - per-row: `contact_upsert` once per row (what an import calling the identify path row by
     row would cost), on a `--sample` of rows, as rows/s.
The pipeline tasks the import enqueues go to Redis and are not run here (no worker): this
measures the import itself.
"""

from __future__ import annotations

import argparse
import io
import random
import time
from typing import Any

from bench import harness

DATABASE = "tendril_bench_imports"
REDIS_DB = 7
COUNTRIES = ["DE", "FR", "US", "GB", "NL", "ES", "IT", "SE", "PL", "BR"]
PLANS = ["free", "pro", "team", "enterprise"]


def generated_csv(rows: int, *, version: int, seed: int = 7) -> bytes:
    rnd = random.Random(seed)  # noqa: S311
    out = ["email,first_name,last_name,company,country,plan,seats,tags"]
    for i in range(rows):
        email = (
            f"person{i}@company{i % 997}.example" if i % 1000 != 999 else f"broken{i}-at-example"
        )
        out.append(
            ",".join(
                [
                    email,
                    f"First{i}",
                    f"Last{i}{'' if version == 1 else '-v2'}",
                    f"Company {i % 997}",
                    rnd.choice(COUNTRIES),
                    PLANS[(i + version) % len(PLANS)],
                    str(rnd.randint(1, 500)),
                    f"import-{version};{'even' if i % 2 == 0 else 'odd'}",
                ]
            )
        )
    return ("\n".join(out) + "\n").encode()


def _import(workspace: Any, data: bytes) -> tuple[float, Any]:
    from contacts.models import ContactImport
    from contacts.services import imports

    imp = imports.import_create(workspace=workspace, upload=io.BytesIO(data), filename="bench.csv")
    ContactImport.objects.filter(pk=imp.pk).update(status=ContactImport.Status.QUEUED)
    started = time.perf_counter()
    done = imports.import_run(workspace=workspace, import_id=imp.pk)
    return time.perf_counter() - started, done


def _copy_floor(workspace: Any, data: bytes) -> float:
    """COPY the same rows (already parsed) straight into contacts_contact."""
    import csv

    from django.db import connection
    from django.utils import timezone
    from psycopg.types.json import Jsonb

    rows = list(csv.reader(io.StringIO(data.decode())))[1:]
    now = timezone.now()
    columns = (
        "workspace_id, created_at, updated_at, email, phone, first_name, last_name, company, "
        "job_title, country, city, timezone, lifecycle_stage, tags, attributes, email_consent, "
        "email_consent_source, sms_consent, sms_consent_source, external_id, anonymous_ids, score"
    )
    started = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY contacts_contact ({columns}) FROM STDIN") as copy,
    ):
        for email, first, last, company, country, plan, seats, tags in rows:
            copy.write_row(
                [workspace.pk, now, now, email, "", first, last, company, "", country, "", "",
                 "subscriber", tags.split(";"), Jsonb({"plan": plan, "seats": int(seats)}),
                 "unknown", "", "unknown", "", "", [], 0]
            )  # fmt: skip
    return time.perf_counter() - started


def _per_row(workspace: Any, data: bytes, sample: int) -> float:
    import csv

    from django.db import transaction

    from contacts.services import contact_upsert
    from workspaces.errors import ValidationFailed

    rows = list(csv.reader(io.StringIO(data.decode())))[1 : sample + 1]
    started = time.perf_counter()
    for email, first, last, company, country, plan, seats, tags in rows:
        try:
            with transaction.atomic():
                contact_upsert(
                    workspace=workspace,
                    email=email,
                    traits={"first_name": first, "last_name": last, "company": company,
                            "country": country, "plan": plan, "seats": int(seats),
                            "tags": tags.split(";")},
                    source="import",
                )  # fmt: skip
        except ValidationFailed:
            continue
    return time.perf_counter() - started


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench imports")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=3000)
    args = parser.parse_args(argv)

    harness.setup_django(database=DATABASE, redis_db=REDIS_DB)
    from workspaces.models import Workspace

    first = generated_csv(args.rows, version=1)
    second = generated_csv(args.rows, version=2)
    ws_id, _ = harness.workspace("Imports")
    workspace = Workspace.objects.get(pk=ws_id)
    create_s, created = _import(workspace, first)
    update_s, updated = _import(workspace, second)

    floor_ws = Workspace.objects.get(pk=harness.workspace("Floor")[0])
    floor_s = _copy_floor(floor_ws, first)
    per_row_ws = Workspace.objects.get(pk=harness.workspace("Per row")[0])
    per_row_s = _per_row(per_row_ws, first, args.sample)

    from config.celery_app import app

    app.control.purge()  # the pipeline tasks the imports queued; no worker runs them here
    rows = args.rows
    create_rate, update_rate = rows / create_s, rows / update_s
    floor_rate, per_row_rate = rows / floor_s, args.sample / per_row_s
    harness.report(
        "imports",
        [
            ("rows", f"{rows:,} ({created.error_count:,} rejected per import)"),
            ("first import (creates)", f"{create_s:.1f} s = {create_rate:,.0f} rows/s"),
            ("second import (updates)", f"{update_s:.1f} s = {update_rate:,.0f} rows/s"),
            ("floor: COPY straight in", f"{floor_s:.1f} s = {floor_rate:,.0f} rows/s"),
            ("per-row contact_upsert", f"{per_row_rate:,.0f} rows/s (sample {args.sample:,})"),
            ("import / floor (creates)", f"{create_s / floor_s:.1f}× the time"),
            ("import vs per-row upsert", f"{create_rate / per_row_rate:.1f}× faster"),
            (
                "counts",
                f"created {created.created_count:,}, then updated {updated.updated_count:,}",
            ),
            ("machine", harness.machine_note()),
        ],
    )
