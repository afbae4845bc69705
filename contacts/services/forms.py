"""Hosted forms: define a form, accept a submission.

A submission is validated server-side field by field (all errors at once, each naming its
field), then in one transaction: the contact is upserted through `contact_upsert` (so a
form and an identify call resolve people the same way), email consent is recorded
(`pending` under double opt-in — messaging sends the confirmation and flips it), the
form's tags are applied, a `form.submitted` event and a FormSubmission row are written,
and the events_ingested pipeline is enqueued on commit.

Abuse: `form_rate_limit_hit` counts submissions per IP (workspaces.throttling), and
the hosted page has a honeypot input that people never see; a submission that fills it
gets the normal thank-you page and nothing is stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.db import transaction

from contacts.hooks import email_consent_requested
from contacts.models import AttributeDefinition, ConsentStatus, Contact, Form, FormSubmission
from contacts.services import (
    attribute_limit_message,
    attributes_over_limit,
    contact_set_consent,
    contact_upsert,
    email_normalize,
    event_record,
    events_enqueue_processing,
    phone_normalize,
)
from contacts.services.contacts import RESERVED_ATTRIBUTE_KEYS, tags_clean
from contacts.services.traits import FIELD_TRAITS, PROTECTED_TRAITS
from workspaces import throttling
from workspaces.errors import ValidationFailed
from workspaces.models import User, Workspace

# Input kinds a form field can have, with the attribute type a custom field registers as.
FIELD_TYPES: dict[str, str] = {
    "text": AttributeDefinition.Type.STRING,
    "email": AttributeDefinition.Type.STRING,
    "tel": AttributeDefinition.Type.STRING,
    "textarea": AttributeDefinition.Type.STRING,
    "select": AttributeDefinition.Type.STRING,
    "number": AttributeDefinition.Type.NUMBER,
    "checkbox": AttributeDefinition.Type.BOOLEAN,
    "date": AttributeDefinition.Type.DATE,
}
# Contact fields a form field can fill, with the input kind they need.
CONTACT_FIELDS: dict[str, str] = {
    "email": "email",
    "phone": "tel",
    "first_name": "text",
    "last_name": "text",
    "company": "text",
    "job_title": "text",
    "country": "text",
    "city": "text",
}
IDENTIFIERS = ("email", "phone")
# Traits contact_upsert reads as structure (a full name, an address, tags), not attributes.
TRAITS_WITH_STRUCTURE = {"name", "address", "tags", "company"}
HONEYPOT_FIELD = "website_url"  # named to tempt bots; hidden from people
CONSENT_FIELD = "consent"
KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
MAX_FIELDS = 30
MAX_VALUE = 2000
_CONTROL_NAMES = {HONEYPOT_FIELD, CONSENT_FIELD, "page_url", "anonymous_id", "csrfmiddlewaretoken"}


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", fields={field: [message]})


# --- Definition ---------------------------------------------------------------------------


def form_fields_clean(fields: Any) -> list[dict[str, Any]]:
    """Validate a form's field list, reporting every problem at once.

    Error names are `fields.<n>.<part>` (n from 0, part key/label/type/options) for one
    field's problem, `fields` for the list as a whole; the builder puts each next to its row.
    """
    if not isinstance(fields, list) or not fields:
        raise _invalid("fields", "add at least one field (an email field is needed).")
    if len(fields) > MAX_FIELDS:
        raise _invalid("fields", f"at most {MAX_FIELDS} fields.")
    clean: list[dict[str, Any]] = []
    errors: dict[str, list[str]] = {}
    labels_by_key: dict[str, str] = {}
    for n, raw in enumerate(fields):
        field, problems = _field_clean(raw)
        key = field.get("key", "")
        if key and "key" not in problems and key in labels_by_key:
            problems["key"] = f"'{key}' is already mapped by “{labels_by_key[key]}”; map it once."
        labels_by_key.setdefault(key, field.get("label") or key)
        errors.update({f"fields.{n}.{part}": [text] for part, text in problems.items()})
        clean.append(field)
    identifiers = [f for f in clean if f.get("key") in IDENTIFIERS]
    if not identifiers:
        errors["fields"] = ["a form needs an email (or phone) field to know who signed up."]
    elif not any(f["required"] for f in identifiers):
        errors["fields"] = ["make the email (or phone) field required."]
    if errors:
        first = next(iter(errors))
        raise ValidationFailed(f"{first}: {errors[first][0]}", fields=errors)
    return clean


def _field_clean(raw: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """One field definition, cleaned, and its problems by part (key, label, type, options)."""
    if not isinstance(raw, Mapping):
        return {}, {"key": "each field is an object with key, label and type."}
    problems: dict[str, str] = {}
    key = str(raw.get("key") or "").strip()
    if not key:
        problems["key"] = "choose the contact field or attribute this field fills."
    elif not KEY_RE.match(key):
        problems["key"] = "start with a letter; letters, digits and _ only."
    elif key not in CONTACT_FIELDS and (
        key in RESERVED_ATTRIBUTE_KEYS
        or key in FIELD_TRAITS  # e.g. "title" would land in job_title
        or key in TRAITS_WITH_STRUCTURE
        or key in PROTECTED_TRAITS
        or key in _CONTROL_NAMES
    ):
        problems["key"] = f"'{key}' is reserved; choose another name."
    label = str(raw.get("label") or "").strip()
    if not label:
        problems["label"] = "give the field a label; visitors see it above the input."
    kind = str(raw.get("type") or CONTACT_FIELDS.get(key, "text"))
    if kind not in FIELD_TYPES:
        problems["type"] = f"choose one of {', '.join(FIELD_TYPES)}."
    elif key in CONTACT_FIELDS and kind not in ("text", CONTACT_FIELDS[key], "select"):
        problems["type"] = f"'{key}' needs a {CONTACT_FIELDS[key]} input."
    options = raw.get("options") or []
    if not isinstance(options, list | tuple):
        options = str(options).split(",")
    options = [str(o).strip() for o in options if str(o).strip()]
    if kind == "select" and not options:
        problems["options"] = "a dropdown needs options (comma-separated)."
    field = {
        "key": key,
        "label": label[:150],
        "type": kind,
        "required": bool(raw.get("required")),
        **({"options": options[:100]} if kind == "select" else {}),
    }
    return field, problems


FORM_SETTINGS = (
    "name",
    "submit_label",
    "consent_enabled",
    "consent_required",
    "consent_text",
    "double_opt_in",
    "success_message",
    "redirect_url",
    "is_active",
)


def _form_apply(form: Form, data: Mapping[str, Any]) -> None:
    for name in FORM_SETTINGS:
        if name in data:
            setattr(form, name, data[name])
    if not (form.name or "").strip():
        raise _invalid("name", "give the form a name.")
    if form.consent_required and not form.consent_enabled:
        raise _invalid("consent_required", "turn the consent checkbox on to require it.")
    if "tags" in data:
        form.tags = tags_clean(data["tags"] or [])
    if "fields" in data:
        form.fields = form_fields_clean(data["fields"])


def _register_attributes(workspace: Workspace, fields: list[dict[str, Any]]) -> None:
    """Custom fields become typed attributes now, so segments know them before any submission."""
    custom = [f["key"] for f in fields if f["key"] not in CONTACT_FIELDS]
    over = attributes_over_limit(workspace=workspace, keys=custom)
    if over:
        raise _invalid(f"fields.{over[0]}", attribute_limit_message() + ".")
    AttributeDefinition.objects.bulk_create(
        [
            AttributeDefinition(
                workspace=workspace, key=f["key"], label=f["label"], type=FIELD_TYPES[f["type"]]
            )
            for f in fields
            if f["key"] not in CONTACT_FIELDS
        ],
        ignore_conflicts=True,
    )


@transaction.atomic
def form_create(
    *, workspace: Workspace, data: Mapping[str, Any], created_by: User | None = None
) -> Form:
    form = Form(workspace=workspace, created_by=created_by)
    _form_apply(form, data)
    form.save()
    _register_attributes(workspace, form.fields)
    return form


@transaction.atomic
def form_update(*, form: Form, data: Mapping[str, Any]) -> Form:
    _form_apply(form, data)
    form.save()
    _register_attributes(form.workspace, form.fields)
    return form


# --- Submission ----------------------------------------------------------------------------


def _value_clean(field: dict[str, Any], raw: Any) -> Any:
    """One submitted value, typed; raises ValidationFailed naming the field's key."""
    key, kind = field["key"], field["type"]
    text = ("" if raw is None else str(raw)).strip()
    if kind == "checkbox":
        checked = text.lower() in {"on", "true", "1", "yes"}
        if field["required"] and not checked:
            raise _invalid(key, "please tick this box.")
        return checked
    if not text:
        if field["required"]:
            raise _invalid(key, "this field is required.")
        return None
    if len(text) > MAX_VALUE:
        raise _invalid(key, f"at most {MAX_VALUE} characters.")
    if "\x00" in text:
        raise _invalid(key, "remove the NUL character (\\u0000); it cannot be stored.")
    if key == "email" or kind == "email":
        try:
            return email_normalize(text, field=key)
        except ValidationFailed:
            raise _invalid(key, "enter a valid email address.")
    if key == "phone" or kind == "tel":
        try:
            return phone_normalize(text, field=key)
        except ValidationFailed:
            raise _invalid(
                key, "enter a phone number in international format, e.g. +4915112345678."
            )
    if kind == "number":
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            raise _invalid(key, "enter a number.")
        return int(number) if number.is_integer() else number
    if kind == "date":
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise _invalid(key, "enter a date (YYYY-MM-DD).")
    if kind == "select" and text not in field.get("options", []):
        raise _invalid(key, "choose one of the options.")
    return text


