"""Edits people make to contacts (management API, contact pages): create, update, tags,
delete, and the attribute registry.

Identity (who a call is about, normalisation, merging) lives in `identity`; this module
reuses its normalisers so an email typed in the UI is stored exactly as one sent by an
integration. Every change enqueues the events_ingested pipeline with the changed fields,
so segments and scoring react to an edit as they do to an identify call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import parser as date_parser  # type: ignore[import-untyped]
from django.db import connection, transaction

from contacts.models import AttributeDefinition, ConsentStatus, Contact, LifecycleStage
from contacts.services import (
    attribute_limit_message,
    attributes_admit,
    attributes_over_limit,
    attributes_register,
    contact_set_consent,
    contact_upsert,
    email_normalize,
    events_enqueue_processing,
    phone_normalize,
)
from workspaces.errors import Conflict, NotFound, ValidationFailed
from workspaces.models import Membership, Workspace

TEXT_FIELDS = ("first_name", "last_name", "company", "job_title", "country", "city")
EDITABLE_FIELDS = (
    "email",
    "phone",
    *TEXT_FIELDS,
    "timezone",
    "lifecycle_stage",
    "owner",
    "tags",
    "attributes",
    "external_id",
    "email_consent",
    "sms_consent",
)
# Names an attribute may not take: they are contact fields, and a segment condition
# {"field": "email"} must mean one thing.
RESERVED_ATTRIBUTE_KEYS = {f.name for f in Contact._meta.get_fields()} | {"owner_id", "tag"}
ATTRIBUTE_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,99}$")
TAG_MAX = 100


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", fields={field: [message]})


# --- Values ------------------------------------------------------------------------------


def tags_clean(tags: Iterable[Any], *, field: str = "tags") -> list[str]:
    """Stripped, non-empty, de-duplicated (order kept), each at most 100 characters."""
    clean: list[str] = []
    for tag in tags:
        if not isinstance(tag, str):
            raise _invalid(field, "tags are strings.")
        tag = tag.strip()
        if len(tag) > TAG_MAX:
            raise _invalid(field, f"a tag has at most {TAG_MAX} characters.")
        if tag and tag not in clean:
            clean.append(tag)
    return clean


_TRUE = {"true", "yes", "1", "y", "on"}
_FALSE = {"false", "no", "0", "n", "off"}


def attribute_value_clean(*, kind: str, value: Any, field: str) -> Any:
    """`value` as the registered type wants it, or ValidationFailed naming `field`.

    Accepts JSON values (API) and text (HTML forms, CSV cells): "42" is a number for a
    number attribute, "yes" a boolean for a boolean one, "a, b" a list for a list one.
    """
    Type = AttributeDefinition.Type
    if kind == Type.NUMBER:
        if isinstance(value, bool):
            raise _invalid(field, "expected a number.")
        if isinstance(value, int | float):
            return value
        try:
            number = float(str(value).strip().replace(",", ""))
        except ValueError:
            raise _invalid(field, f"expected a number, got {value!r}.")
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind == Type.BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise _invalid(field, f"expected true or false, got {value!r}.")
    if kind == Type.DATE:
        try:
            return date.fromisoformat(str(value).strip()[:10]).isoformat()
        except ValueError:
            raise _invalid(field, f"expected a date (YYYY-MM-DD), got {value!r}.")
    if kind == Type.DATETIME:
        try:
            return date_parser.isoparse(str(value).strip()).isoformat()
        except (ValueError, OverflowError):
            raise _invalid(field, f"expected an ISO 8601 date-time, got {value!r}.")
    if kind == Type.LIST:
        if isinstance(value, list):
            return value
        return [part.strip() for part in str(value).split(",") if part.strip()]
    if isinstance(value, dict | list):
        return value  # untyped structured data is kept as sent
    return value if isinstance(value, str) else str(value) if value is not None else value


def attributes_clean(
    *, workspace: Workspace, values: Mapping[str, Any], field: str = "attributes"
) -> dict[str, Any]:
    """Validate custom attribute values against the registry. `None` means "remove"."""
    if not isinstance(values, Mapping):
        raise _invalid(field, "must be an object of attribute names to values.")
    types = dict(
        AttributeDefinition.objects.for_workspace(workspace)
        .filter(key__in=list(values))
        .values_list("key", "type")
    )
    clean: dict[str, Any] = {}
    for key, value in values.items():
        where = f"{field}.{key}"
        if not isinstance(key, str) or not ATTRIBUTE_KEY_RE.match(key):
            raise _invalid(
                where, "attribute names start with a letter and use letters, digits, _ . -"
            )
        if key in RESERVED_ATTRIBUTE_KEYS:
            raise _invalid(where, f"'{key}' is a contact field; set it directly.")
        if value is None or value == "":
            clean[key] = None
        elif key in types:
            clean[key] = attribute_value_clean(kind=types[key], value=value, field=where)
        else:
            clean[key] = value
    return clean


def _owner_clean(workspace: Workspace, owner: Any) -> int | None:
    if owner in (None, ""):
        return None
    try:
        owner_id = int(owner)
    except (TypeError, ValueError):
        raise _invalid("owner", "expected the id of a workspace member.")
    if not Membership.objects.for_workspace(workspace).filter(user_id=owner_id).exists():
        raise _invalid("owner", "is not a member of this workspace.")
    return owner_id


def _text_clean(field: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _invalid(field, "must be a string.")
    value = value.strip()
    max_length = Contact._meta.get_field(field).max_length  # type: ignore[union-attr]
    if max_length and len(value) > max_length:
        raise _invalid(field, f"at most {max_length} characters.")
    return value


def _unique_identifier(
    workspace: Workspace, contact: Contact | None, field: str, value: str
) -> None:
    if not value:
        return
    others = Contact.objects.for_workspace(workspace).filter(**{field: value})
    if contact is not None and contact.pk:
        others = others.exclude(pk=contact.pk)
    other = others.only("pk").first()
    if other is not None:
        label = "email" if field == "email" else "external id"
        raise Conflict(
            f"{field}: another contact (#{other.pk}) already has this {label}.",
            fields={field: [f"Another contact (#{other.pk}) already has this {label}."]},
            code="duplicate_contact",
        )


def _profile_values(
    workspace: Workspace, contact: Contact, data: Mapping[str, Any]
) -> dict[str, Any]:
    """Validated new values for the plain profile fields present in `data`."""
    values: dict[str, Any] = {}
    if "country" in data:
        values["country"] = _text_clean("country", data["country"])
    for name in TEXT_FIELDS:
        if name in data and name != "country":
            values[name] = _text_clean(name, data[name])
    if "email" in data:
        raw = data["email"] or ""
        values["email"] = email_normalize(raw, field="email") if raw.strip() else ""
        _unique_identifier(workspace, contact, "email", values["email"])
    if "external_id" in data:
        values["external_id"] = _text_clean("external_id", data["external_id"])
        _unique_identifier(workspace, contact, "external_id", values["external_id"])
    if "phone" in data:
        raw = data["phone"] or ""
        country = values.get("country", contact.country)
        region = country if len(country) == 2 else None
        values["phone"] = phone_normalize(raw, field="phone", region=region) if raw.strip() else ""
    if "timezone" in data:
        tz = _text_clean("timezone", data["timezone"])
        if tz:
            try:
                ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                raise _invalid("timezone", f"'{tz}' is not an IANA time zone (e.g. Europe/Berlin).")
        values["timezone"] = tz
    if "lifecycle_stage" in data:
        if data["lifecycle_stage"] not in LifecycleStage.values:
            raise _invalid("lifecycle_stage", f"must be one of {', '.join(LifecycleStage.values)}.")
        values["lifecycle_stage"] = data["lifecycle_stage"]
    if "owner" in data:
        values["owner_id"] = _owner_clean(workspace, data["owner"])
    if "tags" in data:
        values["tags"] = tags_clean(data["tags"] or [])
    return values


# --- Contacts ----------------------------------------------------------------------------


def _apply_edit(
    workspace: Workspace, contact: Contact, data: Mapping[str, Any], source: str
) -> set[str]:
    """Validate everything first, then apply to `contact` in memory; returns changed names."""
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        name = sorted(unknown)[0]
        raise _invalid(name, "unknown field; custom data goes in attributes.")
    values = _profile_values(workspace, contact, data)
    attributes = (
        attributes_clean(workspace=workspace, values=data["attributes"] or {})
        if "attributes" in data
        else {}
    )
    for channel in ("email", "sms"):
        status = data.get(f"{channel}_consent")
        if status is not None and status not in ConsentStatus.values:
            raise _invalid(
                f"{channel}_consent", f"must be one of {', '.join(ConsentStatus.values)}."
            )

    changed: set[str] = set()
    for name, value in values.items():
        if getattr(contact, name) != value:
            setattr(contact, name, value)
            changed.add("owner" if name == "owner_id" else name)
    if attributes:
        merged = dict(contact.attributes)
        for key, value in attributes.items():
            if value is None:
                if key in merged:
                    del merged[key]
                    changed.add(key)
            elif merged.get(key) != value:
                merged[key] = value
                changed.add(key)
        contact.attributes = merged
        attributes_admit(
            workspace=workspace,
            attributes={k: v for k, v in attributes.items() if v is not None},
            problems=None,
            where="attributes",
        )
        attributes_register(
            workspace=workspace, values={k: v for k, v in attributes.items() if v is not None}
        )
    for channel in ("email", "sms"):
        status = data.get(f"{channel}_consent")
        if status is not None:
            changed |= contact_set_consent(
                contact=contact, channel=channel, status=status, source=source, save=False
            )
    return changed


@transaction.atomic
def contact_update(
    *, workspace: Workspace, contact: Contact, data: Mapping[str, Any], source: str = "api"
) -> tuple[Contact, set[str]]:
    """Change the fields in `data` (a partial update). All-or-nothing: a bad value raises
    ValidationFailed/Conflict naming the field and nothing is stored."""
    locked = (
        Contact.objects.for_workspace(workspace).select_for_update().filter(pk=contact.pk).first()
    )
    if locked is None:
        raise NotFound("No such contact.")
    changed = _apply_edit(workspace, locked, data, source)
    if changed:
        locked.save()
        events_enqueue_processing(
            workspace=workspace, event_ids=[], changed_fields={locked.pk: changed}
        )
    return locked, changed


@transaction.atomic
def contact_upsert_by_identifier(
    *,
    workspace: Workspace,
    data: Mapping[str, Any],
    external_id: str = "",
    anonymous_id: str = "",
    source: str = "api",
) -> tuple[Contact, bool]:
    """Find the contact an integration names by its own id (external_id, Segment's userId)
    or by an anonymous id — with the email/phone in `data`, by identify's rules
    (contact_upsert: one identity path) — or create it; then apply the rest of `data` as an
    edit. Returns (contact, created). All-or-nothing: a bad value raises ValidationFailed
    naming the field and nothing is stored."""
    given = (data.get("external_id") or "").strip()
    if external_id and given and given != external_id:
        raise _invalid("external_id", "differs from the user id in the address.")
    email = (data.get("email") or "").strip()
    phone = (data.get("phone") or "").strip()
    contact, changed = contact_upsert(
        workspace=workspace,
        external_id=external_id or given or None,
        anonymous_id=anonymous_id or None,
        email=email or None,
        phone=phone or None,
        source=source,
    )
    rest = {k: v for k, v in data.items() if k not in ("email", "external_id", "phone")}
    changed |= _apply_edit(workspace, contact, rest, source)
    contact.save()
    if changed:
        events_enqueue_processing(
            workspace=workspace, event_ids=[], changed_fields={contact.pk: changed}
        )
    return contact, "created" in changed


@transaction.atomic
def contact_create(
    *, workspace: Workspace, data: Mapping[str, Any], source: str = "api"
) -> Contact:
    """Create a contact from management data. An email/external id/phone that already names a
    contact is a Conflict (create never silently updates someone else)."""
    email = (data.get("email") or "").strip()
    external_id = (data.get("external_id") or "").strip()
    phone = (data.get("phone") or "").strip()
    if email:
        _unique_identifier(workspace, None, "email", email_normalize(email, field="email"))
    if external_id:
        _unique_identifier(workspace, None, "external_id", external_id)
    if not (email or external_id or phone):
        raise _invalid("email", "a contact needs an email, a phone number or an external_id.")
    contact, changed = contact_upsert(
        workspace=workspace,
        email=email or None,
        external_id=external_id or None,
        phone=phone or None,
        source=source,
    )
    if "created" not in changed:
        raise Conflict(
            f"phone: another contact (#{contact.pk}) already has this phone number.",
            fields={"phone": [f"Another contact (#{contact.pk}) already has this phone number."]},
            code="duplicate_contact",
        )
    rest = {k: v for k, v in data.items() if k not in ("email", "external_id", "phone")}
    changed |= _apply_edit(workspace, contact, rest, source)
    contact.save()
    events_enqueue_processing(
        workspace=workspace, event_ids=[], changed_fields={contact.pk: changed}
    )
    return contact


def _tags_change(workspace: Workspace, contact: Contact, tags: list[str], add: bool) -> Contact:
    locked = (
        Contact.objects.for_workspace(workspace).select_for_update().filter(pk=contact.pk).first()
    )
    if locked is None:
        raise NotFound("No such contact.")
    if add:
        new = list(dict.fromkeys([*locked.tags, *tags]))
    else:
        new = [tag for tag in locked.tags if tag not in tags]
    if new != locked.tags:
        locked.tags = new
        locked.save(update_fields=["tags", "updated_at"])
        events_enqueue_processing(
            workspace=workspace, event_ids=[], changed_fields={locked.pk: {"tags"}}
        )
    return locked


@transaction.atomic
def contact_tags_add(*, workspace: Workspace, contact: Contact, tags: Iterable[str]) -> Contact:
    clean = tags_clean(tags)
    if not clean:
        raise _invalid("tags", "give at least one tag.")
    return _tags_change(workspace, contact, clean, add=True)


@transaction.atomic
def contact_tags_remove(*, workspace: Workspace, contact: Contact, tags: Iterable[str]) -> Contact:
    return _tags_change(workspace, contact, tags_clean(tags), add=False)


# Tags written for many contacts at once (workflows' tag steps): these leave telling the
# events pipeline to the caller, so a chunk of runs sends one task for all its contacts.

TAGS_ADD_SQL = """
UPDATE contacts_contact SET updated_at = now(), tags = tags || ARRAY(
    SELECT t FROM unnest(%s::varchar[]) WITH ORDINALITY AS u(t, n) WHERE NOT t = ANY(tags) ORDER BY n)
WHERE workspace_id = %s AND id = %s AND NOT tags @> %s::varchar[]
RETURNING tags
"""
TAGS_REMOVE_SQL = """
UPDATE contacts_contact SET updated_at = now(), tags = ARRAY(
    SELECT t FROM unnest(tags) WITH ORDINALITY AS u(t, n) WHERE NOT t = ANY(%s::varchar[]) ORDER BY n)
WHERE workspace_id = %s AND id = %s AND tags && %s::varchar[]
RETURNING tags
"""
TAGS_WRITE_SQL = """
UPDATE contacts_contact AS c
SET tags = ARRAY(SELECT jsonb_array_elements_text(u.tags::jsonb)), updated_at = now()
FROM unnest(%s::bigint[], %s::text[]) AS u(id, tags)
WHERE c.workspace_id = %s AND c.id = u.id
"""


def tags_changed(current: list[str], tags: Iterable[Any], *, add: bool) -> list[str] | None:
    """The contact's tags after adding / removing `tags` (cleaned by tags_clean), or None
    when nothing changes. Computes only; contacts_tags_write stores the result."""
    clean = tags_clean(tags)
    if add:
        new = [*current, *[t for t in clean if t not in current]]
    else:
        new = [t for t in current if t not in clean]
    return new if new != list(current) else None


def contacts_tags_write(*, workspace: Workspace, contacts: list[Contact]) -> None:
    """Write these contacts' `tags` as they are on the objects (computed by tags_changed on
    rows the caller has locked) in one statement. Does not tell the events pipeline."""
    with connection.cursor() as cursor:
        cursor.execute(
            TAGS_WRITE_SQL,
            [[c.pk for c in contacts], [json.dumps(list(c.tags)) for c in contacts], workspace.pk],
        )


def contact_tags_apply(
    *, workspace: Workspace, contact: Contact, tags: Iterable[Any], add: bool
) -> list[str] | None:
    """Add or remove tags in one atomic UPDATE; returns the new tags, or None if nothing
    changed. Unlike contact_tags_add/remove (one events-pipeline task per call), this does
    not tell the events pipeline."""
    clean = tags_clean(tags)
    if not clean:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            TAGS_ADD_SQL if add else TAGS_REMOVE_SQL, [clean, workspace.pk, contact.pk, clean]
        )
        row = cursor.fetchone()
    return list(row[0]) if row else None


@transaction.atomic
def contact_delete(*, workspace: Workspace, contact: Contact) -> None:
    """Delete the contact and everything that hangs off it (its events cascade)."""
    deleted, _ = Contact.objects.for_workspace(workspace).filter(pk=contact.pk).delete()
    if not deleted:
        raise NotFound("No such contact.")


# --- Attribute registry ------------------------------------------------------------------


def _attribute_key_clean(key: Any) -> str:
    if not isinstance(key, str) or not ATTRIBUTE_KEY_RE.match(key.strip()):
        raise _invalid("key", "start with a letter; use letters, digits, _ . - (at most 100).")
    key = key.strip()
    if key in RESERVED_ATTRIBUTE_KEYS:
        raise _invalid("key", f"'{key}' is a contact field, not a custom attribute.")
    return key


@transaction.atomic
def attribute_definition_create(
    *, workspace: Workspace, key: str, type: str, label: str = ""
) -> AttributeDefinition:
    key = _attribute_key_clean(key)
    if type not in AttributeDefinition.Type.values:
        raise _invalid("type", f"must be one of {', '.join(AttributeDefinition.Type.values)}.")
    if AttributeDefinition.objects.for_workspace(workspace).filter(key=key).exists():
        raise Conflict(
            f"key: the attribute '{key}' already exists.",
            fields={"key": [f"The attribute '{key}' already exists; change its type instead."]},
        )
    if attributes_over_limit(workspace=workspace, keys=[key]):
        raise _invalid("key", attribute_limit_message() + ".")
    definition = AttributeDefinition.objects.create(
        workspace=workspace, key=key, type=type, label=(label or "").strip()[:150]
    )
    _check_values_fit(workspace, key, type)
    return definition


# jsonb_typeof() of values each type accepts; dates are strings of a given shape.
_JSON_TYPES: dict[str, tuple[str, ...]] = {
    AttributeDefinition.Type.STRING: ("string",),
    AttributeDefinition.Type.NUMBER: ("number",),
    AttributeDefinition.Type.BOOLEAN: ("boolean",),
    AttributeDefinition.Type.LIST: ("array",),
    AttributeDefinition.Type.DATE: ("string",),
    AttributeDefinition.Type.DATETIME: ("string",),
}
_SHAPES: dict[str, str] = {
    AttributeDefinition.Type.DATE: r"^\d{4}-\d{2}-\d{2}$",
    AttributeDefinition.Type.DATETIME: r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}",
}


def _check_values_fit(workspace: Workspace, key: str, type: str) -> None:
    """Refuse a type that contacts' stored values contradict: segments would silently
    compare apples with oranges. Says how many and shows one offending value."""
    shape = _SHAPES.get(type)
    sql = """
        SELECT count(*), min(attributes ->> %s) FROM contacts_contact
        WHERE workspace_id = %s AND attributes ? %s
          AND (jsonb_typeof(attributes -> %s) <> ALL(%s)
               OR (%s::text IS NOT NULL AND NOT (attributes ->> %s) ~ %s::text))
    """
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [key, workspace.pk, key, key, list(_JSON_TYPES[type]), shape, key, shape]
        )
        count, example = cursor.fetchone() or (0, None)
    if count:
        raise _invalid(
            "type",
            f"{count} contact(s) hold '{key}' values that are not {type} (e.g. {example!r}); "
            "fix those first.",
        )


@transaction.atomic
def attribute_definition_update(
    *, definition: AttributeDefinition, type: str | None = None, label: str | None = None
) -> AttributeDefinition:
    if type is not None and type != definition.type:
        if type not in AttributeDefinition.Type.values:
            raise _invalid("type", f"must be one of {', '.join(AttributeDefinition.Type.values)}.")
        _check_values_fit(definition.workspace, definition.key, type)
        definition.type = type
    if label is not None:
        definition.label = label.strip()[:150]
    definition.save()
    return definition


ATTRIBUTE_SET_SQL = """
UPDATE contacts_contact c
SET attributes = CASE WHEN u.v IS NULL THEN c.attributes - %(key)s
                      ELSE jsonb_set(c.attributes, ARRAY[%(key)s], u.v) END,
    updated_at = now()
FROM unnest(%(ids)s::bigint[], %(values)s::jsonb[]) AS u(id, v)
WHERE c.workspace_id = %(ws)s AND c.id = u.id AND (c.attributes -> %(key)s) IS DISTINCT FROM u.v
RETURNING c.id
"""


def contacts_attribute_set(
    *, workspace: Workspace, key: str, values: Mapping[int, Any]
) -> list[int]:
    """Set one custom attribute on many contacts in one statement ({contact id: value};
    None removes it). A platform-computed attribute (commerce's `predicted_reorder_at`):
    `key` is declared by the caller and the values are already of its type. Returns the
    contacts whose value changed; does not tell the events pipeline (the caller marks them
    changed in its batch, or enqueues them)."""
    if not values:
        return []
    ids = sorted(values)
    with connection.cursor() as cursor:
        cursor.execute(
            ATTRIBUTE_SET_SQL,
            {
                "key": key,
                "ids": ids,
                "values": [None if values[i] is None else json.dumps(values[i]) for i in ids],
                "ws": workspace.pk,
            },
        )
        return sorted(row[0] for row in cursor.fetchall())
