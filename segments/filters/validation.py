"""Reading a filter tree: every mistake is reported at the node that made it.

Paths read like the JSON they point into: `all[1].any[0].op`, `all[3].not.segment`,
`all[2].where[0].value`. Every error is collected (the builder shows each next to its
node); the exception's message is the first one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from workspaces.errors import ValidationFailed
from workspaces.models import Membership, Workspace

from . import values as V
from .nodes import EventCond, FieldCond, Group, Node, Not, PropertyCond, SegmentCond, TagCond
from .schema import (
    CONTACT_FIELDS,
    COUNT_OPERATORS,
    DAY_OPS,
    LIST_VALUE_OPS,
    MAX_DAYS,
    MAX_DEPTH,
    MAX_LIST_VALUES,
    MAX_NODES,
    NO_VALUE_OPS,
    PROPERTY_OPERATORS,
    FieldSpec,
    FieldType,
    Op,
    field_catalog,
)

NODE_KINDS = ("all", "any", "not", "field", "tag", "event", "segment")
_KEYS = {
    "field": {"field", "op", "value"},
    "tag": {"tag", "op"},
    "segment": {"segment", "op"},
    "event": {"event", "where", "count", "within_days", "between"},
}
_TEXT_MATCH_OPS = frozenset({Op.CONTAINS, Op.NOT_CONTAINS, Op.STARTS_WITH, Op.ENDS_WITH})
_ORDER_OPS = frozenset({Op.GT, Op.GTE, Op.LT, Op.LTE})
MAX_COUNT = 1_000_000


class FilterInvalid(ValidationFailed):
    """A filter tree with mistakes; `errors` maps each bad path to what is wrong there."""

    def __init__(self, errors: dict[str, str]):
        path, message = next(iter(errors.items()))
        super().__init__(f"{path}: {message}" if path else message, fields=dict(errors))
        self.errors = errors


class _Bad(Exception):
    def __init__(self, key: str, message: str):
        self.key, self.message = key, message


def join(path: str, key: str) -> str:
    if not key:
        return path
    if key.startswith("["):
        return f"{path}{key}"
    return f"{path}.{key}" if path else key


def describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class FilterParser:
    def __init__(self, *, workspace: Workspace, segment_id: int | None = None):
        self.workspace = workspace
        self.segment_id = segment_id
        self.errors: dict[str, str] = {}
        self.nodes = 0
        self._catalog: dict[str, FieldSpec] | None = None
        self.segment_refs: dict[int, str] = {}  # referenced id -> path of the node

    @property
    def catalog(self) -> dict[str, FieldSpec]:
        if self._catalog is None:
            self._catalog = field_catalog(workspace=self.workspace)
        return self._catalog

    def parse(self, tree: Any) -> Node:
        root = self.node(tree, "", 0)
        if self.segment_refs and not self.errors:
            self.check_segments()
        if self.errors:
            raise FilterInvalid(self.errors)
        assert root is not None
        return root

    def error(self, path: str, message: str) -> None:
        self.errors.setdefault(path, message)

    # --- nodes --------------------------------------------------------------------------

    def node(self, raw: Any, path: str, depth: int) -> Node | None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self.error(path, f"a filter may have at most {MAX_NODES} conditions and groups")
            return None
        if depth > MAX_DEPTH:
            self.error(path, f"groups may be nested at most {MAX_DEPTH} deep")
            return None
        if not isinstance(raw, dict):
            self.error(path, 'must be an object such as {"all": [...]} or a condition')
            return None
        kinds = [kind for kind in NODE_KINDS if kind in raw]
        if len(kinds) != 1:
            found = ", ".join(kinds) if kinds else "none"
            self.error(path, f"needs exactly one of {', '.join(NODE_KINDS)} (found {found})")
            return None
        kind = kinds[0]
        if kind in ("all", "any"):
            return self.group(kind, raw, path, depth)
        if kind == "not":
            if set(raw) != {"not"}:
                self.error(path, "a not group has only the key 'not'")
                return None
            child = self.node(raw["not"], join(path, "not"), depth + 1)
            return Not(child) if child is not None else None
        unknown = sorted(set(raw) - _KEYS[kind])
        if unknown:
            self.error(join(path, unknown[0]), f"unknown key '{unknown[0]}' in a {kind} condition")
            return None
        try:
            return getattr(self, f"{kind}_condition")(raw, path)
        except _Bad as bad:
            self.error(join(path, bad.key), bad.message)
            return None

    def group(self, kind: str, raw: dict[str, Any], path: str, depth: int) -> Node | None:
        if set(raw) != {kind}:
            self.error(path, f"an {kind} group has only the key '{kind}'")
            return None
        items = raw[kind]
        if not isinstance(items, list):
            self.error(join(path, kind), f"'{kind}' must be a list of conditions")
            return None
        children = [
            self.node(item, join(path, f"{kind}[{index}]"), depth + 1)
            for index, item in enumerate(items)
        ]
        if any(child is None for child in children):
            return None
        return Group(kind, tuple(c for c in children if c is not None))

    # --- conditions ---------------------------------------------------------------------

    def field_condition(self, raw: dict[str, Any], path: str) -> FieldCond:
        name = raw.get("field")
        if not isinstance(name, str) or not name:
            raise _Bad("field", "must name a contact field or custom attribute")
        spec = CONTACT_FIELDS.get(name) or self.catalog.get(name)  # columns need no query
        if spec is None:
            raise _Bad("field", f"unknown field '{name}'")
        op = self.operator(raw.get("op"), spec.operators, f"{spec.type} field '{name}'")
        value = self.field_value(spec, op, raw.get("value"), "value" in raw)
        return FieldCond(spec, op, value)

    def tag_condition(self, raw: dict[str, Any], path: str) -> TagCond:
        tag = raw.get("tag")
        if not isinstance(tag, str) or not tag.strip() or len(tag) > 100:
            raise _Bad("tag", "must be a tag name (1-100 characters)")
        op = self.operator(raw.get("op", "exists"), (Op.EXISTS, Op.NOT_EXISTS), "a tag")
        return TagCond(tag, op == Op.EXISTS)

    def segment_condition(self, raw: dict[str, Any], path: str) -> SegmentCond:
        ref = raw.get("segment")
        if isinstance(ref, str) and ref.isdigit():
            ref = int(ref)
        if not isinstance(ref, int) or isinstance(ref, bool) or ref <= 0:
            raise _Bad("segment", f"must be a segment id, not {describe(ref)}")
        op = self.operator(raw.get("op", "exists"), (Op.EXISTS, Op.NOT_EXISTS), "a segment")
        self.segment_refs.setdefault(ref, join(path, "segment"))
        return SegmentCond(ref, op == Op.EXISTS)

    def event_condition(self, raw: dict[str, Any], path: str) -> EventCond:
        name = raw.get("event")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise _Bad("event", "must be an event name (1-200 characters)")
        where = raw.get("where", [])
        if not isinstance(where, list):
            raise _Bad("where", "must be a list of property conditions")
        props = []
        for index, item in enumerate(where):
            try:
                props.append(self.property_condition(item))
            except _Bad as bad:
                raise _Bad(join(f"where[{index}]", bad.key), bad.message)
        count_op, count_value = self.event_count(raw.get("count"))
        if "within_days" in raw and "between" in raw:
            raise _Bad("between", "use either within_days or between, not both")
        within = raw.get("within_days")
        if "within_days" in raw and not _is_int(within, 1, MAX_DAYS):
            raise _Bad("within_days", f"must be a whole number of days from 1 to {MAX_DAYS}")
        between = self.event_between(raw["between"]) if "between" in raw else None
        return EventCond(name, tuple(props), count_op, count_value, within, between)

    def event_count(self, raw: Any) -> tuple[Op, int]:
        if raw is None:
            return Op.GTE, 1
        if not isinstance(raw, dict) or set(raw) - {"op", "value"}:
            raise _Bad("count", 'must look like {"op": "gte", "value": 3}')
        op = self.operator(raw.get("op", "gte"), COUNT_OPERATORS, "an event count", "count.op")
        if not _is_int(raw.get("value"), 0, MAX_COUNT):
            raise _Bad("count.value", f"must be a whole number from 0 to {MAX_COUNT}")
        return op, raw["value"]

    def event_between(self, raw: Any) -> tuple[datetime, datetime]:
        if not isinstance(raw, list) or len(raw) != 2:
            raise _Bad("between", "must be [start, end] (dates or ISO date-times)")
        start, end = (_date_or_datetime(item) for item in raw)
        if start is None or end is None:
            raise _Bad("between", "must be [start, end] (dates or ISO date-times)")
        # A bare end date includes that whole day (in the workspace's zone).
        lo = start if isinstance(start, datetime) else self.day_start(start)
        hi = (
            end + timedelta(microseconds=1)
            if isinstance(end, datetime)
            else self.day_start(end + timedelta(days=1))
        )
        if hi <= lo:
            raise _Bad("between", "the start must come before the end")
        return lo, hi

    def day_start(self, day: date) -> datetime:
        from .clock import workspace_zone

        return datetime.combine(day, datetime.min.time(), tzinfo=workspace_zone(self.workspace))

    def property_condition(self, raw: Any) -> PropertyCond:
        if not isinstance(raw, dict):
            raise _Bad("", 'must look like {"property": "url", "op": "contains", "value": "/x"}')
        unknown = sorted(set(raw) - {"property", "op", "value"})
        if unknown:
            raise _Bad(unknown[0], f"unknown key '{unknown[0]}' in a property condition")
        prop = raw.get("property")
        if not isinstance(prop, str) or not prop.strip() or len(prop) > 200:
            raise _Bad("property", "must be a property name (dots reach into objects: a.b)")
        op = self.operator(raw.get("op"), PROPERTY_OPERATORS, "an event property")
        return PropertyCond(tuple(prop.split(".")), op, self.property_value(op, raw))

    # --- operators and values -------------------------------------------------------------

    def operator(self, raw: Any, allowed: tuple[Op, ...], what: str, key: str = "op") -> Op:
        if raw not in {str(op) for op in allowed}:
            names = ", ".join(allowed)
            if isinstance(raw, str) and raw in Op.__members__.values():
                raise _Bad(key, f"operator '{raw}' is not valid for {what} (use {names})")
            raise _Bad(key, f"unknown operator {describe(raw)} for {what} (use {names})")
        return Op(raw)

    def field_value(self, spec: FieldSpec, op: Op, raw: Any, given: bool) -> Any:
        if op in NO_VALUE_OPS:
            if given and raw is not None:
                raise _Bad("value", f"'{op}' takes no value")
            return None
        if op in DAY_OPS:
            if not _is_int(raw, 0, MAX_DAYS):
                raise _Bad("value", f"must be a whole number of days from 0 to {MAX_DAYS}")
            return raw
        if op in LIST_VALUE_OPS:
            if not isinstance(raw, list) or not raw or len(raw) > MAX_LIST_VALUES:
                raise _Bad("value", f"'{op}' needs a list of 1 to {MAX_LIST_VALUES} values")
            return tuple(self.scalar(spec, op, item) for item in raw)
        if op == Op.BETWEEN:
            if not isinstance(raw, list) or len(raw) != 2:
                raise _Bad("value", "'between' needs [low, high]")
            low, high = (self.scalar(spec, op, item) for item in raw)
            if _sort_key(low) > _sort_key(high):
                raise _Bad("value", "'between' needs the low value first")
            return (low, high)
        return self.scalar(spec, op, raw)

    def scalar(self, spec: FieldSpec, op: Op, raw: Any) -> Any:
        kind = spec.type
        if kind in (FieldType.TEXT, FieldType.LIST):
            if not isinstance(raw, str) or len(raw) > 1000:
                raise _Bad("value", f"must be text, not {describe(raw)}")
            if (op in _TEXT_MATCH_OPS or kind == FieldType.LIST) and not raw:
                raise _Bad("value", f"'{op}' needs some text")
            return raw
        if kind == FieldType.CHOICE:
            if raw not in spec.choices:
                raise _Bad("value", f"must be one of {', '.join(spec.choices)}")
            return raw
        if kind == FieldType.OWNER:
            return self.owner_value(raw)
        if kind == FieldType.NUMBER:
            number = _number_value(raw)
            if number is None:
                raise _Bad("value", f"must be a number, not {describe(raw)}")
            return number
        if kind == FieldType.BOOLEAN:
            if not isinstance(raw, bool):
                raise _Bad("value", "must be true or false")
            return raw
        if kind == FieldType.DATE:
            day = V.parse_date_text(raw)
            if day is None:
                raise _Bad("value", f"must be a date YYYY-MM-DD, not {describe(raw)}")
            return day
        moment = _date_or_datetime(raw)  # DATETIME: a day, or an instant
        if moment is None:
            raise _Bad("value", f"must be a date or ISO date-time, not {describe(raw)}")
        return moment

    def owner_value(self, raw: Any) -> int:
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise _Bad("value", "must be the id of a workspace member")
        if not Membership.objects.for_workspace(self.workspace).filter(user_id=raw).exists():
            raise _Bad("value", f"unknown workspace member {raw}")
        return raw

    def property_value(self, op: Op, raw: dict[str, Any]) -> Any:
        value = raw.get("value")
        if op in NO_VALUE_OPS:
            if value is not None:
                raise _Bad("value", f"'{op}' takes no value")
            return None
        if op in _TEXT_MATCH_OPS:
            if not isinstance(value, str) or not value:
                raise _Bad("value", f"'{op}' needs some text")
            return value
        if op in _ORDER_OPS or op == Op.BETWEEN:
            items: list[Any] = [value]
            if op == Op.BETWEEN:
                if not isinstance(value, list) or len(value) != 2:
                    raise _Bad("value", "'between' needs [low, high]")
                items = value
            numbers = [_number_value(item) for item in items]
            if any(number is None for number in numbers):
                raise _Bad("value", f"'{op}' compares numbers, not {describe(value)}")
            if op == Op.BETWEEN:
                if numbers[0] > numbers[1]:  # type: ignore[operator]
                    raise _Bad("value", "'between' needs the low value first")
                return (numbers[0], numbers[1])
            return numbers[0]
        if op in LIST_VALUE_OPS:
            if not isinstance(value, list) or not value or len(value) > MAX_LIST_VALUES:
                raise _Bad("value", f"'{op}' needs a list of 1 to {MAX_LIST_VALUES} values")
            if all(isinstance(item, str) for item in value):
                return tuple(value)
            numbers = [_number_value(item) for item in value]
            if any(number is None for number in numbers) or any(
                isinstance(item, str) for item in value
            ):
                raise _Bad("value", "use a list of texts or a list of numbers")
            return tuple(numbers)
        # eq / neq: the value's JSON type says how to compare
        if isinstance(value, bool | str):
            return value
        number = _number_value(value)
        if number is None:
            raise _Bad("value", f"must be text, a number or true/false, not {describe(value)}")
        return number

    # --- segment references ------------------------------------------------------------------

    def check_segments(self) -> None:
        from segments.models import Segment

        graph = dict(
            Segment.objects.for_workspace(self.workspace).values_list("id", "dep_segment_ids")
        )
        names = dict(Segment.objects.for_workspace(self.workspace).values_list("id", "name"))
        for ref, path in self.segment_refs.items():
            if ref not in graph:
                self.error(path, f"unknown segment {ref}")
            elif self.segment_id is not None:
                cycle = _find_path(graph, ref, self.segment_id)
                if cycle is not None:
                    chain = " → ".join(f"'{names.get(i, i)}'" for i in [self.segment_id, *cycle])
                    self.error(path, f"segment cycle: {chain}")


def _find_path(graph: dict[int, list[int]], start: int, target: int) -> list[int] | None:
    """A path start → … → target through segment references, if there is one."""
    stack: list[tuple[int, list[int]]] = [(start, [start])]
    seen: set[int] = set()
    while stack:
        node, trail = stack.pop()
        if node == target:
            return trail
        if node in seen:
            continue
        seen.add(node)
        for nxt in graph.get(node) or []:
            stack.append((nxt, [*trail, nxt]))
    return None


def _is_int(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _number_value(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | str):
        number = V.json_number(value)
        if number is not None and number.is_finite():
            return number
    return None


def _date_or_datetime(value: Any) -> date | datetime | None:
    """A bare 'YYYY-MM-DD' stays a date (the whole day); anything longer is an instant."""
    if isinstance(value, str) and len(value) == 10:
        return V.parse_date_text(value)
    return V.parse_datetime_text(value)


def _sort_key(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, datetime.min.time(), tzinfo=UTC)
    return value


def parse_filter(*, workspace: Workspace, tree: Any, segment_id: int | None = None) -> Node:
    return FilterParser(workspace=workspace, segment_id=segment_id).parse(tree)
