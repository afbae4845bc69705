"""CSV import of contacts: upload → map columns → run in chunks → error report.

The upload is stored on the ContactImport row (workers need no shared disk). A Celery task
(`contacts.import_run`) reads it in chunks of CHUNK_ROWS rows; each chunk is one
transaction that also advances the progress counters, so a worker restarted mid-import
resumes after the last committed chunk and never imports a row twice.

Identity is decided by `resolver.identity_resolve`, as for every writer; the chunk only
batches the writes (import_writes.py):
- rows whose decision is plain (a new contact, or the one the key names, with no merge,
  no identifier another contact keeps and none replaced) are written with one
  SELECT … FOR UPDATE, one multi-row UPDATE and one multi-row INSERT per chunk;
- the others go through `contact_upsert` one by one, exactly as an identify call would.
Values follow the same precedence as traits: a non-empty cell replaces the stored value,
an empty cell never erases anything, tags are added, attributes merged.
Every changed contact is handed to the events_ingested pipeline (one task per chunk) with
the names of the fields that changed, so segments update.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from contacts.hooks import consent_changes_collected
from contacts.models import (
    AttributeDefinition,
    Contact,
    ContactImport,
    LifecycleStage,
)
from contacts.services import (
    attribute_limit_message,
    attributes_over_limit,
    email_normalize,
    events_enqueue_processing,
    phone_normalize,
)
from contacts.services.contacts import (
    ATTRIBUTE_KEY_RE,
    RESERVED_ATTRIBUTE_KEYS,
    attribute_value_clean,
    tags_clean,
)
from contacts.services.import_writes import (
    ChunkOutcome,
    ParsedRow,
    row_upsert,
    rows_classify,
    rows_write,
)
from contacts.services.traits import FIELD_TRAITS, PROTECTED_TRAITS
from workspaces.errors import ValidationFailed
from workspaces.models import Membership, User, Workspace

logger = logging.getLogger(__name__)

CHUNK_ROWS = 2000
MAX_STORED_ERRORS = 5000
PREVIEW_ROWS = 5
ATTRIBUTE_TARGET = "attr:"

# Contact fields a column can fill. Identity and profile fields follow contact_upsert's
# precedence; consent columns record a decision with source "import".
FIELD_TARGETS: dict[str, str] = {
    "email": "Email",
    "external_id": "External id (userId)",
    "phone": "Phone",
    "first_name": "First name",
    "last_name": "Last name",
    "company": "Company",
    "job_title": "Job title",
    "country": "Country",
    "city": "City",
    "timezone": "Time zone",
    "lifecycle_stage": "Lifecycle stage",
    "owner": "Owner (member's email)",
    "tags": "Tags (separated by ; or ,)",
    "email_consent": "Email consent",
    "sms_consent": "SMS consent",
}
# Header spellings (normalised: lower case, non-alphanumerics → _) → target.
SYNONYMS: dict[str, str] = {
    **{name: name for name in FIELD_TARGETS},
    "e_mail": "email",
    "email_address": "email",
    "mail": "email",
    "user_id": "external_id",
    "userid": "external_id",
    "customer_id": "external_id",
    "firstname": "first_name",
    "first": "first_name",
    "given_name": "first_name",
    "lastname": "last_name",
    "last": "last_name",
    "surname": "last_name",
    "family_name": "last_name",
    "phone_number": "phone",
    "mobile": "phone",
    "mobile_phone": "phone",
    "telephone": "phone",
    "tel": "phone",
    "organization": "company",
    "organisation": "company",
    "company_name": "company",
    "title": "job_title",
    "jobtitle": "job_title",
    "position": "job_title",
    "time_zone": "timezone",
    "tz": "timezone",
    "stage": "lifecycle_stage",
    "lifecycle": "lifecycle_stage",
    "tag": "tags",
    "labels": "tags",
    "subscribed": "email_consent",
    "newsletter": "email_consent",
    "email_opt_in": "email_consent",
    "sms_opt_in": "sms_consent",
    "owner_email": "owner",
}
# Columns Tendril maintains itself (an export has them): never imported.
IGNORED_HEADERS = {"id", "score", "created_at", "updated_at", "last_seen_at", "anonymous_ids"}
CONSENT_WORDS = {
    **dict.fromkeys(("subscribed", "yes", "y", "true", "1", "opt_in", "opted_in"), "subscribed"),
    **dict.fromkeys(
        ("unsubscribed", "no", "n", "false", "0", "opt_out", "opted_out"), "unsubscribed"
    ),
    "pending": "pending",
    "unknown": "unknown",
}


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", fields={field: [message]})


def _header_key(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")


# --- Upload ---------------------------------------------------------------------------------


def _max_bytes() -> int:
    return int(settings.TENDRIL_IMPORT_MAX_BYTES)


def upload_decode(data: bytes) -> str:
    """An uploaded file's text: UTF-8 (with or without a BOM), else Windows-1252, else
    Latin-1 (which never fails). Also commerce's catalogue feeds."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(text[:65536], delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def csv_rows(text: str) -> Iterator[list[str]]:
    """The rows of a CSV text, its delimiter (, ; tab |) sniffed. Also commerce's feeds."""
    return csv.reader(io.StringIO(text, newline=""), _dialect(text))


