"""Django forms of the analytics pages: labels, help texts and shapes in one place. What a
value means (known events, the model) is the services' to say."""

from __future__ import annotations

from typing import Any

from django import forms

from analytics.attribution.config import WINDOW_MAX_DAYS, WINDOW_MIN_DAYS, Settings
from analytics.funnels import (
    DEFAULT_TOP,
    MAX_EXCLUSIONS,
    MAX_STEPS,
    MAX_TOP,
    MAX_WINDOW_DAYS,
    NAME_MAX,
    PAGE_MAX,
    PROPERTY_MAX,
    UTM_PARTS,
)
from analytics.models import AttributionModel
from segments.selectors import operator_label
from workspaces.errors import ValidationFailed
from workspaces.forms import form_errors_from

_WINDOW = {
    "min_value": WINDOW_MIN_DAYS,
    "max_value": WINDOW_MAX_DAYS,
    "error_messages": {
        "invalid": "a whole number of days",
        "min_value": f"between {WINDOW_MIN_DAYS} and {WINDOW_MAX_DAYS} days",
        "max_value": f"between {WINDOW_MIN_DAYS} and {WINDOW_MAX_DAYS} days",
    },
}


class AttributionSettingsForm(forms.Form):
    conversion_events = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Event names, comma-separated or one per line. Revenue is read from the "
        "event's revenue property, else total, else value.",
    )
    click_window_days = forms.IntegerField(
        label="Click window (days)",
        help_text="A conversion up to this many days after a click counts for the message.",
        **_WINDOW,  # type: ignore[arg-type]
    )
    open_window_days = forms.IntegerField(
        label="Open window (days)",
        help_text="The same after an open (a click in its window takes precedence).",
        **_WINDOW,  # type: ignore[arg-type]
    )
    default_model = forms.ChoiceField(
        choices=AttributionModel.choices,
        label="Report shows first",
        error_messages={"invalid_choice": f"one of {', '.join(AttributionModel.values)}"},
    )

    @staticmethod
    def initial_for(settings: Settings) -> dict[str, Any]:
        return {
            "conversion_events": "\n".join(settings.conversion_events),
            "click_window_days": settings.click_window_days,
            "open_window_days": settings.open_window_days,
            "default_model": settings.default_model,
        }


# --- Funnel editor: the funnel, and a formset of one form per step row -------------------------

WHERE_OPS = ("eq", "neq", "contains", "not_contains", "gt", "gte", "lt", "lte", "exists")
STEP_PARTS = ("kind", "value", "property", "op", "operand")
BLANK_STEP = {"kind": "event", "value": "", "property": "", "op": "eq", "operand": ""}
EXCLUSION_PARTS = (*STEP_PARTS, "from_step", "to_step")
BLANK_EXCLUSION = {**BLANK_STEP, "from_step": 1, "to_step": ""}
_FUNNEL_WINDOW = f"must be from 1 to {MAX_WINDOW_DAYS} days"
_TOP = f"must be a whole number of values from 1 to {MAX_TOP}"
BREAKDOWN_CHOICES = [
    *[(f"utm:{part}", f"UTM {part} of step 1") for part in UTM_PARTS],
    ("property", "A property of the step-1 event"),
    ("field", "A contact field or attribute"),
]


