"""The same filter, evaluated for one contact in Python.

Profile conditions cost nothing (the contact is in memory). Event conditions load the
contact's events of the named types once per evaluation (bounded by the widest time
window in the filter); segment conditions read the contact's memberships once. Groups
short-circuit, so a failing profile condition skips the queries.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from contacts.models import Contact, Event
from predictions import selectors as prediction_selectors

from . import values as V
from .clock import time_test
from .nodes import (
    Clock,
    EventCond,
    FieldCond,
    Group,
    Node,
    Not,
    PropertyCond,
    SegmentCond,
    TagCond,
    count_holds,
)
from .schema import NEGATIONS, FieldType, Op

_CMP = {
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "eq": lambda a, b: a == b,
}


class Evaluator:
    def __init__(
        self,
        *,
        workspace_id: int,
        clock: Clock,
        contact: Contact,
        root: Node,
        events: dict[str, list[tuple[datetime, Any]]] | None = None,
    ):
        """`events`: this contact's events the conditions can look at, already loaded (for
        many contacts at once by load_events with an earlier clock); None loads them."""
        self.workspace_id = workspace_id
        self.clock = clock
        self.contact = contact
        self.root = root
        self._events = events
        self._segments: set[int] | None = None
        self._predictions: dict[int, tuple[float, str]] | None = None

    def evaluate(self) -> bool:
        return self.node(self.root)

    def node(self, node: Node) -> bool:
        if isinstance(node, Group):
            test = all if node.kind == "all" else any
            return test(self.node(child) for child in node.children)
        if isinstance(node, Not):
            return not self.node(node.child)
        if isinstance(node, FieldCond):
            positive = NEGATIONS.get(node.op)
            result = self.field(node, positive or node.op)
            return not result if positive else result
        if isinstance(node, TagCond):
            return (node.tag in (self.contact.tags or [])) == node.present
        if isinstance(node, SegmentCond):
            return (node.segment_id in self.segment_ids()) == node.present
        return self.event(node)

    # --- fields -------------------------------------------------------------------------

    def field(self, cond: FieldCond, op: Op) -> bool:
        spec = cond.spec
        if spec.prediction is not None:
            return self.prediction(cond, op)
        if spec.is_attribute:
            return self.attribute(cond, op, (self.contact.attributes or {}).get(spec.name))
        raw = getattr(self.contact, spec.column or "")
        if spec.type == FieldType.TEXT:
            return text_test(raw or "", op, cond.value)
        if spec.type == FieldType.CHOICE:
            return raw in cond.value if op == Op.IN else raw == cond.value
        if spec.type == FieldType.OWNER:
            if op == Op.EXISTS:
                return raw is not None
            return raw in cond.value if op == Op.IN else raw == cond.value
        if spec.type == FieldType.NUMBER:
            return number_test(V.json_number(raw), op, cond.value)
        return self.time(raw, FieldType.DATETIME, cond, op)

    def prediction(self, cond: FieldCond, op: Op) -> bool:
        found = self.predictions().get(cond.spec.prediction or 0)
        if op == Op.EXISTS:
            return found is not None
        if found is None:
            return False
        likelihood, tier = found
        if cond.spec.type == FieldType.CHOICE:
            return tier in cond.value if op == Op.IN else tier == cond.value
        return number_test(V.json_number(likelihood), op, cond.value)

    def predictions(self) -> dict[int, tuple[float, str]]:
        if self._predictions is None:
            self._predictions = prediction_selectors.contact_prediction_values(
                workspace_id=self.workspace_id, contact_id=self.contact.pk
            )
        return self._predictions

    def attribute(self, cond: FieldCond, op: Op, raw: Any) -> bool:
        if op == Op.EXISTS:
            return V.json_present(raw)
        type_ = cond.spec.type
        if type_ == FieldType.TEXT:
            return text_test(V.json_text(raw), op, cond.value)
        if type_ == FieldType.NUMBER:
            return number_test(V.json_number(raw), op, cond.value)
        if type_ == FieldType.BOOLEAN:
            return raw is cond.value
        if type_ == FieldType.LIST:
            if not isinstance(raw, list):
                return False
            strings = {item for item in raw if isinstance(item, str)}
            if op == Op.IN:
                return bool(strings & set(cond.value))
            return cond.value in strings
        if type_ == FieldType.DATE:
            return self.time(V.parse_date_text(raw), type_, cond, op)
        return self.time(V.parse_datetime_text(raw), type_, cond, op)

    def time(self, raw: date | datetime | None, type_: FieldType, cond: FieldCond, op: Op) -> bool:
        if op == Op.EXISTS:
            return raw is not None
        if raw is None:
            return False
        test = time_test(FieldCond(cond.spec, op, cond.value), self.clock)
        if test.month_days is not None:
            local = raw.astimezone(self.clock.tz) if isinstance(raw, datetime) else raw
            return local.strftime("%m-%d") in test.month_days
        return all(_CMP[cmp](raw, bound) for cmp, bound in test.comparisons)

    # --- events and segments --------------------------------------------------------------

    def event(self, cond: EventCond) -> bool:
        count = 0
        for timestamp, properties in self.events().get(cond.name, ()):
            if cond.within_days is not None and timestamp < self.clock.days_ago(cond.within_days):
                continue
            if cond.between is not None and not (cond.between[0] <= timestamp < cond.between[1]):
                continue
            if all(property_test(prop, properties) for prop in cond.where):
                count += 1
        return count_holds(cond.count_op, count, cond.count_value)

    def events(self) -> dict[str, list[tuple[datetime, Any]]]:
        if self._events is None:
            self._events = load_events(
                workspace_id=self.workspace_id,
                contact_ids=[self.contact.pk],
                conditions=list(event_conditions(self.root)),
                clock=self.clock,
            ).get(self.contact.pk, {})
        return self._events

    def segment_ids(self) -> set[int]:
        if self._segments is None:
            from segments.models import SegmentMembership

            wanted = {node.segment_id for node in walk(self.root) if isinstance(node, SegmentCond)}
            self._segments = set(
                SegmentMembership.objects.filter(
                    workspace_id=self.workspace_id,
                    contact_id=self.contact.pk,
                    segment_id__in=wanted,
                ).values_list("segment_id", flat=True)
            )
        return self._segments


def load_events(
    *, workspace_id: int, contact_ids: list[int], conditions: list[EventCond], clock: Clock
) -> dict[int, dict[str, list[tuple[datetime, Any]]]]:
    """The events the conditions can look at, per contact and name, in one query."""
    found: dict[int, dict[str, list[tuple[datetime, Any]]]] = {}
    if not conditions:
        return found
    earliest: dict[str, datetime | None] = {}
    for cond in conditions:
        since = _window_start(cond, clock)
        if cond.name in earliest and earliest[cond.name] is None:
            continue
        current = earliest.get(cond.name, since)
        earliest[cond.name] = None if since is None or current is None else min(since, current)
    from django.db.models import Q

    wanted = Q()
    for name, since in earliest.items():
        wanted |= Q(name=name, timestamp__gte=since) if since else Q(name=name)
    rows = (
        Event.objects.filter(workspace_id=workspace_id, contact_id__in=contact_ids)
        .filter(wanted)
        .values_list("contact_id", "name", "timestamp", "properties")
    )
    for contact_id, name, timestamp, properties in rows:
        found.setdefault(contact_id, {}).setdefault(name, []).append((timestamp, properties))
    return found


def _window_start(cond: EventCond, clock: Clock) -> datetime | None:
    if cond.within_days is not None:
        return clock.days_ago(cond.within_days)
    if cond.between is not None:
        return cond.between[0]
    return None


def walk(node: Node) -> Iterable[Node]:
    yield node
    if isinstance(node, Group):
        for child in node.children:
            yield from walk(child)
    elif isinstance(node, Not):
        yield from walk(node.child)


def event_conditions(node: Node) -> Iterable[EventCond]:
    return (item for item in walk(node) if isinstance(item, EventCond))


# --- tests on one value ----------------------------------------------------------------------


def text_test(raw: str | None, op: Op, value: Any) -> bool:
    if raw is None:
        return False
    if op == Op.EXISTS:
        return raw != ""
    text = V.fold(raw)
    if op == Op.EQ:
        return text == V.fold(value)
    if op == Op.IN:
        return text in {V.fold(item) for item in value}
    if op == Op.CONTAINS:
        return V.fold(value) in text
    if op == Op.STARTS_WITH:
        return text.startswith(V.fold(value))
    if op == Op.ENDS_WITH:
        return text.endswith(V.fold(value))
    raise AssertionError(f"text operator {op}")


def number_test(raw: Any, op: Op, value: Any) -> bool:
    if raw is None:
        return False
    if op == Op.BETWEEN:
        return bool(value[0] <= raw <= value[1])
    if op == Op.IN:
        return raw in value
    return bool(_CMP[str(op)](raw, value))


def property_test(prop: PropertyCond, properties: Any) -> bool:
    positive = NEGATIONS.get(prop.op)
    op = positive or prop.op
    raw = V.json_path_get(properties, prop.path) if prop.path else None
    if op == Op.EXISTS:
        result = V.json_present(raw)
    else:
        sample = prop.value[0] if isinstance(prop.value, tuple) else prop.value
        if isinstance(sample, bool):
            result = raw is sample
        elif isinstance(sample, str):
            result = text_test(V.json_text(raw), op, prop.value)
        else:
            result = number_test(V.json_number(raw), op, prop.value)
    return not result if positive else result
