"""Django forms of the analytics pages: labels, help texts and shapes in one place. What a
value means (known events, the model) is the services' to say."""

from __future__ import annotations

from typing import Any

from django import forms

from analytics.attribution.config import WINDOW_MAX_DAYS, WINDOW_MIN_DAYS, Settings
from analytics.funnels import MAX_STEPS, MAX_WINDOW_DAYS, NAME_MAX, PAGE_MAX
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
_FUNNEL_WINDOW = f"must be from 1 to {MAX_WINDOW_DAYS} days"


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


class BaseFunnelStepFormSet(forms.BaseFormSet):
    default_error_messages = {
        "too_many_forms": "a funnel has at most %(num)d steps",
    }

    @classmethod
    def get_default_prefix(cls) -> str:
        return "step"

    def steps(self) -> list[dict[str, Any]]:
        return [form.step() for form in self.forms]

    def add_service_errors(self, error: ValidationFailed, form: forms.Form) -> None:
        """The service names `steps[2].event`, `steps[2].where[0].value`, `steps` or a
        field of the funnel form: each goes next to the row and part it concerns."""
        for path, message in error.fields.items():
            index, _, rest = path.removeprefix("steps[").partition("]")
            if path.startswith("steps[") and index.isdigit() and int(index) < len(self.forms):
                row = self.forms[int(index)]
                row.add_error(_step_part(rest), message)
            elif path == "steps":
                self.non_form_errors().append(message)
        form_errors_from(form, error, elsewhere=lambda name: name.startswith("steps"))


def _step_part(rest: str) -> str | None:
    """The row's field a service path names (`.event` → value, `.where[0].op` → op)."""
    if rest in (".event", ".page"):
        return "value"
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