class FunnelForm(forms.Form):
    """Name and window. The name is the service's to require: "Run" needs none."""

    name = forms.CharField(
        max_length=NAME_MAX,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "Pricing → sign-up → order"}),
    )
    window_days = forms.IntegerField(
        label="Complete within (days of step 1)",
        initial=30,
        min_value=1,
        max_value=MAX_WINDOW_DAYS,
        error_messages={
            "required": "must be a whole number of days",
            "invalid": "must be a whole number of days",
            "min_value": _FUNNEL_WINDOW,
            "max_value": _FUNNEL_WINDOW,
        },
    )
    breakdown_kind = forms.ChoiceField(
        label="Break down by", choices=BREAKDOWN_CHOICES, initial="utm:source", required=False
    )
    breakdown_name = forms.CharField(
        label="Property or field",
        max_length=PROPERTY_MAX,
        required=False,
        widget=forms.TextInput(
            attrs={"placeholder": "plan — or country, lifecycle_stage …", "list": "funnel-fields"}
        ),
        help_text="A property of the first step's event (dots reach into objects: cart.currency), "
        "or a contact field or custom attribute.",
    )
    breakdown_top = forms.IntegerField(
        label="Values shown",
        initial=DEFAULT_TOP,
        min_value=1,
        max_value=MAX_TOP,
        required=False,
        help_text=f"The largest values (up to {MAX_TOP}); the rest are summed as “(other)”.",
        error_messages={"invalid": _TOP, "min_value": _TOP, "max_value": _TOP},
    )

    def breakdown(self) -> dict[str, Any]:
        """The breakdown in the service's shape ({} is the default: UTM source, top 8)."""
        data = self.cleaned_data
        kind = data.get("breakdown_kind") or "utm:source"
        top = data.get("breakdown_top") or DEFAULT_TOP
        if kind.startswith("utm:"):
            part = kind.removeprefix("utm:")
            return {} if (part, top) == ("source", DEFAULT_TOP) else {"utm": part, "top": top}
        return {kind: data.get("breakdown_name") or "", "top": top}

    @staticmethod
    def initial_for(funnel: Any) -> dict[str, Any]:
        breakdown = funnel.breakdown or {}
        kind = next((key for key in ("utm", "property", "field") if key in breakdown), "utm")
        return {
            "name": funnel.name,
            "window_days": funnel.window_days,
            "breakdown_kind": f"utm:{breakdown.get('utm', 'source')}" if kind == "utm" else kind,
            "breakdown_name": "" if kind == "utm" else breakdown.get(kind, ""),
            "breakdown_top": breakdown.get("top", DEFAULT_TOP),
        }


class FunnelStepForm(forms.Form):
    """One step row: an event (with at most one property condition) or a page view. Whether
    the value is given and the condition makes sense is the service's to say."""

    kind = forms.ChoiceField(choices=[("event", "Event"), ("page", "Page view")], initial="event")
    value = forms.CharField(
        label="Event name or URL part",
        max_length=PAGE_MAX,
        required=False,
        widget=forms.TextInput(
            attrs={
                "placeholder": "Signed Up — or, for a page view, /pricing",
                "list": "funnel-event-names",
            }
        ),
    )
    property = forms.CharField(
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "property, e.g. plan"}),
    )
    op = forms.ChoiceField(
        label="Operator", choices=[(op, operator_label(op)) for op in WHERE_OPS], initial="eq"
    )
    operand = forms.CharField(
        label="Value",
        max_length=500,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "value, e.g. pro"}),
    )

    def step(self) -> dict[str, Any]:
        """The step in the service's shape (`{"event": …, "where": [...]}` or `{"page": …}`)."""
        data = self.cleaned_data
        kind = data["kind"]
        step: dict[str, Any] = {kind: data["value"]}
        if kind == "event" and data["property"]:
            condition = {"property": data["property"], "op": data["op"]}
            if data["op"] != "exists":
                condition["value"] = data["operand"]
            step["where"] = [condition]
        return step

    @staticmethod
    def initial_for(step: dict[str, Any]) -> dict[str, Any]:
        kind = "page" if "page" in step else "event"
        row = {**BLANK_STEP, "kind": kind, "value": step.get(kind, "")}
        where = step.get("where") or []
        if where and isinstance(where[0], dict):
            value = where[0].get("value")
            row.update(
                property=where[0].get("property", ""),
                op=where[0].get("op", "eq"),
                operand="" if value is None else str(value),
            )
        return row


