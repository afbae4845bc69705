"""Writing one chunk of a CSV import (contacts/services/imports.py parses the rows).

Who each row is about is decided by `resolver.identity_resolve`, as for every writer; this
module only batches the writes. `rows_classify` gathers the candidates of a whole chunk
(one locked SELECT of the contacts holding the rows' keys, one of those holding their other
identifier) and keeps for `rows_write` the rows whose decision the set-based write carries
out exactly — a new contact, or the one the key names, nothing merged, no identifier
another contact keeps or that the contact has with another value. `rows_write` writes those
with a COPY into a temporary table and one INSERT … SELECT / one UPDATE … FROM; every other
row goes through `contact_upsert` (`row_upsert`), one by one, exactly as an identify call.
Values follow the same precedence as traits: a non-empty cell replaces the stored value,
an empty cell never erases anything, tags are added, attributes merged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from contacts.models import Contact
from contacts.services.identity import contact_candidate, contact_set_consent, contact_upsert
from contacts.services.resolver import Incoming, identity_resolve
from workspaces.errors import ValidationFailed
from workspaces.models import Workspace

TEXT_TARGETS = ("first_name", "last_name", "company", "job_title", "country", "city")


@dataclass
class ParsedRow:
    number: int
    cells: list[str]
    fields: dict[str, Any] = field(default_factory=dict)  # contact field → clean value
    attributes: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    consent: dict[str, str] = field(default_factory=dict)  # channel → status

    def absorb(self, later: ParsedRow) -> None:
        """A later row for the same contact in the same chunk: its non-empty values win."""
        self.fields.update(later.fields)
        self.attributes.update(later.attributes)
        self.tags = list(dict.fromkeys([*self.tags, *later.tags]))
        self.consent.update(later.consent)


@dataclass
class ChunkOutcome:
    """What a chunk did: counts, rejected rows, the fields changed per contact."""

    created: int = 0
    updated: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    changed: dict[int, set[str]] = field(default_factory=dict)


def rows_classify(
    *, workspace: Workspace, key: str, rows: dict[str, ParsedRow]
) -> tuple[list[tuple[ParsedRow, Contact | None]], list[ParsedRow]]:
    """Split rows into those a set-based write handles (with the existing contact, locked,
    or None for a new one) and those that need contact_upsert (a merge, an identifier
    another contact keeps or one the contact has with another value). The resolver decides
    on the contacts holding the row's email and external id, found for the whole chunk."""
    other = "external_id" if key == "email" else "email"
    existing = {
        getattr(c, key): c
        for c in Contact.objects.for_workspace(workspace)
        .filter(**{f"{key}__in": list(rows)})
        .select_for_update()
        .order_by("pk")
    }
    secondary = [row.fields[other] for row in rows.values() if row.fields.get(other)]
    holders = (
        {
            getattr(c, other): c
            for c in Contact.objects.for_workspace(workspace)
            .filter(**{f"{other}__in": secondary})
            .only("pk", "external_id", "email", "anonymous_ids", "phone")
        }
        if secondary
        else {}
    )
    fast: list[tuple[ParsedRow, Contact | None]] = []
    slow: list[ParsedRow] = []
    taken_in_chunk: set[str] = set()
    for value, row in rows.items():
        contact = existing.get(value)
        second = row.fields.get(other, "")
        # Two rows of the chunk naming one contact by their other identifier: the
        # set-based write could not order them.
        if second and second in taken_in_chunk:
            slow.append(row)
        elif _write_as_decided(key, value, second, contact, holders.get(second)):
            fast.append((row, contact))
        else:
            slow.append(row)
        if second:
            taken_in_chunk.add(second)
    return fast, slow


def _write_as_decided(
    key: str, value: str, second: str, contact: Contact | None, holder: Contact | None
) -> bool:
    """Whether the chunk's write (which stores every identifier of the row on the contact
    found by the key, or on a new one) is what the resolver decides for this row."""
    identifiers = {key: value, ("external_id" if key == "email" else "email"): second}
    candidates = [contact_candidate(c) for c in (contact, holder) if c is not None]
    decision = identity_resolve(
        Incoming(external_id=identifiers["external_id"], email=identifiers["email"]),
        {c.id: c for c in candidates}.values(),
    )
    if not decision.plain or decision.replaces:
        return False
    if decision.contact != (contact.pk if contact is not None else None):
        return False
    return all(
        name in decision.record
        for name, given in identifiers.items()
        if given and (contact is None or getattr(contact, name) != given)
    )


_WRITABLE = (
    "email",
    "external_id",
    "phone",
    *TEXT_TARGETS,
    "timezone",
    "lifecycle_stage",
    "owner_id",
)


def _apply_row(contact: Contact, row: ParsedRow, now: Any) -> set[str]:
    """Apply a row to a contact in memory with contact_upsert's precedence; changed names."""
    changed: set[str] = set()
    for name in _WRITABLE:
        value = row.fields.get(name)
        if value not in (None, "") and getattr(contact, name) != value:
            setattr(contact, name, value)
            changed.add("owner" if name == "owner_id" else name)
    if row.attributes:
        merged = {**contact.attributes, **row.attributes}
        if merged != contact.attributes:
            changed |= {k for k, v in row.attributes.items() if contact.attributes.get(k) != v}
            contact.attributes = merged
    if row.tags:
        tags = list(dict.fromkeys([*contact.tags, *row.tags]))
        if tags != contact.tags:
            contact.tags = tags
            changed.add("tags")
    for channel, status in row.consent.items():
        changed |= contact_set_consent(
            contact=contact, channel=channel, status=status, source="import", at=now, save=False
        )
    return changed


