"""Normalising what callers say about a person: emails, phone numbers, traits → fields.

`traits_to_fields` splits Segment-style traits into Contact fields (see `FIELD_TRAITS`; the
consent traits `email_consent`/`sms_consent` come out as fields of the same names, to be
applied through contact_set_consent) and custom attributes; `attributes_register` types
new attributes in the registry.
Errors name the field as the caller sent it (`traits.phone`, `email` …).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email as django_validate_email
from django.db import transaction
from email_validator import EmailNotValidError, validate_email

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
    """Lower-cased, stripped and valid, or ValidationFailed naming `field`.

    Internationalised addresses (RFC 6531: `josé@exämple.de`, `用户@例子.广告`) are valid:
    they go through `email-validator` (syntax only, no DNS) and are stored NFC-normalised
    with the domain in Unicode, so a punycode spelling of the same domain (`xn--…`) is the
    same address. Plain ASCII addresses keep Django's validator (it accepts `.test` and
    `.local` domains, which the other refuses). Sending to a non-ASCII local part needs
    SMTPUTF8 (messaging.channels.email refuses such a message with that reason).
    """
    if not isinstance(value, str):
        raise ValidationFailed(f"{field}: must be a string.", fields={field: "must be a string"})
    email = value.strip()
    try:
        if email.isascii() and "xn--" not in email.lower():
            django_validate_email(email)
        else:
            email = validate_email(
                email,
                allow_smtputf8=True,
                allow_quoted_local=False,
                allow_domain_literal=False,
                check_deliverability=False,
                test_environment=True,  # `.test` domains, as with Django's validator
            ).normalized
    except (ValidationError, EmailNotValidError):
        raise ValidationFailed(
            f"{field}: '{value}' is not a valid email address.",
            fields={field: "not a valid email address"},
        )
    return email.lower()


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


def attributes_over_limit(*, workspace: Workspace, keys: Iterable[str]) -> list[str]:
    """The keys among `keys` that would be new custom attributes beyond the workspace's
    CONTACTS_MAX_ATTRIBUTES (in the order given); [] when they all fit.

    Costs nothing for keys this process registered already, else one or two indexed reads.
    Two writers may each take the last free places at once: the cap is exact up to that.
    """
    unseen = [key for key in keys if (workspace.pk, key) not in _registered_attributes]
    if not unseen:
        return []
    definitions = AttributeDefinition.objects.for_workspace(workspace)
    known = set(definitions.filter(key__in=unseen).values_list("key", flat=True))
    new = list(dict.fromkeys(key for key in unseen if key not in known))
    if not new:
        return []
    room = max(settings.CONTACTS_MAX_ATTRIBUTES - definitions.count(), 0)
    return new[room:]


def attribute_limit_message() -> str:
    limit = settings.CONTACTS_MAX_ATTRIBUTES
    return (
        f"the workspace has reached its limit of {limit:,} custom attributes "
        "(CONTACTS_MAX_ATTRIBUTES); remove unused ones or reuse an existing name"
    )


def attributes_admit(
    *,
    workspace: Workspace,
    attributes: dict[str, Any],
    problems: list[TraitProblem] | None,
    where: str = "traits",
) -> dict[str, Any]:
    """`attributes` without the new names beyond the workspace's limit: each left out is
    added to `problems`, or — when the caller collects none — ValidationFailed names it."""
    refused = attributes_over_limit(workspace=workspace, keys=attributes)
    if not refused:
        return attributes
    message = attribute_limit_message()
    if problems is None:
        field = f"{where}.{refused[0]}"
        raise ValidationFailed(f"{field}: {message}.", fields={field: message})
    problems.extend(
        TraitProblem((key,), message, attributes[key], kind="attribute_limit") for key in refused
    )
    return {key: value for key, value in attributes.items() if key not in refused}


# --- Traits -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TraitProblem:
    """A trait that cannot be applied: `path` as sent (("address", "country")), why."""

    path: tuple[str, ...]
    message: str
    value: Any = None
    kind: str = "invalid_trait"

    @property
    def field(self) -> str:
        return "traits." + ".".join(self.path)


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == []


def _check_length(field: str, value: str) -> str:
    max_length = Contact._meta.get_field(field).max_length  # type: ignore[union-attr]
    value = value.strip()
    if max_length and len(value) > max_length:
        raise _Problem(f"at most {max_length} characters")
    return value


class _Problem(Exception):
    def __init__(self, message: str):
        self.message = message


def traits_to_fields(traits: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split traits into (contact fields, custom attributes), validated and normalised;
    ValidationFailed for the first trait that is not valid.

    Error field names are `traits.<name>` as the caller sent them.
    """
    fields, attributes, problems = _split(traits)
    if problems:
        first = problems[0]
        raise ValidationFailed(
            f"{first.field}: {first.message}.", fields={first.field: first.message}
        )
    return fields, attributes


