"""Django forms of the contacts UI. They check shapes; services check meaning and name fields."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.core.validators import ProhibitNullCharactersValidator

from workspaces.errors import TendrilError
from workspaces.forms import form_errors_from, rows_as_typed, rows_change

from .models import AttributeDefinition, ConsentStatus, Contact, ContactImport, LifecycleStage
from .models import Form as FormDefinition
from .services.forms import CONSENT_FIELD, HONEYPOT_FIELD, MAX_FIELDS

TIMEZONE_CHOICES = [("", "—")] + [(name, name) for name in sorted(zoneinfo.available_timezones())]
ATTRIBUTE_PREFIX = "attr__"

_INPUT_FOR_TYPE = {
    AttributeDefinition.Type.NUMBER: forms.TextInput(attrs={"inputmode": "decimal"}),
    AttributeDefinition.Type.DATE: forms.DateInput(attrs={"type": "date"}),
    AttributeDefinition.Type.DATETIME: forms.TextInput(
        attrs={"placeholder": "2024-05-01T09:00:00Z"}
    ),
    AttributeDefinition.Type.BOOLEAN: forms.Select(
        choices=[("", "—"), ("true", "Yes"), ("false", "No")]
    ),
    AttributeDefinition.Type.LIST: forms.TextInput(attrs={"placeholder": "comma, separated"}),
}


class ContactForm(forms.Form):
    """Edit (or create) a contact by hand. Custom attributes become `attr__<key>` fields."""

    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.CharField(max_length=254, required=False, widget=forms.EmailInput)
    phone = forms.CharField(
        max_length=40, required=False, help_text="International format, e.g. +4915112345678"
    )
    company = forms.CharField(max_length=200, required=False)
    job_title = forms.CharField(max_length=200, required=False)
    country = forms.CharField(max_length=64, required=False, help_text="ISO code, e.g. DE")
    city = forms.CharField(max_length=120, required=False)
    timezone = forms.ChoiceField(choices=TIMEZONE_CHOICES, required=False)
    lifecycle_stage = forms.ChoiceField(choices=LifecycleStage.choices, label="Lifecycle stage")
    owner = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    email_consent = forms.ChoiceField(choices=ConsentStatus.choices, label="Email consent")
    sms_consent = forms.ChoiceField(choices=ConsentStatus.choices, label="SMS consent")
    external_id = forms.CharField(
        max_length=255, required=False, label="External id", help_text="Segment's userId"
    )

    def __init__(
        self,
        *args: Any,
        owners: list[tuple[int, str]],
        attributes: list[AttributeDefinition],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "Nobody")] + owners  # type: ignore[attr-defined]
        self.attribute_definitions = attributes
        for definition in attributes:
            widget = _INPUT_FOR_TYPE.get(definition.type, forms.TextInput())  # type: ignore[call-overload]
            self.fields[ATTRIBUTE_PREFIX + definition.key] = forms.CharField(
                label=definition.label or definition.key,
                required=False,
                widget=widget,
                help_text=definition.get_type_display(),
            )

    @classmethod
    def initial_for(cls, contact: Contact) -> dict[str, Any]:
        initial = {name: getattr(contact, name) for name in cls.base_fields if name != "owner"}
        initial["owner"] = contact.owner_id or ""
        for key, value in contact.attributes.items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, list):
                value = ", ".join(str(v) for v in value)
            initial[ATTRIBUTE_PREFIX + key] = value
        return initial

    @property
    def attribute_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith(ATTRIBUTE_PREFIX)]

    def changes(self, contact: Contact | None) -> dict[str, Any]:
        """The cleaned values that differ from `contact`, in the services' vocabulary."""
        data: dict[str, Any] = {}
        for name in self.base_fields:
            value = self.cleaned_data.get(name)
            current = (
                (contact.owner_id if name == "owner" else getattr(contact, name))
                if contact
                else None
            )
            if contact is None or value != current:
                if contact is None and value in ("", None):
                    continue
                data[name] = value
        attributes: dict[str, Any] = {}
        for definition in self.attribute_definitions:
            raw = (self.cleaned_data.get(ATTRIBUTE_PREFIX + definition.key) or "").strip()
            stored = contact.attributes.get(definition.key) if contact else None
            if raw == "" and stored is not None:
                attributes[definition.key] = None
            elif raw and raw != self.initial.get(ATTRIBUTE_PREFIX + definition.key, None):
                attributes[definition.key] = raw
        if attributes:
            data["attributes"] = attributes
        return data

    def add_service_errors(self, error: TendrilError) -> None:
        """A service's errors (named `email`, `attributes.plan` …) next to the right input."""
        form_errors_from(self, error, rename=_attribute_field)


