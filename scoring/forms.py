"""Django forms of the scoring pages: labels, help texts and shapes in one place.

They check shapes (a number, one of the choices); scoring.services.config checks meaning (a
unique name, a valid filter, a negative signal's sign) and its errors are put next to these
fields with workspaces.forms.form_errors_from.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms

from contacts import selectors as contact_selectors
from workspaces.forms import ScopedForm

from .models import DecayMode, LeadActivity, NegativeSignal, RuleKind
from .services.backfill import DEFAULT_DAYS, WINDOWS
from .services.config import MAX_POINTS

POINTS = {"min_value": -MAX_POINTS, "max_value": MAX_POINTS}
DAYS = {"min_value": 1, "max_value": 3650}
CAP = {"min_value": 1, "max_value": 1_000_000}


class ScoringModelForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False)
    mql_threshold = forms.IntegerField(label="MQL at score ≥", initial=50, **POINTS)
    hysteresis = forms.IntegerField(
        label="Hysteresis (points)",
        initial=10,
        min_value=0,
        max_value=MAX_POINTS,
        help_text="An MQL leaves only below threshold − this.",
    )
    decay_mode = forms.ChoiceField(choices=DecayMode.choices, label="Decay", initial="none")
    decay_percent = forms.IntegerField(
        label="Lose % per period", initial=10, min_value=0, max_value=99
    )
    decay_period_days = forms.IntegerField(label="Period (days)", initial=30, **DAYS)
    expire_after_days = forms.IntegerField(label="Or expire after (days)", initial=90, **DAYS)
    is_primary = forms.BooleanField(
        required=False, label="Primary (drives Contact.score and lifecycle)"
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")


class ScoringRuleForm(forms.Form):
    """A rule's own fields. Its conditions come from the condition builder beside it."""

    kind = forms.ChoiceField(choices=RuleKind.choices, initial=RuleKind.BEHAVIOURAL)
    name = forms.CharField(
        max_length=150, widget=forms.TextInput(attrs={"placeholder": "Requested a demo"})
    )
    points = forms.IntegerField(initial=10, **POINTS)
    cap_per_day = forms.IntegerField(required=False, label="At most points per day", **CAP)
    cap_total = forms.IntegerField(required=False, label="At most points in total", **CAP)
    signal = forms.ChoiceField(choices=[("", "—"), *NegativeSignal.choices], required=False)
    inactive_days = forms.IntegerField(required=False, label="Inactive for (days)", **DAYS)
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "r-%s")  # the page's scripts and tests know #r-kind …
        super().__init__(*args, **kwargs)

    @property
    def shown_kind(self) -> str:
        """The kind to show the form for: the one chosen, if it is one."""
        value = self["kind"].value()
        return value if value in RuleKind.values else RuleKind.BEHAVIOURAL


class BackfillWindowForm(forms.Form):
    days = forms.TypedChoiceField(
        coerce=int,
        choices=[(d, f"{d} days") for d in WINDOWS],
        initial=DEFAULT_DAYS,
        label="Look back",
        error_messages={
            "invalid_choice": f"Choose a window of {', '.join(map(str, WINDOWS))} days."
        },
    )


class MembersForm(ScopedForm):
    """A form that chooses among the workspace's members in its `member_fields`."""

    member_fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        members = contact_selectors.owner_choices(workspace=self.workspace)
        for name in self.member_fields:
            field = self.fields[name]
            field.choices = [*field.choices, *members]  # type: ignore[attr-defined]


class AssignmentRuleForm(MembersForm):
    member_fields = ("reps",)

    name = forms.CharField(
        max_length=150, widget=forms.TextInput(attrs={"placeholder": "Berlin office"})
    )
    filter = forms.CharField(
        required=False,
        label="Filter (JSON, segment filter language)",
        widget=forms.Textarea(
            attrs={
                "class": "sc-json",
                "placeholder": '{"field": "city", "op": "in", "value": ["Berlin", "Munich"]}',
            }
        ),
    )
    reps = forms.TypedMultipleChoiceField(
        coerce=int, choices=(), widget=forms.SelectMultiple(attrs={"size": 5})
    )

    def clean_filter(self) -> Any:
        raw = self.cleaned_data["filter"].strip()
        if not raw:
            return {}
        try:
            tree = json.loads(raw)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(f"Not valid JSON: {error.msg} (line {error.lineno}).")
        return tree  # what the tree means, the service says