def traits_clean(traits: Mapping[str, Any]) -> tuple[dict[str, Any], list[TraitProblem]]:
    """The traits without those that fail validation, and what was wrong with each.

    Ingestion keeps the rest of a message whose email (say) is not valid: what comes back
    passes `traits_to_fields`.
    """
    problems = _split(traits)[2]
    if not problems:
        return dict(traits), []
    clean: dict[str, Any] = dict(traits)
    for problem in problems:
        _drop(clean, problem.path)
    return clean, problems


def _drop(traits: dict[str, Any], path: tuple[str, ...]) -> None:
    head, *rest = path
    if not rest:
        traits.pop(head, None)
    elif isinstance(traits.get(head), Mapping):
        traits[head] = inner = dict(traits[head])
        _drop(inner, tuple(rest))
        if not inner:
            del traits[head]


def _split(
    traits: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], list[TraitProblem]]:
    fields: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    problems: list[TraitProblem] = []
    for key, value in traits.items():
        if not isinstance(key, str) or _blank(value):
            continue
        path = (key,)
        if key in CONSENT_TRAITS:
            try:
                fields[key] = (path, consent_trait_status(value, where=f"traits.{key}"))
            except ValidationFailed as error:
                problems.append(TraitProblem(path, _reason(error), value))
        elif key in PROTECTED_TRAITS:
            continue
        elif key in FIELD_TRAITS:
            fields[FIELD_TRAITS[key]] = (path, value)
        elif key == "name":
            if isinstance(value, str):
                first, _, last = value.strip().partition(" ")
                fields.setdefault("first_name", (path, first))
                if last:
                    fields.setdefault("last_name", (path, last.strip()))
        elif key == "company":
            _company_trait(value, path, fields, attributes)
        elif key == "address" and isinstance(value, Mapping):
            for part, sub in value.items():
                if _blank(sub):
                    continue
                if part in ("country", "city"):
                    fields[part] = ((key, part), sub)
                else:
                    attributes[f"address_{part}"] = sub
        elif key == "tags":
            if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                problems.append(TraitProblem(path, "must be a list of strings", value))
            else:
                fields["tags"] = (path, value)
        elif len(key) > ATTRIBUTE_KEY_MAX:
            problems.append(
                TraitProblem(path, f"name longer than {ATTRIBUTE_KEY_MAX} characters", key)
            )
        else:
            attributes[key] = value
    # Explicit first/last names beat a split `name`, whatever order they came in.
    for explicit, target in (
        ("firstName", "first_name"),
        ("first_name", "first_name"),
        ("lastName", "last_name"),
        ("last_name", "last_name"),
    ):
        if not _blank(traits.get(explicit)):
            fields[target] = ((explicit,), traits[explicit])
    clean, field_problems = _clean_fields(fields)
    return clean, attributes, problems + field_problems


def _reason(error: ValidationFailed) -> str:
    return str(next(iter(error.fields.values()), error.message))


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
    value: Any, path: tuple[str, ...], fields: dict[str, Any], attributes: dict[str, Any]
) -> None:
    if isinstance(value, str):
        fields["company"] = (path, value)
    elif isinstance(value, Mapping):
        for part, sub in value.items():
            if _blank(sub):
                continue
            if part == "name":
                fields["company"] = ((*path, "name"), sub)
            else:
                attributes[f"company_{part}"] = sub


def _clean_fields(
    raw: dict[str, tuple[tuple[str, ...], Any]],
) -> tuple[dict[str, Any], list[TraitProblem]]:
    clean: dict[str, Any] = {}
    problems: list[TraitProblem] = []
    region = None
    if "country" in raw and isinstance(raw["country"][1], str) and len(raw["country"][1]) == 2:
        region = raw["country"][1]
    for field, (path, value) in raw.items():
        try:
            cleaned = _clean_field(field, path, value, region)
        except _Problem as problem:
            problems.append(TraitProblem(path, problem.message, value))
            continue
        except ValidationFailed as error:
            problems.append(TraitProblem(path, _reason(error), value))
            continue
        if cleaned or field in CONSENT_TRAITS:
            clean[field] = cleaned
    return clean, problems


def _clean_field(field: str, path: tuple[str, ...], value: Any, region: str | None) -> Any:
    where = "traits." + ".".join(path)
    if field in CONSENT_TRAITS:
        return value  # checked by consent_trait_status already
    if field == "tags":
        return [tag.strip()[:100] for tag in value if tag.strip()]
    if field == "email":
        return email_normalize(value, field=where)
    if field == "phone":
        return phone_normalize(value, field=where, region=region)
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _Problem("must be a string")
    value = _check_length(field, value)
    if field == "timezone":
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise _Problem("unknown time zone (use an IANA name, e.g. Europe/Berlin)")
    if field == "lifecycle_stage" and value not in LifecycleStage.values:
        raise _Problem(f"must be one of {', '.join(LifecycleStage.values)}")
    return value
