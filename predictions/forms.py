"""The Predictions page's form: labels, help texts and shapes; meaning is the service's."""

from __future__ import annotations

from django import forms

from .models import GoalType, Kind
from .services import MAX_HORIZON_DAYS


class PredictionModelForm(forms.Form):
    kind = forms.ChoiceField(
        choices=Kind.choices,
        label="Predict",
        help_text="Conversion: who will reach the goal. Churn: which existing customers will "
        "not do the goal event again.",
    )
    goal_type = forms.ChoiceField(choices=GoalType.choices, label="Goal is")
    goal = forms.CharField(
        max_length=200,
        label="Goal",
        help_text="An event name (Order Completed) or a lifecycle stage (customer).",
        widget=forms.TextInput(attrs={"placeholder": "Order Completed", "list": "goal-names"}),
    )
    horizon_days = forms.IntegerField(
        min_value=1,
        max_value=MAX_HORIZON_DAYS,
        initial=30,
        label="Within (days)",
        help_text="The window after each cut-off in which the goal counts.",
    )
    name = forms.CharField(
        max_length=150, required=False, label="Name", help_text="Optional; made from the goal."
    )
