"""How stored values are read, identically in SQL and in Python.

Custom attributes and event properties are JSON: a value may be missing, of the wrong
type, or a malformed date. Each reader below has a Python form and an SQL form (see
`sql.py` and the functions created by migration 0002) that agree on every input:

- text:     a JSON string as is; a JSON integer as its digits; anything else has no text.
- number:   a JSON number, or a string of plain decimal digits ("42", "-1.5").
- boolean:  JSON true/false only.
- date:     a "YYYY-MM-DD" string naming a real day (years 1000-9998).
- datetime: an ISO 8601 string "YYYY-MM-DD[( |T)HH:MM[:SS[.ffffff]]][Z|±HH[[:]MM]]",
            UTC when it has no offset; or a bare date (midnight UTC).
Text comparisons ignore case.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

NUMBER_RE = r"^-?[0-9]+(\.[0-9]+)?$"
INTEGER_RE = r"^-?[0-9]+$"
DATE_RE = r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$"
DATETIME_RE = (
    r"^([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})"
    r"(?:\.([0-9]{1,6}))?)?)?(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?$"
)
MIN_YEAR, MAX_YEAR = 1000, 9998

_number = re.compile(NUMBER_RE)
_date = re.compile(DATE_RE)
_datetime = re.compile(DATETIME_RE)


def json_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def json_number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return Decimal(repr(value))
        except InvalidOperation:  # nan / inf cannot come out of Postgres jsonb anyway
            return None
    if isinstance(value, str) and _number.fullmatch(value):
        return Decimal(value)
    return None


def parse_date_text(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    match = _date.fullmatch(value)
    if not match:
        return None
    year, month, day = (int(part) for part in match.groups())
    if not (MIN_YEAR <= year <= MAX_YEAR and 1 <= month <= 12):
        return None
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    return date(year, month, day)


def parse_datetime_text(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    match = _datetime.fullmatch(value)
    if not match:
        return None
    day_text, hour, minute, second, fraction, offset = match.groups()
    day = parse_date_text(day_text)
    if day is None:
        return None
    h, m, s = int(hour or 0), int(minute or 0), int(second or 0)
    if h > 23 or m > 59 or s > 59:
        return None
    tz: timezone = UTC
    if offset and offset != "Z":
        compact = offset.replace(":", "")
        off_h, off_m = int(compact[1:3]), int(compact[3:5] or 0)
        if off_h > 14 or off_m > 59:
            return None
        delta = timedelta(hours=off_h, minutes=off_m)
        tz = timezone(-delta if compact[0] == "-" else delta)
    micro = int((fraction or "0").ljust(6, "0"))
    return datetime(day.year, day.month, day.day, h, m, s, micro, tzinfo=tz)


def json_present(value: Any) -> bool:
    """`exists` on a JSON value: present and not null, "" or []."""
    return value is not None and value != "" and value != []


_index = re.compile(r"-?[0-9]{1,9}")


def json_path_get(data: Any, path: tuple[str, ...]) -> Any:
    """Postgres' `#>`: keys into objects; integer keys also index arrays (negative from the end)."""
    for key in path:
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and _index.fullmatch(key):
            index = int(key)
            if index < 0:
                index += len(data)
            data = data[index] if 0 <= index < len(data) else None
        else:
            return None
    return data


def fold(text: str) -> str:
    """Case folding as both sides do it (Postgres lower() and str.lower agree on ASCII)."""
    return text.lower()
