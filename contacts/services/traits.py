"""Normalising what callers say about a person: emails, phone numbers, traits → fields.

`traits_to_fields` splits Segment-style traits into Contact fields (see `FIELD_TRAITS`; the
consent traits `email_consent`/`sms_consent` come out as fields of the same names, to be
applied through contact_set_consent) and custom attributes; `attributes_register` types
new attributes in the registry.
Errors name the field as the caller sent it (`traits.phone`, `email` …).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from contacts.models import AttributeDefinition, ConsentStatus, Contact, LifecycleStage
from workspaces.errors import ValidationFailed
from workspaces.models import Workspace

# Trait name (as integrations send it) → Contact field. Segment's reserved traits first.
FIELD_TRAITS: dict[str, str] = {
    "email": "email",
    "phone": "phone",
    "firstName": "first_name",
    "first_name": "first_name",
    "lastName": "last_name",
    "last_name": "last_name",
    "title": "job_title",
    "jobTitle": "job_title",
    "job_title": "job_title",
    "country": "country",
    "city": "city",
    "timezone": "timezone",
    "lifecycleStage": "lifecycle_stage",
    "lifecycle_stage": "lifecycle_stage",
}
# Consent traits → channel. A value goes through contact_set_consent (announced to the
# consent log, with the caller as source), never straight into the field.
CONSENT_TRAITS: dict[str, str] = {"email_consent": "email", "sms_consent": "sms"}
# Never taken as a contact field or custom attribute from traits: identifiers have their own
# arguments, the rest is maintained by Tendril itself (score by scoring, consent — the
# CONSENT_TRAITS above excepted — by contact_set_consent …). Forms and imports keep these
# names out of attribute keys too.
PROTECTED_TRAITS = {
    "id",
    "userId",
    "user_id",
    "anonymousId",
    "external_id",
    "anonymous_ids",
    "score",
    "owner",
    "workspace",
    "created_at",
    "updated_at",
    "last_seen_at",
    "email_consent",
    "email_consent_source",
    "email_consent_at",
    "sms_consent",
    "sms_consent_source",
    "sms_consent_at",
}
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
ATTRIBUTE_KEY_MAX = 100


def email_normalize(value: Any, *, field: str = "email") -> str:
    """Lower-cased, stripped and valid, or ValidationFailed naming `field`."""
    if not isinstance(value, str):
        raise ValidationFailed(f"{field}: must be a string.", fields={field: "must be a string"})
    email = value.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationFailed(
            f"{field}: '{value}' is not a valid email address.",
            fields={field: "not a valid email address"},
        )
    return email


def phone_normalize(value: Any, *, field: str = "phone", region: str | None = None) -> str:
    """E.164 (+4915112345678), or ValidationFailed naming `field`."""
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        raise ValidationFailed(f"{field}: must be a string.", fields={field: "must be a string"})
    try:
        number = phonenumbers.parse(value, region.upper() if region else None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        message = "not a valid phone number (use international format, e.g. +4915112345678)"
        raise ValidationFailed(f"{field}: {message}.", fields={field: message})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def attribute_type_of(value: Any) -> str:
    """The AttributeDefinition type a custom attribute value suggests."""
    if isinstance(value, bool):
        return AttributeDefinition.Type.BOOLEAN
    if isinstance(value, int | float):
        return AttributeDefinition.Type.NUMBER
    if isinstance(value, list):
        return AttributeDefinition.Type.LIST
    if isinstance(value, str):
        if _DATE_RE.match(value):
            return AttributeDefinition.Type.DATE
        if _DATETIME_RE.match(value):
            return AttributeDefinition.Type.DATETIME
    return AttributeDefinition.Type.STRING


# Process-local memory of attribute keys already registered, so a steady stream of
# identify calls does not re-insert definitions. Losing it only costs one INSERT … ON
# CONFLICT DO NOTHING.
_registered_attributes: set[tuple[int, str]] = set()


def attributes_register(*, workspace: Workspace, values: Mapping[str, Any]) -> None:
    """Make sure every key has an AttributeDefinition; the first value seen sets its type."""
    new = [
        AttributeDefinition(workspace=workspace, key=key, type=attribute_type_of(value))
        for key, value in values.items()
        if (workspace.pk, key) not in _registered_attributes
    ]
    if not new:
        return
    AttributeDefinition.objects.bulk_create(new, ignore_conflicts=True)
    # Only remember keys once the transaction that registered them has committed.
    keys = [(workspace.pk, item.key) for item in new]
    transaction.on_commit(lambda: _registered_attributes.update(keys))


# --- Traits -----------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == []


def _check_length(field: str, value: str, where: str) -> str:
    max_length = Contact._meta.get_field(field).max_length  # type: ignore[union-attr]
    value = value.strip()
    if max_length and len(value) > max_length:
        raise ValidationFailed(
            f"{where}: at most {max_length} characters.",
            fields={where: f"at most {max_length} characters"},
        )
    return value


def traits_to_fields(traits: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split traits into (contact fields, custom attributes), validated and normalised.

    Error field names are `traits.<name>` as the caller sent them.
    """
    fields: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for key, value in traits.items():
        if not isinstance(key, str) or _blank(value):
            continue
        where = f"traits.{key}"
        if key in CONSENT_TRAITS:
            fields[key] = (where, consent_trait_status(value, where=where))
        elif key in PROTECTED_TRAITS:
            continue
        elif key in FIELD_TRAITS:
            fields[FIELD_TRAITS[key]] = (where, value)
        elif key == "name":
            if isinstance(value, str):
                first, _, last = value.strip().partition(" ")
                fields.setdefault("first_name", (where, first))
                if last:
                    fields.setdefault("last_name", (where, last.strip()))
        elif key == "company":
            _company_trait(value, where, fields, attributes)
        elif key == "address" and isinstance(value, Mapping):
            for part, sub in value.items():
                if _blank(sub):
                    continue
                if part in ("country", "city"):
                    fields[part] = (f"{where}.{part}", sub)
                else:
                    attributes[f"address_{part}"] = sub
        elif key == "tags":
            if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                raise ValidationFailed(
                    f"{where}: must be a list of strings.",
                    fields={where: "must be a list of strings"},
                )
            fields["tags"] = (where, value)
        else:
            if len(key) > ATTRIBUTE_KEY_MAX:
                raise ValidationFailed(
                    f"{where}: attribute names have at most {ATTRIBUTE_KEY_MAX} characters.",
                    fields={where: f"name longer than {ATTRIBUTE_KEY_MAX} characters"},
                )
            attributes[key] = value
    # Explicit first/last names beat a split `name`, whatever order they came in.
    for explicit, target in (("firstName", "first_name"), ("first_name", "first_name")):
        if not _blank(traits.get(explicit)):
            fields[target] = (f"traits.{explicit}", traits[explicit])
    for explicit, target in (("lastName", "last_name"), ("last_name", "last_name")):
        if not _blank(traits.get(explicit)):
            fields[target] = (f"traits.{explicit}", traits[explicit])
    return _clean_fields(fields), attributes


