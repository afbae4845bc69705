from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from typing import Any

from babel.numbers import get_currency_name, list_currencies
from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm

from .errors import TendrilError
from .models import ApiKey, User, Workspace
from .roles import Role

TIMEZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones())]
CURRENCY_CHOICES = [
    (code, f"{code} — {get_currency_name(code, locale='en_US')}")
    for code in sorted(list_currencies())
    if len(code) == 3 and code.isalpha()
]


# --- What every app's HTML forms share ---------------------------------------------------------


class ScopedForm(forms.Form):
    """A form whose choices are one workspace's own: built with `workspace=`."""

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any):
        self.workspace = workspace
        super().__init__(*args, **kwargs)


def form_errors_from(
    form: forms.BaseForm,
    error: TendrilError,
    *,
    rename: Callable[[str], str] | None = None,
    elsewhere: Callable[[str], bool] | None = None,
    in_words: bool = False,
) -> None:
    """Show a service's error next to the fields it names, in the form's own error list.

    The form checks shapes, the service meaning; its `fields` use the service's names, which
    `rename` maps onto the form's (`attributes.plan` → `attr__plan`). Names `elsewhere`
    claims are shown by another part of the page (a condition builder). When nothing lands
    next to a field, the message goes above the form, so a rejection never goes unsaid.
    `in_words`: the message, a whole sentence, goes next to the first field named instead of
    each field's short text (small forms whose service speaks to their user).
    """
    placed = False
    if in_words:
        named = [rename(n) if rename else n for n in error.fields]
        field = next((name for name in named if name in form.fields), None)
        form.add_error(field, error.message)
        return
    for name, problems in error.fields.items():
        if elsewhere and elsewhere(name):
            placed = True
            continue
        field = rename(name) if rename else name
        for problem in problems if isinstance(problems, list) else [problems]:
            if field in form.fields:
                form.add_error(field, str(problem))
                placed = True
    if not placed:
        form.add_error(None, error.message)


# --- Formsets whose rows are added, removed and moved by buttons (no padding, no delete box) ---


class RowActionInvalid(ValueError):
    pass


def rows_as_typed(formset: forms.BaseFormSet, parts: tuple[str, ...]) -> list[dict[str, Any]]:
    """The rows of a bound formset exactly as typed (nothing validated), in order."""
    rows = []
    for row in formset.forms:
        values = {part: row[part].data for part in parts}
        rows.append({part: ("" if v is None else v) for part, v in values.items()})
    return rows


def rows_change(
    rows: list[dict[str, Any]], action: str, *, limit: int, blank: dict[str, Any], keep: int = 0
) -> tuple[list[dict[str, Any]], int | None]:
    """Apply one row button — `add`, `remove:<n>`, `up:<n>`, `down:<n>` — to the rows.

    Returns the new rows and the index of the row the change landed on (None after a
    remove that leaves nothing). A move past either end, an add past `limit` or a remove
    below `keep` rows changes nothing; an action naming no row is refused with
    RowActionInvalid.
    """
    rows = list(rows)
    verb, _, number = action.partition(":")
    if verb == "add" and not number:
        if len(rows) >= limit:
            return rows, len(rows) - 1
        rows.append(dict(blank))
        return rows, len(rows) - 1
    if verb not in ("remove", "up", "down") or not number.isdigit() or int(number) >= len(rows):
        raise RowActionInvalid(f"unknown row action '{action[:40]}'.")
    n = int(number)
    if verb == "remove":
        if len(rows) <= keep:
            return rows, n
        del rows[n]
        return rows, (min(n, len(rows) - 1) if rows else None)
    other = n - 1 if verb == "up" else n + 1
    if not 0 <= other < len(rows):
        return rows, n
    rows[n], rows[other] = rows[other], rows[n]
    return rows, other


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()


def login_username(request: object, credentials: dict | None) -> str:
    """The email django-axes locks out: as the login form normalises it (case, spaces)."""
    raw = (credentials or {}).get("username") or getattr(request, "POST", {}).get("username", "")
    return str(raw or "").strip().lower()


CONTROL_GROUP_MAX = 50


class WorkspaceForm(forms.Form):
    name = forms.CharField(max_length=120)
    timezone = forms.ChoiceField(choices=TIMEZONE_CHOICES, initial="UTC")


class WorkspaceSettingsForm(WorkspaceForm):
    api_rate_limit = forms.IntegerField(
        label="API rate limit (requests per second per secret key)",
        required=False,
        min_value=1,
        max_value=10_000,
        help_text="Leave empty for the platform default. Over it, the API answers 429.",
    )
    currency = forms.ChoiceField(
        choices=CURRENCY_CHOICES,
        initial="USD",
        help_text="Revenue on the dashboard and in attribution is shown in it (ISO 4217).",
    )
    control_group_percent = forms.IntegerField(
        label="Global control group (% of contacts)",
        required=False,
        min_value=0,
        max_value=CONTROL_GROUP_MAX,
        help_text="This share of contacts — chosen at random, always the same ones — gets no "
        "marketing (broadcasts and workflow messages; test sends still go), so Analytics can "
        "compare them with everyone else. 0 = off; 5–10 is typical.",
    )

    def clean_control_group_percent(self) -> int:
        return self.cleaned_data.get("control_group_percent") or 0


class InvitationForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MARKETER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, required=False)
    kind = forms.ChoiceField(choices=ApiKey.Kind.choices, initial=ApiKey.Kind.SECRET)
    can_manage_workspace = forms.BooleanField(
        required=False,
        label="Admin key",
        help_text="A secret key that may also manage members, invitations and integration "
        "settings through the API.",
    )


class AcceptInvitationForm(forms.Form):
    """Shown to someone without an account: name and password, email fixed by the invite."""

    name = forms.CharField(max_length=150)
    password = forms.CharField(widget=forms.PasswordInput, strip=False)

    def __init__(self, *args: object, email: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.email = email

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        password_validation.validate_password(password, User(email=self.email))
        return password