def _attribute_field(name: str) -> str:
    prefix = "attributes."
    return ATTRIBUTE_PREFIX + name[len(prefix) :] if name.startswith(prefix) else name


class TagForm(forms.Form):
    tag = forms.CharField(max_length=100, strip=True)


# --- CSV import ----------------------------------------------------------------------------------


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file", widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"})
    )


class ImportMappingForm(forms.Form):
    """Where each column of the file goes (`map_<n>`, labelled with the column's header), how
    existing contacts are matched, and tags for everyone imported."""

    upsert_key = forms.ChoiceField(
        choices=[
            (ContactImport.UpsertKey.EMAIL, "Email"),
            (ContactImport.UpsertKey.EXTERNAL_ID, "External id (your system's user id)"),
        ],
        widget=forms.RadioSelect,
        label="Match existing contacts by",
    )
    tags = forms.CharField(
        max_length=1000,
        required=False,
        label="Add tags to every imported contact",
        help_text="Comma-separated.",
        widget=forms.TextInput(attrs={"placeholder": "e.g. trade-show-2024, imported"}),
    )

    def __init__(
        self, *args: Any, headers: list[str], targets: list[tuple[str, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.headers = headers
        for index, header in enumerate(headers):
            self.fields[f"map_{index}"] = forms.ChoiceField(
                choices=targets, required=False, label=f"Target of {header}"
            )

    @staticmethod
    def initial_for(contact_import: ContactImport) -> dict[str, Any]:
        initial: dict[str, Any] = {"upsert_key": contact_import.upsert_key}
        for index, header in enumerate(contact_import.headers):
            initial[f"map_{index}"] = contact_import.mapping.get(header, "")
        return initial

    def column(self, index: int) -> forms.BoundField:
        return self[f"map_{index}"]

    def mapping(self) -> dict[str, str]:
        return {h: self.cleaned_data[f"map_{i}"] for i, h in enumerate(self.headers)}

    def tag_list(self) -> list[str]:
        return [t for t in self.cleaned_data["tags"].split(",") if t.strip()]

    def add_service_errors(self, error: TendrilError) -> None:
        """`mapping.<header>` goes next to that column's choice."""
        columns = {f"mapping.{h}": f"map_{i}" for i, h in enumerate(self.headers)}
        form_errors_from(self, error, rename=lambda name: columns.get(name, name))


# --- Hosted form builder -------------------------------------------------------------------


class FormSettingsForm(forms.Form):
    name = forms.CharField(max_length=150)
    submit_label = forms.CharField(max_length=60, initial="Subscribe", label="Button text")
    success_message = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        initial="Thanks! You're on the list.",
        help_text="Shown after a successful submission (unless you redirect).",
    )
    redirect_url = forms.URLField(
        max_length=500,
        required=False,
        assume_scheme="https",
        label="Redirect to",
        help_text="Optional thank-you page URL.",
    )
    consent_enabled = forms.BooleanField(
        required=False, initial=True, label="Show an email consent checkbox"
    )
    consent_required = forms.BooleanField(required=False, label="Consent is required to submit")
    consent_text = forms.CharField(
        max_length=500, required=False, initial="Yes, send me news and offers by email."
    )
    double_opt_in = forms.BooleanField(
        required=False,
        label="Double opt-in",
        help_text="Consent stays “pending” until the contact confirms from an email.",
    )
    tags = forms.CharField(
        max_length=500, required=False, help_text="Comma-separated; added to everyone who submits."
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Accepting submissions")

    def settings(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["tags"] = [t.strip() for t in (data.get("tags") or "").split(",") if t.strip()]
        return data


class UncheckedText(forms.CharField):
    """Text passed on as typed, NUL characters included: the service judges it (`form_submit`
    names a NUL character next to its field, with every other problem at once)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.validators = [
            v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)
        ]


class TrackingText(UncheckedText):
    """Where the form was filled in (page URL, anonymous id): written by the page's script, not
    by the visitor, so a NUL is dropped rather than refused — the submission still counts."""

    def to_python(self, value: Any) -> str:
        return str(super().to_python(value)).replace("\x00", "")


class HostedSubmissionForm(forms.Form):
    """What a visitor posts to a hosted form's public page: the fields its owner defined, the
    consent box, a honeypot for bots and where the form was filled in. The defined fields
    arrive as text: their types, required-ness and formats are `form_submit`'s to judge (it
    names every problem at once, by field key, and the page shows each next to its input)."""

    page_url = TrackingText(required=False, strip=False, widget=forms.HiddenInput)
    anonymous_id = TrackingText(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, definition: FormDefinition, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "f-%s")
        super().__init__(*args, **kwargs)
        for field in definition.fields:
            self.fields[field["key"]] = UncheckedText(
                required=False, strip=False, label=field["label"]
            )
        self.fields[CONSENT_FIELD] = forms.BooleanField(
            required=False, label=definition.consent_text
        )
        self.fields[HONEYPOT_FIELD] = forms.CharField(required=False, label="Leave this empty")

    def from_a_bot(self) -> bool:
        return bool(self.cleaned_data.get(HONEYPOT_FIELD))


FIELD_TYPE_CHOICES = [
    ("text", "Text"),
    ("email", "Email"),
    ("tel", "Phone"),
    ("textarea", "Long text"),
    ("number", "Number"),
    ("select", "Dropdown"),
    ("checkbox", "Checkbox"),
    ("date", "Date"),
]


class FormFieldForm(forms.Form):
    """One row of the builder. Only shapes here; the service judges keys, labels and types."""

    key = forms.CharField(
        max_length=100,
        required=False,
        widget=forms.TextInput(
            attrs={"list": "field-keys", "placeholder": "email, first_name, plan…"}
        ),
        label="Maps to",
    )
    label = forms.CharField(
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "Shown to visitors"}),
    )
    type = forms.ChoiceField(choices=FIELD_TYPE_CHOICES, initial="text", label="Input")
    required = forms.BooleanField(required=False)
    options = forms.CharField(
        max_length=1000,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "Dropdown options, comma-separated"}),
    )


# Rows are added, removed and moved by the builder's buttons (`form_field_rows_change`), so
# no blank rows are padded on and there is no delete box.
FormFieldFormSet = forms.formset_factory(FormFieldForm, extra=0, max_num=MAX_FIELDS)
ROW_PARTS = ("key", "label", "type", "required", "options")


def _row_is_blank(row: dict[str, Any]) -> bool:
    return not any(str(row.get(part) or "").strip() for part in ("key", "label", "options"))


def form_fields_from_formset(formset: Any) -> tuple[list[dict[str, Any]], list[int]]:
    """The rows, in order, as the service's field definitions, and for each the formset row
    it came from (to put a service error next to that row). Untouched blank rows are
    skipped; a row with only a label or options goes on, so the service can say what it
    lacks instead of the row silently vanishing."""
    fields, rows = [], []
    for index, row in enumerate(formset.forms):
        data = getattr(row, "cleaned_data", None) or {}
        if _row_is_blank(data):
            continue
        fields.append({part: data.get(part) for part in ROW_PARTS})
        rows.append(index)
    return fields, rows


def form_fields_initial(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**field, "options": ", ".join(field.get("options", []))} for field in fields]


def form_field_rows(formset: Any) -> list[dict[str, Any]]:
    """The rows of a bound formset exactly as typed (nothing validated), in order."""
    return rows_as_typed(formset, ROW_PARTS)


def form_field_rows_change(
    rows: list[dict[str, Any]], action: str, *, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    """One builder button (`add`, `remove:<n>`, `up:<n>`, `down:<n>`) applied to the rows."""
    blank = {"key": "", "label": "", "type": "text", "required": False, "options": ""}
    return rows_change(rows, action, limit=limit, blank=blank)
