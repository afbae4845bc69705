"""Reading numbers from query strings and URLs, once for every API view.

`str.isdigit()` is true for "²" and "٣" (int("²") raises, int("٣") is 3), and a number past
bigint overflows PostgreSQL: both answered 500 where a view did `int(x) if x.isdigit()`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from workspaces.errors import ValidationFailed

_WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")  # ASCII digits, within bigint
BIGINT_MAX = 2**63 - 1


def query_int(
    params: Mapping[str, Any],
    name: str,
    *,
    default: int | None = None,
    minimum: int = 0,
    maximum: int = BIGINT_MAX,
) -> int | None:
    """`params[name]` as an int in [minimum, maximum], `default` when absent or empty;
    ValidationFailed naming the parameter otherwise."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, str) and _WHOLE_NUMBER.fullmatch(raw):
        value = int(raw)
        if minimum <= value <= maximum:
            return value
    bounds = f"from {minimum} to {maximum}" if maximum < BIGINT_MAX else f"of at least {minimum}"
    message = f"a whole number {bounds}"
    raise ValidationFailed(f"{name}: {message}.", fields={name: message})


def query_id(params: Mapping[str, Any], name: str) -> int | None:
    """An object id from the query string (or None); ValidationFailed naming it if not one."""
    return query_int(params, name, minimum=1)
