"""Small readers shared by triggers and waits: property conditions on one event, a
contact's field value by name, and event windows "since entering the workflow".

Property conditions use the segment filter's `where` format
(`{"property": "revenue", "op": "gt", "value": 100}`); a trigger looks at one event in
memory, so this matches without a query. Dotted property names reach into nested objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

PROPERTY_OPS = (
    "eq", "neq", "contains", "not_contains", "starts_with", "ends_with",
    "in", "not_in", "exists", "not_exists", "gt", "gte", "lt", "lte",
)  # fmt: skip

# Contact columns a workflow may read and write by name; anything else is a custom attribute.
CONTACT_FIELDS = (
    "email", "phone", "first_name", "last_name", "company", "job_title", "country", "city",
    "timezone", "lifecycle_stage", "score",
)  # fmt: skip


_MISSING = object()


def property_get(properties: Mapping[str, Any], path: str) -> Any:
    value: Any = properties
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _text(value: Any) -> str:
    return str(value).casefold()


def values_equal(left: Any, right: Any) -> bool:
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return a == b
    if isinstance(left, str) or isinstance(right, str):
        return _text(left) == _text(right)
    return bool(left == right)


def condition_holds(value: Any, op: str, expected: Any) -> bool:
    present = value is not _MISSING and value is not None
    if op == "exists":
        return present
    if op == "not_exists":
        return not present
    if not present:
        return op in ("neq", "not_contains", "not_in")
    if op == "eq":
        return values_equal(value, expected)
    if op == "neq":
        return not values_equal(value, expected)
    if op in ("in", "not_in"):
        options = expected if isinstance(expected, list) else [expected]
        found = any(values_equal(value, option) for option in options)
        return found if op == "in" else not found
    if op in ("contains", "not_contains"):
        if isinstance(value, list):
            found = any(values_equal(item, expected) for item in value)
        else:
            found = _text(expected) in _text(value)
        return found if op == "contains" else not found
    if op == "starts_with":
        return _text(value).startswith(_text(expected))
    if op == "ends_with":
        return _text(value).endswith(_text(expected))
    a, b = _number(value), _number(expected)
    if a is None or b is None:
        return False
    return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}.get(op, False)


def properties_match(
    where: Iterable[Mapping[str, Any]] | None, properties: Mapping[str, Any]
) -> bool:
    return all(
        condition_holds(property_get(properties, cond["property"]), cond["op"], cond.get("value"))
        for cond in (where or [])
    )


def contact_value(contact: Any, field: str) -> Any:
    if field in CONTACT_FIELDS:
        return getattr(contact, field)
    return (contact.attributes or {}).get(field)


# --- "since entering the workflow": an event condition's window relative to the run ---------
#
# `{"event": "Order Completed", "since_entry": true}` — did it since this run entered the
# workflow. The segment filter language has no runs, so the engine resolves the key into the
# language's own window before evaluating: `between` the run's entry time and now. Only
# steps inside a run (branches, goals, waits) may use it; a trigger or an enrolment filter
# has no entry yet.

SINCE_ENTRY = "since_entry"
SINCE_ENTRY_WORDS = "since entering"


def since_entry_used(tree: Any) -> bool:
    if isinstance(tree, Mapping):
        if SINCE_ENTRY in tree and "event" in tree:
            return True
        return any(since_entry_used(child) for child in tree.values())
    if isinstance(tree, list):
        return any(since_entry_used(child) for child in tree)
    return False


def since_entry_resolve(tree: Any, *, entered_at: Any, now: Any) -> Any:
    """`tree` with every `since_entry` event window as `between` [entered_at, now] (a copy;
    a tree without one comes back as it is)."""
    if not since_entry_used(tree):
        return tree
    start = (entered_at or now).isoformat()
    end = max(now, entered_at or now).isoformat()

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(child) for child in node]
        if not isinstance(node, Mapping):
            return node
        if "event" in node and node.get(SINCE_ENTRY) is True:
            out = {k: v for k, v in node.items() if k != SINCE_ENTRY}
            out["between"] = [start, end]
            return out
        return {key: walk(value) for key, value in node.items()}

    return walk(tree)


def since_entry_errors(tree: Any, *, allowed: bool, path: str = "") -> dict[str, str]:
    """What is wrong with the tree's `since_entry` keys, by JSON path (as segments names its
    own errors): only `true`, only on an event, with no other window, only where allowed."""
    errors: dict[str, str] = {}
    if isinstance(tree, list):
        for index, child in enumerate(tree):
            errors.update(since_entry_errors(child, allowed=allowed, path=f"{path}[{index}]"))
        return errors
    if not isinstance(tree, Mapping):
        return errors
    if SINCE_ENTRY in tree:
        here = f"{path}.{SINCE_ENTRY}" if path else SINCE_ENTRY
        if not allowed:
            errors[here] = (
                "'since entering the workflow' applies only to steps inside a run "
                "(branches, goals, waits), not to who may enter"
            )
        elif "event" not in tree:
            errors[here] = "only an event condition can look since entering the workflow"
        elif tree[SINCE_ENTRY] is not True:
            errors[here] = "must be true"
        elif "within_days" in tree or "between" in tree:
            errors[here] = "use one period: since entering, within_days or between"
    for key, value in tree.items():
        if key != SINCE_ENTRY and isinstance(value, Mapping | list):
            child = f"{path}.{key}" if path else key
            errors.update(since_entry_errors(value, allowed=allowed, path=child))
    return errors
