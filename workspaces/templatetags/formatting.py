"""Numbers as people read them, the same on every page: `{{ rate|percent }}` ("12.5%", not
"0.125") and `{{ amount|money:workspace.currency }}` ("€1,234.50", in the workspace's currency,
formatted by Babel from CLDR's symbols and decimals)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import format_currency
from django import template

register = template.Library()

LOCALE = "en_US"


def _number(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


@register.filter
def percent(value: Any, digits: int = 1) -> str:
    """A rate between 0 and 1 as a percentage with at most `digits` decimals."""
    number = _number(value)
    if number is None:
        return "—"
    text = f"{number * 100:.{int(digits)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{'0' if text in ('-0', '') else text}%"


@register.filter
def money(value: Any, currency: str = "USD") -> str:
    """An amount in an ISO 4217 currency, with its symbol and its number of decimals."""
    number = _number(value)
    if number is None:
        return "—"
    try:
        return str(format_currency(number, currency or "USD", locale=LOCALE))
    except (ValueError, TypeError):  # an unknown code: the amount and the code as written
        return f"{number:,.2f} {currency}"