class RepCapacityForm(MembersForm):
    member_fields = ("user",)
    user = forms.TypedChoiceField(coerce=int, choices=())
    max_open_leads = forms.IntegerField(required=False, min_value=0, label="Max open leads")
    is_available = forms.BooleanField(required=False, label="Available")


class ScoringSettingsForm(forms.Form):
    # Plain text, not URLField: the outbound client says what is wrong with an address
    # (private, link-local, not https) in words the URL validator does not have.
    slack_webhook_url = forms.CharField(
        max_length=500,
        required=False,
        label="Incoming webhook URL",
        widget=forms.TextInput(attrs={"placeholder": "https://hooks.slack.com/services/…"}),
        help_text="Every new MQL is posted here with its score and what it did lately.",
    )
    crm_webhook_url = forms.CharField(
        max_length=500,
        required=False,
        label="Lifecycle webhook URL",
        widget=forms.TextInput(attrs={"placeholder": "https://crm.example.com/hooks/tendril"}),
    )
    email_notifications = forms.BooleanField(
        required=False, label="Email reps their notifications too"
    )
    task_due_hours = forms.IntegerField(
        min_value=1, max_value=24 * 90, label="Follow-up tasks are due after (hours)"
    )


# --- a lead's actions (the lead page's popovers) ---------------------------------------------
# Required-ness and meaning are the services' (their messages are sentences made for this
# page: "Say why the lead is disqualified."); the forms give labels, widgets and shapes.


class DisqualifyForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        required=False,
        label="Why?",
        widget=forms.TextInput(attrs={"placeholder": "No budget, competitor, student…"}),
    )


class LeadLogForm(forms.Form):
    kind = forms.TypedChoiceField(
        choices=[(LeadActivity.Kind.CALL, "Call"), (LeadActivity.Kind.NOTE, "Note")],
        required=False,
        empty_value=LeadActivity.Kind.NOTE,
    )
    body = forms.CharField(
        required=False, label="What happened", widget=forms.Textarea(attrs={"rows": 3})
    )


class DealWonForm(forms.Form):
    value = forms.DecimalField(
        min_value=0,
        max_digits=14,
        decimal_places=2,
        label="Deal value",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "12000"}),
    )
    currency = forms.CharField(max_length=3, initial="USD")
    name = forms.CharField(max_length=200, required=False, label="Deal name")


def _owner_field(empty: str, **attrs: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        coerce=int,
        required=False,
        empty_value=None,
        choices=[("", empty)],
        widget=forms.Select(attrs={"class": "input", **attrs}),
    )


class LeadAssignForm(MembersForm):
    member_fields = ("owner",)
    owner = _owner_field("By assignment rules", **{"aria-label": "Owner"})


class SalesTaskForm(MembersForm):
    member_fields = ("assignee",)
    title = forms.CharField(
        required=False,
        widget=forms.TextInput(
            attrs={"class": "input", "placeholder": "New task", "aria-label": "Task title"}
        ),
    )
    due_at = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(
            attrs={"class": "input", "type": "datetime-local", "aria-label": "Due"}
        ),
        error_messages={"invalid": "Give the due time as a date and time."},
    )
    assignee = _owner_field("Whoever adds it (or the lead's owner)")


class _IdsField(forms.Field):
    """Many ids from one repeated name (`id=3&id=7`); what is not a number is left out."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        return [int(v) for v in value or [] if str(v).isdigit()]


class NotificationsReadForm(forms.Form):
    """Which of one's notifications to mark read: those given, or (none) all of them."""

    id = _IdsField(required=False)