_UPDATE_COLUMNS = (
    *_WRITABLE,
    "attributes",
    "tags",
    "email_consent",
    "email_consent_source",
    "email_consent_at",
    "sms_consent",
    "sms_consent_source",
    "sms_consent_at",
    "updated_at",
)


def rows_write(
    *,
    workspace: Workspace,
    key: str,
    fast: list[tuple[ParsedRow, Contact | None]],
    outcome: ChunkOutcome,
) -> None:
    """Write the rows `rows_classify` found plain: one UPDATE and one INSERT for all."""
    now = timezone.now()
    to_update: list[Contact] = []
    to_create: list[Contact] = []
    created_changes: list[set[str]] = []
    for row, contact in fast:
        if contact is None:
            new = Contact(workspace=workspace, created_at=now, updated_at=now)
            created_changes.append(_apply_row(new, row, now) | {"created"})
            to_create.append(new)
        else:
            changed = _apply_row(contact, row, now)
            if changed:
                contact.updated_at = now
                to_update.append(contact)
                outcome.changed[contact.pk] = changed
            outcome.updated += 1
    if to_update:
        _update_many(to_update)
    if to_create:
        _insert_many(to_create, key=key)
        for new, changed in zip(to_create, created_changes, strict=True):
            outcome.changed[new.pk] = changed
        outcome.created += len(to_create)


# Bulk writes go through COPY into a temporary table and one set-based statement from
# there: a multi-row VALUES list is parsed (by Django, psycopg and Postgres) in time that
# grows with its length, COPY streams.


def _copy_to_temp(table: str, fields: list[Any], contacts: list[Contact]) -> None:
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    names = [f.attname for f in fields]
    json_at = {n for n, f in enumerate(fields) if f.get_internal_type() == "JSONField"}
    with connection.cursor() as cursor:
        cursor.execute(
            # Identifiers come from the model's own fields, not from input.
            f"CREATE TEMP TABLE {table} ON COMMIT DROP AS "  # noqa: S608
            f"SELECT {columns} FROM contacts_contact WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for contact in contacts:
                row = [getattr(contact, name) for name in names]
                for n in json_at:
                    row[n] = Jsonb(row[n])
                copy.write_row(row)


def _insert_many(contacts: list[Contact], *, key: str) -> None:
    """INSERT the new contacts (COPY → INSERT … SELECT … RETURNING) and set their ids."""
    fields = [f for f in Contact._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    _copy_to_temp("contacts_import_new", fields, contacts)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO contacts_contact ({columns}) SELECT {columns} "  # noqa: S608
            f"FROM contacts_import_new RETURNING id, {connection.ops.quote_name(key)}"
        )
        ids = dict((value, pk) for pk, value in cursor.fetchall())
        cursor.execute("DROP TABLE contacts_import_new")
    for contact in contacts:
        contact.pk = ids[getattr(contact, key)]


def _update_many(contacts: list[Contact]) -> None:
    """UPDATE the changed contacts from a COPY of their new values, in one statement."""
    fields = [Contact._meta.get_field("id")] + [
        Contact._meta.get_field(name) for name in _UPDATE_COLUMNS
    ]
    _copy_to_temp("contacts_import_changed", fields, contacts)
    assignments = ", ".join(
        f"{connection.ops.quote_name(str(f.column))} = u.{connection.ops.quote_name(str(f.column))}"  # type: ignore[union-attr]
        for f in fields[1:]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE contacts_contact AS c SET {assignments} "  # noqa: S608
            "FROM contacts_import_changed AS u WHERE c.id = u.id AND c.workspace_id = %s",
            [contacts[0].workspace_id],
        )
        cursor.execute("DROP TABLE contacts_import_changed")


def row_upsert(*, workspace: Workspace, row: ParsedRow, outcome: ChunkOutcome) -> None:
    """One row through contact_upsert (merges and all), in a savepoint of its own."""
    fields = row.fields
    traits: dict[str, Any] = {
        k: v for k, v in fields.items() if k in TEXT_TARGETS or k in ("timezone", "lifecycle_stage")
    }
    traits.update(row.attributes)
    if row.tags:
        traits["tags"] = row.tags
    try:
        with transaction.atomic():
            contact, changed = contact_upsert(
                workspace=workspace,
                email=fields.get("email"),
                external_id=fields.get("external_id"),
                phone=fields.get("phone"),
                traits=traits,
                source="import",
            )
            extra = False
            if fields.get("owner_id") and contact.owner_id != fields["owner_id"]:
                contact.owner_id = fields["owner_id"]
                changed.add("owner")
                extra = True
            for channel, status in row.consent.items():
                consent = contact_set_consent(
                    contact=contact, channel=channel, status=status, source="import", save=False
                )
                changed |= consent
                extra = extra or bool(consent)
            if extra:
                contact.save()
    except ValidationFailed as error:
        outcome.errors.append({"row": row.number, "error": error.message, "values": row.cells})
        return
    if "created" in changed:
        outcome.created += 1
    else:
        outcome.updated += 1
    if changed:
        outcome.changed.setdefault(contact.pk, set()).update(changed)


__all__ = ["ChunkOutcome", "ParsedRow", "TEXT_TARGETS", "row_upsert", "rows_classify", "rows_write"]