def mapping_guess(headers: Sequence[str]) -> dict[str, str]:
    """Each header's likely target: a contact field, a custom attribute, or "" (skip)."""
    guess: dict[str, str] = {}
    used: set[str] = set()
    for header in headers:
        key = _header_key(header)
        target = SYNONYMS.get(key, "")
        if target and target in used:
            target = ""
        if not target and key and key not in IGNORED_HEADERS and _attribute_key_ok(key):
            target = ATTRIBUTE_TARGET + key
        if target:
            used.add(target)
        guess[header] = target
    return guess


def _attribute_key_ok(key: str) -> bool:
    return bool(ATTRIBUTE_KEY_RE.match(key)) and key not in (
        RESERVED_ATTRIBUTE_KEYS | set(FIELD_TRAITS) | PROTECTED_TRAITS | {"name", "address", "tags"}
    )


@transaction.atomic
def import_create(
    *, workspace: Workspace, upload: IO[bytes], filename: str, created_by: User | None = None
) -> ContactImport:
    """Store an uploaded CSV, read its header row and guess a mapping. Status: mapping."""
    limit = _max_bytes()
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise _invalid("file", f"the file is larger than {limit // (1024 * 1024)} MB; split it.")
    if not data.strip():
        raise _invalid("file", "the file is empty.")
    text = upload_decode(data)
    if "\x00" in text:
        # PostgreSQL stores no NUL character; a file full of them is UTF-16 or a workbook.
        raise _invalid(
            "file",
            "the file contains NUL characters (\\u0000): it is not a text CSV "
            "(UTF-16, or a spreadsheet file?). Save it as “CSV UTF-8” and upload that.",
        )
    rows = csv_rows(text)
    try:
        headers = [h.strip() for h in next(rows)]
    except (StopIteration, csv.Error) as error:
        raise _invalid("file", f"this does not read as CSV ({error or 'no rows'}).")
    if not any(headers):
        raise _invalid("file", "the first row must hold column names.")
    headers = _unique_headers(headers)
    try:
        total = sum(1 for row in rows if any(cell.strip() for cell in row))
    except csv.Error as error:
        raise _invalid("file", f"this does not read as CSV: {error}.")
    if not total:
        raise _invalid("file", "the file has column names but no rows.")
    return ContactImport.objects.create(
        workspace=workspace,
        filename=filename[:255],
        size_bytes=len(data),
        data=data,
        headers=headers,
        mapping=mapping_guess(headers),
        total_rows=total,
        created_by=created_by,
    )