def consent_trait_status(value: Any, *, where: str) -> str:
    """The status a consent trait names: "subscribed"/"unsubscribed", or true/false.

    "pending" and "unknown" are not decisions a caller can send: pending belongs to double
    opt-in (messaging sends the confirmation), and a trait never erases what is known.
    """
    if isinstance(value, bool):
        return (ConsentStatus.SUBSCRIBED if value else ConsentStatus.UNSUBSCRIBED).value
    status = value.strip().lower() if isinstance(value, str) else None
    if status in (ConsentStatus.SUBSCRIBED.value, ConsentStatus.UNSUBSCRIBED.value):
        return status
    message = 'must be "subscribed" or "unsubscribed" (or true/false)'
    raise ValidationFailed(f"{where}: {message}.", fields={where: message})


def _company_trait(
    value: Any, where: str, fields: dict[str, Any], attributes: dict[str, Any]
) -> None:
    if isinstance(value, str):
        fields["company"] = (where, value)
    elif isinstance(value, Mapping):
        for part, sub in value.items():
            if _blank(sub):
                continue
            if part == "name":
                fields["company"] = (f"{where}.name", sub)
            else:
                attributes[f"company_{part}"] = sub


def _clean_fields(raw: dict[str, tuple[str, Any]]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    region = None
    if "country" in raw and isinstance(raw["country"][1], str) and len(raw["country"][1]) == 2:
        region = raw["country"][1]
    for field, (where, value) in raw.items():
        if field in CONSENT_TRAITS:
            clean[field] = value  # checked by consent_trait_status already
            continue
        if field == "tags":
            clean["tags"] = [tag.strip()[:100] for tag in value if tag.strip()]
            continue
        if field == "email":
            clean["email"] = email_normalize(value, field=where)
            continue
        if field == "phone":
            clean["phone"] = phone_normalize(value, field=where, region=region)
            continue
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise ValidationFailed(
                f"{where}: must be a string.", fields={where: "must be a string"}
            )
        value = _check_length(field, value, where)
        if field == "timezone":
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValidationFailed(
                    f"{where}: '{value}' is not an IANA time zone (e.g. Europe/Berlin).",
                    fields={where: "unknown time zone"},
                )
        if field == "lifecycle_stage" and value not in LifecycleStage.values:
            allowed = ", ".join(LifecycleStage.values)
            raise ValidationFailed(
                f"{where}: must be one of {allowed}.", fields={where: f"must be one of {allowed}"}
            )
        if value:
            clean[field] = value
    return clean