def form_values_clean(*, form: Form, data: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """All fields' values and the consent tick; every problem at once, each by field key."""
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for field in form.fields:
        try:
            values[field["key"]] = _value_clean(field, data.get(field["key"]))
        except ValidationFailed as error:
            errors.update(error.fields)
    consent = str(data.get(CONSENT_FIELD) or "").lower() in {"on", "true", "1", "yes"}
    if form.consent_enabled and form.consent_required and not consent:
        errors[CONSENT_FIELD] = ["please tick this box to sign up."]
    if errors:
        first = next(iter(errors))
        raise ValidationFailed(f"{first}: {errors[first][0]}", fields=errors)
    return values, consent and form.consent_enabled


@dataclass
class SubmissionResult:
    contact: Contact
    submission: FormSubmission
    consent: str  # the email consent the contact ended with


@transaction.atomic
def form_submit(
    *,
    form: Form,
    data: Mapping[str, Any],
    ip: str | None = None,
    page_url: str = "",
    user_agent: str = "",
    anonymous_id: str = "",
) -> SubmissionResult:
    """Accept one submission (see the module docstring). Raises ValidationFailed with every
    field's problem; nothing is written then."""
    workspace = form.workspace
    values, consent = form_values_clean(form=form, data=data)
    # What the browser says about itself is kept, minus what PostgreSQL cannot store.
    page_url, user_agent, anonymous_id = (
        text.replace("\x00", "") for text in (page_url, user_agent, anonymous_id)
    )
    present = {k: v for k, v in values.items() if v is not None and v != ""}
    traits = {k: v for k, v in present.items() if k not in IDENTIFIERS}
    if form.tags:
        traits["tags"] = form.tags
    contact, changed = contact_upsert(
        workspace=workspace,
        email=present.get("email"),
        phone=present.get("phone"),
        anonymous_id=anonymous_id[:255] or None,
        traits=traits,
        source="form",
    )
    if consent:
        changed |= _consent_record(form=form, contact=contact)
    submission = FormSubmission.objects.create(
        workspace=workspace,
        form=form,
        contact=contact,
        data={**present, **({CONSENT_FIELD: True} if consent else {})},
        ip=ip or None,
        page_url=page_url[:1000],
    )
    event = event_record(
        workspace=workspace,
        contact=contact,
        name="form.submitted",
        properties={
            "form_id": form.pk,
            "form_name": form.name,
            "fields": present,
            "consent": consent,
            "double_opt_in": form.double_opt_in,
            "submission_id": submission.pk,
        },
        source="form",
        message_id=f"form-{form.pk}-{submission.pk}",
        context={
            "ip": ip or "",
            "userAgent": user_agent[:500],
            "page": {"url": page_url[:1000]},
        },
    )
    events_enqueue_processing(
        workspace=workspace, event_ids=[event.pk], changed_fields={contact.pk: changed}
    )
    return SubmissionResult(contact=contact, submission=submission, consent=contact.email_consent)


def _consent_record(*, form: Form, contact: Contact) -> set[str]:
    """Record the ticked consent box: subscribed, or pending under double opt-in.

    The app that sends email (messaging) carries it out through the email_consent_requested
    hook, so double opt-in sends the confirmation email. A subscribed contact is never
    downgraded to pending.
    """
    source = f"form:{form.pk}"
    before = contact.email_consent
    handled = email_consent_requested(
        workspace=form.workspace, contact=contact, source=source, double_opt_in=form.double_opt_in
    )
    if not handled and not (form.double_opt_in and before == ConsentStatus.SUBSCRIBED):
        status = ConsentStatus.PENDING if form.double_opt_in else ConsentStatus.SUBSCRIBED
        contact_set_consent(contact=contact, channel="email", status=status, source=source)
    return {"email_consent"} if contact.email_consent != before else set()


def form_rate_limit_hit(*, form: Form, ip: str) -> bool:
    """Count one submission attempt from `ip`; True once it is over the limit for the window.

    Per IP across all forms (a bot hopping between a workspace's forms is still one bot),
    on the project's one limiter (workspaces.throttling, sliding window in Redis).
    TENDRIL_FORM_RATE_LIMIT = (attempts, seconds).
    """
    attempts, window = settings.TENDRIL_FORM_RATE_LIMIT
    item = throttling.per_second(attempts, seconds=window)
    return throttling.hit(item, "form", ip or "unknown") is not None