def _unique_headers(headers: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n, header in enumerate(headers):
        name = (header or f"column_{n + 1}")[:200]
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        out.append(name)
    return out


def import_preview(*, contact_import: ContactImport, rows: int = PREVIEW_ROWS) -> list[list[str]]:
    reader = _data_rows(contact_import)
    preview = []
    for _, row in reader:
        preview.append(row)
        if len(preview) >= rows:
            break
    return preview


def _data_rows(contact_import: ContactImport) -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row number, cells padded to the headers) for every non-blank data row."""
    reader = csv_rows(upload_decode(bytes(contact_import.data)))
    next(reader, None)
    width = len(contact_import.headers)
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        yield number, (row + [""] * width)[:width]


# --- Mapping ---------------------------------------------------------------------------------


@transaction.atomic
def import_configure(
    *,
    contact_import: ContactImport,
    mapping: dict[str, str],
    upsert_key: str,
    tags: Sequence[str] = (),
) -> ContactImport:
    """Check the mapping and queue the import (the task starts after commit)."""
    if contact_import.status != ContactImport.Status.MAPPING:
        raise _invalid("mapping", "this import has already started.")
    if upsert_key not in ContactImport.UpsertKey.values:
        raise _invalid("upsert_key", "match contacts by email or by external id.")
    clean: dict[str, str] = {}
    used: dict[str, str] = {}
    for header in contact_import.headers:
        target = (mapping.get(header) or "").strip()
        if not target:
            continue
        if target.startswith(ATTRIBUTE_TARGET):
            key = target[len(ATTRIBUTE_TARGET) :]
            if not _attribute_key_ok(key):
                raise _invalid(
                    f"mapping.{header}",
                    f"'{key}' cannot be an attribute name (letters, digits, _ . -; not a contact field).",
                )
        elif target not in FIELD_TARGETS:
            raise _invalid(f"mapping.{header}", f"unknown target '{target}'.")
        if target in used:
            raise _invalid(f"mapping.{header}", f"“{used[target]}” is already mapped there.")
        used[target] = header
        clean[header] = target
    if upsert_key not in used:
        label = FIELD_TARGETS[upsert_key]
        raise _invalid("upsert_key", f"map a column to {label} to match contacts by it.")
    over = attributes_over_limit(
        workspace=contact_import.workspace,
        keys=[t[len(ATTRIBUTE_TARGET) :] for t in used if t.startswith(ATTRIBUTE_TARGET)],
    )
    if over:
        key = over[0]
        raise _invalid(f"mapping.{used[ATTRIBUTE_TARGET + key]}", attribute_limit_message() + ".")
    contact_import.mapping = clean
    contact_import.upsert_key = upsert_key
    contact_import.tags = tags_clean(tags)
    contact_import.status = ContactImport.Status.QUEUED
    contact_import.save()
    from contacts.import_tasks import contacts_import_run

    workspace_id, import_id = contact_import.workspace_id, contact_import.pk
    transaction.on_commit(lambda: contacts_import_run.delay(workspace_id, import_id))
    return contact_import


# --- Running ----------------------------------------------------------------------------------


class RowError(Exception):
    pass


@dataclass
class _Context:
    workspace: Workspace
    contact_import: ContactImport
    attribute_types: dict[str, str]
    owners: dict[str, int]
    key: str


def _parse_row(ctx: _Context, number: int, cells: list[str]) -> ParsedRow:
    row = ParsedRow(number=number, cells=cells, tags=list(ctx.contact_import.tags))
    for index, header in enumerate(ctx.contact_import.headers):
        target = ctx.contact_import.mapping.get(header)
        raw = cells[index].strip()
        if not target or not raw:
            continue
        try:
            _parse_cell(ctx, row, target, raw)
        except ValidationFailed as error:
            message = next(iter(error.fields.values()), [error.message])
            text = message[0] if isinstance(message, list) else str(message)
            raise RowError(f"{header}: {text}")
    if not row.fields.get(ctx.key):
        raise RowError(f"{FIELD_TARGETS[ctx.key]} is empty (it is how contacts are matched).")
    return row


def _parse_cell(ctx: _Context, row: ParsedRow, target: str, raw: str) -> None:
    if target.startswith(ATTRIBUTE_TARGET):
        key = target[len(ATTRIBUTE_TARGET) :]
        kind = ctx.attribute_types.get(key, AttributeDefinition.Type.STRING)
        row.attributes[key] = attribute_value_clean(kind=kind, value=raw, field=key)
    elif target == "email":
        row.fields["email"] = email_normalize(raw, field="email")
    elif target == "phone":
        country = row.fields.get("country", "")
        row.fields["phone"] = phone_normalize(
            raw, field="phone", region=country if len(country) == 2 else None
        )
    elif target == "tags":
        row.tags = list(dict.fromkeys([*row.tags, *tags_clean(re.split(r"[;,]", raw))]))
    elif target in ("email_consent", "sms_consent"):
        status = CONSENT_WORDS.get(_header_key(raw))
        if status is None:
            raise _invalid(target, "use subscribed/unsubscribed (or yes/no).")
        row.consent[target.split("_")[0]] = status
    elif target == "lifecycle_stage":
        stage = _header_key(raw)
        if stage not in LifecycleStage.values:
            raise _invalid(target, f"use one of {', '.join(LifecycleStage.values)}.")
        row.fields["lifecycle_stage"] = stage
    elif target == "timezone":
        try:
            ZoneInfo(raw)
        except (ZoneInfoNotFoundError, ValueError):
            raise _invalid(target, f"'{raw}' is not a time zone like Europe/Berlin.")
        row.fields["timezone"] = raw
    elif target == "owner":
        owner_id = ctx.owners.get(raw.lower())
        if owner_id is None:
            raise _invalid(target, f"{raw} is not a member of this workspace.")
        row.fields["owner_id"] = owner_id
    else:  # plain text: names, company, job title, country, city, external id
        max_length = Contact._meta.get_field(target).max_length  # type: ignore[union-attr]
        if max_length and len(raw) > max_length:
            raise _invalid(target, f"at most {max_length} characters.")
        row.fields[target] = raw


def _attribute_types(workspace: Workspace, contact_import: ContactImport) -> dict[str, str]:
    """The registered type of every mapped attribute; new ones are registered now with the
    type their values suggest (all numbers → number, all yes/no → boolean, dates → date)."""
    keys = {
        header: target[len(ATTRIBUTE_TARGET) :]
        for header, target in contact_import.mapping.items()
        if target.startswith(ATTRIBUTE_TARGET)
    }
    if not keys:
        return {}
    known = dict(
        AttributeDefinition.objects.for_workspace(workspace)
        .filter(key__in=list(keys.values()))
        .values_list("key", "type")
    )
    missing = {header: key for header, key in keys.items() if key not in known}
    if missing:
        samples: dict[str, list[str]] = {key: [] for key in missing.values()}
        positions = {header: contact_import.headers.index(header) for header in missing}
        for n, (_, cells) in enumerate(_data_rows(contact_import)):
            for header, key in missing.items():
                value = cells[positions[header]].strip()
                if value and len(samples[key]) < 200:
                    samples[key].append(value)
            if n >= 2000:
                break
        new = [
            AttributeDefinition(workspace=workspace, key=key, type=_type_of_samples(values))
            for key, values in samples.items()
        ]
        AttributeDefinition.objects.bulk_create(new, ignore_conflicts=True)
        known = dict(
            AttributeDefinition.objects.for_workspace(workspace)
            .filter(key__in=list(keys.values()))
            .values_list("key", "type")
        )
    return known


_NUMBER_RE = re.compile(r"^-?\d+(\.\d+)?$")


def _type_of_samples(values: list[str]) -> str:
    """The type most values fit: 90% numbers make a number column (the odd typo is then
    reported as a bad row instead of turning the whole column into text)."""
    Type = AttributeDefinition.Type
    if not values:
        return Type.STRING

    def share(test: Any) -> float:
        return sum(1 for v in values if test(v)) / len(values)

    if share(_NUMBER_RE.match) >= 0.9:
        return Type.NUMBER
    if share(lambda v: v.lower() in ("true", "false", "yes", "no")) >= 0.9:
        return Type.BOOLEAN
    if share(_is_date) >= 0.9:
        return Type.DATE
    return Type.STRING


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


ANALYZE_AFTER_ROWS = 10_000


def import_run(*, workspace: Workspace, import_id: int) -> ContactImport | None:
    """Import every row not imported yet, chunk by chunk (resumable). Marks the import
    completed, or failed with the reason."""
    contact_import = ContactImport.objects.for_workspace(workspace).filter(pk=import_id).first()
    if contact_import is None or contact_import.is_finished:
        return contact_import
    if contact_import.status == ContactImport.Status.MAPPING:
        return contact_import
    try:
        _run(workspace, contact_import)
    except Exception as error:  # an unexpected failure: say so on the page, keep the log
        logger.exception("import %s failed", import_id)
        ContactImport.objects.filter(pk=import_id).update(
            status=ContactImport.Status.FAILED,
            failure=f"The import stopped: {error}"[:2000],
            finished_at=timezone.now(),
        )
        raise
    contact_import.refresh_from_db()
    return contact_import


def _run(workspace: Workspace, contact_import: ContactImport) -> None:
    ContactImport.objects.filter(pk=contact_import.pk).update(
        status=ContactImport.Status.RUNNING, started_at=contact_import.started_at or timezone.now()
    )
    ctx = _Context(
        workspace=workspace,
        contact_import=contact_import,
        attribute_types=_attribute_types(workspace, contact_import),
        owners={
            email.lower(): user_id
            for user_id, email in Membership.objects.for_workspace(workspace).values_list(
                "user_id", "user__email"
            )
        },
        key=contact_import.upsert_key,
    )
    done = contact_import.processed_rows
    chunk: list[tuple[int, list[str]]] = []
    for index, item in enumerate(_data_rows(contact_import)):
        if index < done:
            continue  # committed by an earlier run of this task
        chunk.append(item)
        if len(chunk) >= CHUNK_ROWS:
            _chunk_import(ctx, chunk)
            chunk = []
    if chunk:
        _chunk_import(ctx, chunk)
    ContactImport.objects.filter(pk=contact_import.pk).update(
        status=ContactImport.Status.COMPLETED, finished_at=timezone.now()
    )
    if contact_import.total_rows >= ANALYZE_AFTER_ROWS:
        # A big import can change the table's shape faster than autovacuum notices (or
        # autovacuum is off): fresh statistics keep segment counts and lists planned well.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE contacts_contact")


def _chunk_import(ctx: _Context, chunk: list[tuple[int, list[str]]]) -> None:
    for attempt in range(3):
        try:
            with transaction.atomic():
                _chunk_import_once(ctx, chunk)
            return
        except IntegrityError:
            # A concurrent writer created one of these contacts between our SELECT and our
            # INSERT: the next attempt finds it and updates it instead.
            if attempt == 2:
                raise


def _chunk_import_once(ctx: _Context, chunk: list[tuple[int, list[str]]]) -> None:
    imp = ContactImport.objects.select_for_update().get(pk=ctx.contact_import.pk)
    outcome = ChunkOutcome()
    rows: dict[str, ParsedRow] = {}
    for number, cells in chunk:
        try:
            row = _parse_row(ctx, number, cells)
        except RowError as error:
            outcome.errors.append({"row": number, "error": str(error), "values": cells})
            continue
        key = row.fields[ctx.key]
        if key in rows:
            rows[key].absorb(row)
        else:
            rows[key] = row
    fast, slow = rows_classify(workspace=ctx.workspace, key=ctx.key, rows=rows)
    # New contacts get their ids in one INSERT at the end: their consent changes (and the
    # updated contacts') are announced to the consent log then, all in one go.
    with consent_changes_collected():
        rows_write(workspace=ctx.workspace, key=ctx.key, fast=fast, outcome=outcome)
    for row in slow:
        row_upsert(workspace=ctx.workspace, row=row, outcome=outcome)
    if outcome.changed:
        events_enqueue_processing(
            workspace=ctx.workspace,
            event_ids=[],
            changed_fields={pk: fields for pk, fields in outcome.changed.items()},
        )
    room = max(0, MAX_STORED_ERRORS - len(imp.errors))
    imp.errors = [*imp.errors, *outcome.errors[:room]]
    imp.processed_rows += len(chunk)
    imp.created_count += outcome.created
    imp.updated_count += outcome.updated
    imp.error_count += len(outcome.errors)
    imp.save(
        update_fields=[
            "errors",
            "processed_rows",
            "created_count",
            "updated_count",
            "error_count",
            "updated_at",
        ]
    )


# --- Error report -----------------------------------------------------------------------------


def import_error_report(*, contact_import: ContactImport) -> Iterator[list[str]]:
    """The rejected rows as CSV rows: row number, reason, then the original cells."""
    yield ["row", "error", *contact_import.headers]
    for item in contact_import.errors:
        yield [str(item["row"]), item["error"], *item.get("values", [])]