class FunnelExclusionForm(FunnelStepForm):
    """An exclusion row: an event or page view, and the steps it must not fall between."""

    from_step = forms.IntegerField(
        label="After step",
        initial=1,
        min_value=1,
        max_value=MAX_STEPS,
        required=False,
        widget=forms.NumberInput(attrs={"class": "input"}),
    )
    to_step = forms.IntegerField(
        label="Before step",
        min_value=2,
        max_value=MAX_STEPS,
        required=False,
        help_text="Blank: the last step.",
        widget=forms.NumberInput(attrs={"class": "input"}),
    )

    def exclusion(self) -> dict[str, Any]:
        exclusion = self.step()
        for part in ("from_step", "to_step"):
            if self.cleaned_data.get(part) is not None:
                exclusion[part] = self.cleaned_data[part]
        return exclusion

    @staticmethod
    def initial_for(step: dict[str, Any]) -> dict[str, Any]:
        row = FunnelStepForm.initial_for(step)
        return {**row, "from_step": step.get("from_step", 1), "to_step": step.get("to_step", "")}


class BaseFunnelStepFormSet(forms.BaseFormSet):
    default_error_messages = {
        "too_many_forms": "a funnel has at most %(num)d steps",
    }

    @classmethod
    def get_default_prefix(cls) -> str:
        return "step"

    def steps(self) -> list[dict[str, Any]]:
        return [form.step() for form in self.forms]


class BaseFunnelExclusionFormSet(forms.BaseFormSet):
    default_error_messages = {
        "too_many_forms": "a funnel has at most %(num)d exclusions",
    }

    @classmethod
    def get_default_prefix(cls) -> str:
        return "exclusion"

    def exclusions(self) -> list[dict[str, Any]]:
        return [form.exclusion() for form in self.forms]


_BREAKDOWN_FIELDS = {
    "breakdown": "breakdown_kind",
    "breakdown.utm": "breakdown_kind",
    "breakdown.property": "breakdown_name",
    "breakdown.field": "breakdown_name",
    "breakdown.top": "breakdown_top",
}


def funnel_errors_place(
    error: ValidationFailed, form: forms.Form, steps: forms.BaseFormSet, exclusions: Any
) -> None:
    """The service names `steps[2].event`, `exclusions[0].to_step`, `breakdown.field`, `steps`
    or a field of the funnel form: each goes next to the row and part it concerns."""
    for path, message in error.fields.items():
        for root, formset in (("steps", steps), ("exclusions", exclusions)):
            index, _, rest = path.removeprefix(f"{root}[").partition("]")
            if path.startswith(f"{root}[") and index.isdigit() and int(index) < len(formset.forms):
                formset.forms[int(index)].add_error(_step_part(rest), message)
            elif path == root:
                formset.non_form_errors().append(message)
    form_errors_from(
        form,
        error,
        rename=lambda name: _BREAKDOWN_FIELDS.get(name, name),
        elsewhere=lambda name: name.startswith(("steps", "exclusions")),
    )


def _step_part(rest: str) -> str | None:
    """The row's field a service path names (`.event` → value, `.where[0].op` → op)."""
    if rest in (".event", ".page"):
        return "value"
    if rest in (".from_step", ".to_step"):
        return rest[1:]
    if not rest:
        return None
    if rest.endswith(".op"):
        return "op"
    if rest.endswith(".value"):
        return "operand"
    return "property"


FunnelStepFormSet = forms.formset_factory(
    FunnelStepForm,
    formset=BaseFunnelStepFormSet,
    extra=0,
    max_num=MAX_STEPS,
    absolute_max=MAX_STEPS,
    validate_max=True,
)

FunnelExclusionFormSet = forms.formset_factory(
    FunnelExclusionForm,
    formset=BaseFunnelExclusionFormSet,
    extra=0,
    max_num=MAX_EXCLUSIONS,
    absolute_max=MAX_EXCLUSIONS,
    validate_max=True,
)
