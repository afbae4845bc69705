"""The compiled SQL (both modes) and the Python evaluator give the same answer.

Hypothesis builds random contacts (with awkward attribute values: missing, wrong type,
malformed dates, Feb 29 birthdays), random events and random filter trees over every
field type, operator, event count/window and segment membership, at a few awkward
instants (New Year, Feb 28 of a non-leap year) in a few time zones.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts.models import AttributeDefinition, Contact, Event
from segments.filters import compile_filter, evaluate_filter, parse_filter
from segments.filters.schema import CONTACT_FIELDS, NO_VALUE_OPS, FieldType, Op
from segments.models import Segment, SegmentMembership

pytestmark = pytest.mark.django_db

ATTRIBUTES = {
    "plan": "string",
    "seats": "number",
    "trial": "boolean",
    "birthday": "date",
    "renews_at": "datetime",
    "langs": "list",
}
NOWS = [
    datetime(2023, 2, 27, 23, 30, tzinfo=UTC),  # Feb 28 somewhere, non-leap year
    datetime(2024, 12, 30, 12, 0, tzinfo=UTC),  # a window across New Year
    datetime(2024, 2, 29, 8, 0, tzinfo=UTC),
]
ZONES = ["UTC", "Pacific/Kiritimati", "America/Los_Angeles"]
WORDS = ["", "a", "A", "ab", "Ab", "b", "ba", "pro", "Pro", "free", "x/pricing", "/pricing"]
EVENT_NAMES = ["Signed Up", "Order", "page"]

words = st.sampled_from(WORDS)
small_numbers = st.one_of(
    st.integers(-3, 12), st.sampled_from([0.5, 2.5, -1.25]), st.sampled_from(["3", "4.5", "x"])
)
day_offsets = st.integers(-400, 400)


def around(now: datetime, offset: int, hours: int = 0) -> datetime:
    return now + timedelta(days=offset, hours=hours)


@st.composite
def date_texts(draw, now: datetime) -> str:
    kind = draw(st.sampled_from(["near", "feb29", "bad", "far"]))
    if kind == "near":
        return (now.date() + timedelta(days=draw(day_offsets))).isoformat()
    if kind == "feb29":
        return draw(st.sampled_from(["1992-02-29", "2000-02-29", "1990-02-28", "1991-03-01"]))
    if kind == "far":
        return draw(st.sampled_from(["1985-12-31", "1999-01-01", "2023-13-01", "0999-05-05"]))
    return draw(st.sampled_from(["soon", "2024-02-30", "2024-1-1", ""]))


@st.composite
def datetime_texts(draw, now: datetime) -> str:
    moment = around(now, draw(day_offsets), draw(st.integers(-30, 30)))
    style = draw(st.sampled_from(["z", "offset", "naive", "date", "bad"]))
    if style == "z":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == "offset":
        return moment.astimezone(
            __import__("datetime").timezone(timedelta(hours=-5, minutes=-30))
        ).isoformat()
    if style == "naive":
        return moment.strftime("%Y-%m-%d %H:%M")
    if style == "date":
        return moment.date().isoformat()
    return draw(st.sampled_from(["2024-01-01T25:00", "yesterday", "2024-01-01T10:00+16:00"]))


@st.composite
def attribute_values(draw, now: datetime) -> dict:
    attributes = {}
    for key, type_ in ATTRIBUTES.items():
        choice = draw(st.integers(0, 6))
        if choice == 0:
            continue  # missing
        if choice == 1:
            attributes[key] = draw(st.one_of(st.none(), words, small_numbers, st.booleans()))
            continue
        attributes[key] = {
            "string": lambda: draw(st.one_of(words, st.integers(-2, 2))),
            "number": lambda: draw(small_numbers),
            "boolean": lambda: draw(st.one_of(st.booleans(), st.sampled_from(["true", 1]))),
            "date": lambda: draw(date_texts(now)),
            "datetime": lambda: draw(datetime_texts(now)),
            "list": lambda: draw(st.lists(st.one_of(words, st.integers(0, 2)), max_size=3)),
        }[type_]()
    return attributes


@st.composite
def contact_rows(draw, now: datetime) -> list[dict]:
    rows = []
    for _ in range(draw(st.integers(3, 7))):
        rows.append(
            {
                "email": draw(st.sampled_from(["", "a@x.test", "B@Y.test"])),
                "country": draw(st.sampled_from(["", "DE", "de", "FR", "Germany"])),
                "city": draw(words),
                "lifecycle_stage": draw(st.sampled_from(["subscriber", "lead", "customer"])),
                "score": draw(st.integers(-5, 100)),
                "tags": draw(st.lists(st.sampled_from(["vip", "VIP", "beta"]), max_size=2)),
                "created_at": around(now, draw(st.integers(-60, 0)), draw(st.integers(-12, 12))),
                "last_seen_at": draw(
                    st.one_of(st.none(), st.builds(around, st.just(now), day_offsets))
                ),
                "attributes": draw(attribute_values(now)),
                "events": draw(
                    st.lists(
                        st.tuples(
                            st.sampled_from(EVENT_NAMES),
                            st.integers(-45, 1),
                            st.fixed_dictionaries(
                                {},
                                optional={
                                    "url": words,
                                    "n": small_numbers,
                                    "flag": st.booleans(),
                                    "meta": st.fixed_dictionaries({"k": words}),
                                },
                            ),
                        ),
                        max_size=5,
                    )
                ),
                "in_list": draw(st.booleans()),
            }
        )
    return rows


def value_for(type_: FieldType, op: Op, now: datetime, draw) -> object:
    if op in NO_VALUE_OPS:
        return None
    if op in (Op.WITHIN_LAST_DAYS, Op.MORE_THAN_DAYS_AGO, Op.WITHIN_NEXT_DAYS):
        return draw(st.integers(0, 60))
    if op == Op.ANNIVERSARY_WITHIN_DAYS:
        return draw(st.integers(0, 40))
    if type_ in (FieldType.TEXT, FieldType.LIST):
        nonempty = [w for w in WORDS if w]
        if op in (Op.IN, Op.NOT_IN):
            return draw(st.lists(st.sampled_from(nonempty), min_size=1, max_size=3))
        return draw(st.sampled_from(nonempty if op != Op.EQ else WORDS))
    if type_ == FieldType.NUMBER:
        if op == Op.BETWEEN:
            low = draw(st.integers(-3, 10))
            return [low, low + draw(st.integers(0, 5))]
        if op in (Op.IN, Op.NOT_IN):
            return draw(st.lists(st.sampled_from([0, 3, 4.5, 5, 50]), min_size=1, max_size=3))
        return draw(st.sampled_from([0, 3, 2.5, 4.5, 50]))
    if type_ == FieldType.BOOLEAN:
        return draw(st.booleans())
    if type_ == FieldType.DATE:
        pick = lambda: (now.date() + timedelta(days=draw(st.integers(-60, 60)))).isoformat()  # noqa: E731
        if op == Op.BETWEEN:
            first, second = sorted([pick(), pick()])
            return [first, second]
        return pick()

    # DATETIME: a day or an instant
    def pick_moment() -> str:
        moment = around(now, draw(st.integers(-60, 60)), draw(st.integers(-12, 12)))
        return moment.date().isoformat() if draw(st.booleans()) else moment.isoformat()

    if op == Op.BETWEEN:
        first = around(now, draw(st.integers(-60, 0)))
        second = first + timedelta(days=draw(st.integers(0, 60)), hours=draw(st.integers(0, 5)))
        as_day = draw(st.booleans())
        fmt = (lambda m: m.date().isoformat()) if as_day else (lambda m: m.isoformat())
        return [fmt(first), fmt(second)]
    return pick_moment()


FIELD_TYPES = {
    **{name: spec.type for name, spec in CONTACT_FIELDS.items()},
    "plan": FieldType.TEXT,
    "seats": FieldType.NUMBER,
    "trial": FieldType.BOOLEAN,
    "birthday": FieldType.DATE,
    "renews_at": FieldType.DATETIME,
    "langs": FieldType.LIST,
}
FIELDS = ["email", "country", "city", "lifecycle_stage", "score", "created_at", "last_seen_at"]
FIELDS += list(ATTRIBUTES)


@st.composite
def field_conditions(draw, now: datetime, catalog: dict) -> dict:
    name = draw(st.sampled_from(FIELDS))
    spec = catalog[name]
    op = draw(st.sampled_from(spec.operators))
    if spec.type == FieldType.CHOICE:
        choices = ["subscriber", "lead", "customer"]
        value = (
            draw(st.lists(st.sampled_from(choices), min_size=1, max_size=2))
            if op in (Op.IN, Op.NOT_IN)
            else draw(st.sampled_from(choices))
        )
    else:
        value = value_for(spec.type, op, now, draw)
    node = {"field": name, "op": str(op)}
    if value is not None:
        node["value"] = value
    return node


@st.composite
def property_conditions(draw) -> dict:
    prop = draw(st.sampled_from(["url", "n", "flag", "meta.k", "missing"]))
    op = draw(
        st.sampled_from(
            [
                "eq",
                "neq",
                "contains",
                "not_contains",
                "starts_with",
                "ends_with",
                "in",
                "not_in",
                "exists",
                "not_exists",
                "gt",
                "gte",
                "lt",
                "lte",
                "between",
            ]
        )
    )
    node = {"property": prop, "op": op}
    if op in ("contains", "not_contains", "starts_with", "ends_with"):
        node["value"] = draw(st.sampled_from([w for w in WORDS if w]))
    elif op in ("gt", "gte", "lt", "lte"):
        node["value"] = draw(st.sampled_from([0, 3, 4.5]))
    elif op == "between":
        node["value"] = [0, draw(st.sampled_from([3, 4.5, 10]))]
    elif op in ("in", "not_in"):
        node["value"] = draw(
            st.one_of(
                st.lists(st.sampled_from(["a", "pro", "/pricing"]), min_size=1, max_size=2),
                st.lists(st.sampled_from([3, 4.5, 0]), min_size=1, max_size=2),
            )
        )
    elif op in ("eq", "neq"):
        node["value"] = draw(st.one_of(words, st.sampled_from([3, 4.5]), st.booleans()))
    return node


@st.composite
def event_conditions(draw, now: datetime) -> dict:
    node: dict = {"event": draw(st.sampled_from(EVENT_NAMES))}
    if draw(st.booleans()):
        node["where"] = draw(st.lists(property_conditions(), min_size=1, max_size=2))
    if draw(st.booleans()):
        node["count"] = {
            "op": draw(st.sampled_from(["gte", "lte", "eq", "gt", "lt"])),
            "value": draw(st.integers(0, 3)),
        }
    window = draw(st.sampled_from(["ever", "within", "between"]))
    if window == "within":
        node["within_days"] = draw(st.integers(1, 40))
    elif window == "between":
        start = (now - timedelta(days=draw(st.integers(5, 50)))).date()
        node["between"] = [
            start.isoformat(),
            (start + timedelta(days=draw(st.integers(0, 20)))).isoformat(),
        ]
    return node


def trees(now: datetime, catalog: dict, list_id: int):
    leaves = st.one_of(
        field_conditions(now, catalog),
        field_conditions(now, catalog),
        field_conditions(now, catalog),
        event_conditions(now),
        event_conditions(now),
        st.builds(
            lambda t, o: {"tag": t, "op": o},
            st.sampled_from(["vip", "beta"]),
            st.sampled_from(["exists", "not_exists"]),
        ),
        st.builds(
            lambda o: {"segment": list_id, "op": o}, st.sampled_from(["exists", "not_exists"])
        ),
    )
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.builds(lambda items: {"all": items}, st.lists(children, min_size=1, max_size=3)),
            st.builds(lambda items: {"any": items}, st.lists(children, min_size=1, max_size=3)),
            st.builds(lambda item: {"not": item}, children),
        ),
        max_leaves=4,
    )


@pytest.fixture
def world(ws):
    for key, type_ in ATTRIBUTES.items():
        AttributeDefinition.objects.create(workspace=ws, key=key, type=type_)
    static = Segment.objects.create(workspace=ws, name="List", kind=Segment.Kind.STATIC)
    return ws, static


def load(ws, static, rows, now) -> list[Contact]:
    # Raw deletes: the ORM's cascade would visit every app's tables that point at contacts.
    for model in (Event, SegmentMembership, Contact):
        model.objects.filter(workspace=ws)._raw_delete(using="default")
    contacts = []
    for index, row in enumerate(rows):
        row = dict(row)
        events, in_list = row.pop("events"), row.pop("in_list")
        if row["email"]:
            row["email"] = f"{index}{row['email']}"
        contact = Contact.objects.create(workspace=ws, **row)
        Event.objects.bulk_create(
            Event(
                workspace=ws,
                contact=contact,
                type="track",
                name=name,
                properties=props,
                timestamp=around(now, offset, -index),
                message_id=f"{contact.pk}-{n}",
            )
            for n, (name, offset, props) in enumerate(events)
        )
        if in_list:
            SegmentMembership.objects.create(workspace=ws, segment=static, contact=contact)
        contacts.append(contact)
    # Reload, so the evaluator reads what Postgres stored (jsonb normalises numbers).
    return list(Contact.objects.filter(workspace=ws).order_by("pk"))


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
def test_sql_and_python_agree_on_random_trees(world, data):
    with transaction.atomic():  # a savepoint per example: one failure must not hide the next
        check_agreement(world, data)


def check_agreement(world, data):
    ws, static = world
    now = data.draw(st.sampled_from(NOWS))
    ws.timezone = data.draw(st.sampled_from(ZONES))
    contacts = load(ws, static, data.draw(contact_rows(now)), now)
    from segments.filters.schema import field_catalog

    catalog = field_catalog(workspace=ws)
    for _ in range(6):
        tree = data.draw(trees(now, catalog, static.pk))
        parse_filter(workspace=ws, tree=tree)  # the generator only builds valid trees
        expected = {
            c.pk for c in contacts if evaluate_filter(workspace=ws, tree=tree, contact=c, now=now)
        }
        in_set = set(compile_filter(workspace=ws, tree=tree, now=now).values_list("id", flat=True))
        probed = set(
            compile_filter(
                workspace=ws, tree=tree, now=now, contact_ids=[c.pk for c in contacts]
            ).values_list("id", flat=True)
        )
        assert in_set == expected, tree
        assert probed == expected, tree


def test_agreement_covers_both_outcomes_for_a_typical_tree(world):
    """Guards the property test against vacuity: a tree matching some contacts and not others."""
    ws, static = world
    now = NOWS[1]
    a = Contact.objects.create(workspace=ws, email="a@x.test", attributes={"plan": "Pro"})
    Contact.objects.create(workspace=ws, email="b@x.test", attributes={"plan": "free"})
    tree = {"all": [{"field": "plan", "op": "eq", "value": "pro"}]}
    assert set(compile_filter(workspace=ws, tree=tree, now=now).values_list("id", flat=True)) == {
        a.pk
    }
    assert date(2024, 1, 1) < now.date()
