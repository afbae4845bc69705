"""Django forms of the analytics pages: labels, help texts and shapes in one place. What a
value means (known events, the model) is the services' to say."""

from __future__ import annotations

from typing import Any

from django import forms

from analytics.attribution.config import WINDOW_MAX_DAYS, WINDOW_MIN_DAYS, Settings
from analytics.models import AttributionModel

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
