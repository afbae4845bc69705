"""Attribution's step of the pipeline: each conversion is credited, under every model at once,
to the workflow or broadcast messages the contact clicked or opened before converting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.attribution import (
    attribution_by_source,
    attribution_totals,
    revenue_of,
)
from analytics.models import AttributedConversion, AttributionConfig
from contacts.models import Contact
from contacts.services import contact_merge, events_process
from messaging.models import Broadcast, Message
from messaging.services.tracking import message_clicked
from messaging.tokens import MessageRef
from workflows.models import Workflow, WorkflowRun

from .events import events_add

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def only_attribution_processor(monkeypatch):
    """These tests exercise attribution's step alone (scoring, segments, workflows and the
    rollups are tested by their owners)."""
    import analytics.attribution  # noqa: F401  (registered)
    from contacts import hooks

    mine = [entry for entry in hooks._processors if entry[1] == "analytics.attribution"]
    monkeypatch.setattr(hooks, "_processors", mine)


@pytest.fixture
def contact(ws):
    return Contact.objects.create(workspace=ws, email="buyer@example.test")


def make_workflow(ws, name="Welcome"):
    from tests.workflows.conftest import chain
    from tests.workflows.conftest import make_workflow as build

    graph = chain(("start", "trigger.event", {"event": "Signed Up"}))
    return build(ws, graph, name=name)


def run_in(workflow: Workflow, contact: Contact) -> WorkflowRun:
    return WorkflowRun.objects.create(
        workspace_id=workflow.workspace_id,
        workflow=workflow,
        version=workflow.current_version,
        contact=contact,
        current_node="start",
    )


def touch(ws, contact, kind, at, *, message, source_type="broadcast", source_id="1", **extra):
    """The event messaging records for a click or an open (see message_properties)."""
    channel = extra.pop("channel", "email")
    name = f"{channel}.{'clicked' if kind == 'click' else 'opened'}"
    if source_type == "broadcast":
        extra["broadcast_id"] = int(source_id)
    [event] = events_add(
        ws,
        contact,
        name,
        at,
        mark=False,
        message_id=message,
        channel=channel,
        source_type=source_type,
        source_id=source_id,
        **extra,
    )
    return event


def convert(ws, contact, at=T0, name="Order Completed", **properties):
    [event] = events_add(ws, contact, name, at, mark=False, **properties)
    return event


def process(ws, *events):
    return events_process(workspace=ws, event_ids=[e.pk for e in events], changed_fields={})


def credited(event, model):
    rows = AttributedConversion.objects.filter(event_id=event.pk, model=model)
    return {row.message_id: row.credit for row in rows}


def days(n):
    return timedelta(days=n)


# --- the three models ---------------------------------------------------------------------


def test_last_touch_credits_the_latest_click_and_first_touch_the_earliest(ws, contact):
    touch(ws, contact, "click", T0 - days(4), message=11, source_id="1")
    touch(ws, contact, "click", T0 - days(2), message=12, source_id="2")
    touch(ws, contact, "click", T0 - timedelta(hours=3), message=13, source_id="3")
    order = convert(ws, contact, revenue=90)
    process(ws, order)
    assert credited(order, "last_touch") == {13: Decimal(1)}
    assert credited(order, "first_touch") == {11: Decimal(1)}
    assert AttributedConversion.objects.get(event_id=order.pk, model="last_touch").touch == "click"


def test_linear_gives_every_message_touched_an_equal_share_summing_to_one(ws, contact):
    touch(ws, contact, "click", T0 - days(3), message=21)
    touch(ws, contact, "click", T0 - days(2), message=22)
    touch(ws, contact, "open", T0 - timedelta(hours=2), message=23)
    # a second click on the same message (another link) is still one touch of it
    touch(ws, contact, "click", T0 - days(1), message=22, url="https://shop.test/b")
    order = convert(ws, contact, revenue=30)
    process(ws, order)
    shares = credited(order, "linear")
    assert set(shares) == {21, 22, 23}
    assert sum(shares.values()) == Decimal(1)
    assert sorted(shares.values()) == [
        Decimal("0.333333"),
        Decimal("0.333333"),
        Decimal("0.333334"),
    ]


def test_a_click_beats_a_later_open_for_last_touch(ws, contact):
    touch(ws, contact, "click", T0 - days(2), message=31)
    touch(ws, contact, "open", T0 - timedelta(hours=1), message=32)
    order = convert(ws, contact)
    process(ws, order)
    assert credited(order, "last_touch") == {31: Decimal(1)}


def test_an_open_counts_when_nothing_was_clicked(ws, contact):
    touch(ws, contact, "open", T0 - timedelta(hours=5), message=41)
    order = convert(ws, contact)
    process(ws, order)
    row = AttributedConversion.objects.get(event_id=order.pk, model="last_touch")
    assert (row.message_id, row.touch) == (41, "open")


# --- windows --------------------------------------------------------------------------------


def test_a_click_six_days_before_does_not_count_with_a_five_day_window(ws, contact):
    touch(ws, contact, "click", T0 - days(6), message=51)
    touch(ws, contact, "click", T0 - days(4), message=52)
    order = convert(ws, contact)
    process(ws, order)
    assert credited(order, "first_touch") == {52: Decimal(1)}
    assert credited(order, "linear") == {52: Decimal(1)}


def test_an_open_counts_for_its_own_shorter_window_only(ws, contact):
    touch(ws, contact, "open", T0 - days(2), message=61)  # open window: 1 day
    order = convert(ws, contact, revenue=10)
    process(ws, order)
    assert credited(order, "last_touch") == {None: Decimal(1)}


def test_windows_follow_the_workspace_settings(ws, contact):
    AttributionConfig.objects.create(
        workspace=ws, conversion_events=["Paid"], click_window_days=10, open_window_days=3
    )
    touch(ws, contact, "click", T0 - days(8), message=71)
    paid = convert(ws, contact, name="Paid", revenue=5)
    ignored = convert(ws, contact, name="Order Completed", revenue=5)
    process(ws, paid, ignored)
    assert credited(paid, "last_touch") == {71: Decimal(1)}
    assert not AttributedConversion.objects.filter(event_id=ignored.pk).exists()


def test_a_touch_after_the_conversion_does_not_count(ws, contact):
    order = convert(ws, contact)
    touch(ws, contact, "click", T0 + timedelta(minutes=5), message=81)
    process(ws, order)
    assert credited(order, "last_touch") == {None: Decimal(1)}


def test_a_conversion_without_a_touch_is_unattributed_revenue(ws, contact):
    order = convert(ws, contact, revenue="120.00")
    process(ws, order)
    rows = AttributedConversion.objects.filter(event_id=order.pk)
    assert {(r.model, r.message_id, r.credit) for r in rows} == {
        ("last_touch", None, Decimal(1)),
        ("first_touch", None, Decimal(1)),
        ("linear", None, Decimal(1)),
    }
    totals = attribution_totals(
        workspace=ws, start=T0 - days(1), end=T0 + days(1), model="last_touch"
    )
    assert totals == {
        "conversions": 1,
        "revenue": Decimal("120.00"),
        "attributed_revenue": Decimal("0.00"),
        "unattributed_revenue": Decimal("120.00"),
        "attributed_conversions": Decimal(0),
    }


def test_another_contacts_touches_do_not_count(ws, contact):
    other = Contact.objects.create(workspace=ws, email="someone@example.test")
    touch(ws, other, "click", T0 - days(1), message=91)
    order = convert(ws, contact)
    process(ws, order)
    assert credited(order, "last_touch") == {None: Decimal(1)}


# --- revenue ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ({"revenue": "49.90"}, Decimal("49.90")),
        ({"revenue": 49.9}, Decimal("49.90")),
        ({"revenue": 12}, Decimal("12.00")),
        ({"total": "15.5"}, Decimal("15.50")),
        ({"value": 7}, Decimal("7.00")),
        ({"revenue": "n/a", "total": 20}, Decimal("20.00")),
        ({"revenue": True}, Decimal(0)),
        ({"revenue": "NaN"}, Decimal(0)),
        ({"revenue": 1e20}, Decimal(0)),
        ({}, Decimal(0)),
    ],
)
def test_revenue_is_read_from_revenue_then_total_then_value(properties, expected):
    assert revenue_of(properties) == expected


def test_a_conversion_stores_its_parsed_revenue(ws, contact):
    with_string = convert(ws, contact, revenue="49.90")
    without = convert(ws, contact, T0 + timedelta(minutes=1))
    process(ws, with_string, without)
    assert AttributedConversion.objects.get(event_id=with_string.pk, model="linear").revenue == (
        Decimal("49.90")
    )
    assert AttributedConversion.objects.get(event_id=without.pk, model="linear").revenue == 0


# --- idempotency, test sends, the query -------------------------------------------------------


def test_a_retried_batch_writes_nothing_twice(ws, contact):
    touch(ws, contact, "click", T0 - days(1), message=101)
    touch(ws, contact, "click", T0 - days(2), message=102)
    order = convert(ws, contact, revenue=10)
    process(ws, order)
    first = set(AttributedConversion.objects.values_list("model", "message_id", "credit"))
    process(ws, order)
    assert AttributedConversion.objects.count() == 4  # last, first, linear × 2
    assert set(AttributedConversion.objects.values_list("model", "message_id", "credit")) == first


def test_a_retried_batch_of_an_unattributed_conversion_writes_nothing_twice(ws, contact):
    order = convert(ws, contact, revenue=10)
    process(ws, order)
    process(ws, order)
    assert AttributedConversion.objects.filter(event_id=order.pk).count() == 3


def test_test_sends_are_ignored(ws, contact):
    touch(ws, contact, "click", T0 - days(1), message=111, source_type="test", source_id="x")
    order = convert(ws, contact)
    process(ws, order)
    assert credited(order, "last_touch") == {None: Decimal(1)}


def test_a_batch_reads_the_touches_of_all_its_conversions_in_one_query(ws):
    contacts = [Contact.objects.create(workspace=ws, email=f"b{i}@example.test") for i in range(5)]
    orders = []
    for i, buyer in enumerate(contacts):
        touch(ws, buyer, "click", T0 - days(1), message=200 + i)
        orders.append(convert(ws, buyer, revenue=i))
    with CaptureQueriesContext(connection) as queries:
        process(ws, *orders)
    reads = [q["sql"] for q in queries if "CROSS JOIN LATERAL" in q["sql"]]
    assert len(reads) == 1
    # the batch, the settings, a savepoint, the contacts' lock, the touches, one DELETE of
    # what a retry may have left, one INSERT, the savepoint released — whatever the batch size
    assert len(queries) <= 8
    assert AttributedConversion.objects.filter(message_id__isnull=False).count() == 15


def test_a_batch_of_clicks_reads_no_touches_only_the_conversions_after_them(ws, contact):
    click = touch(ws, contact, "click", T0, message=1)
    with CaptureQueriesContext(connection) as queries:
        process(ws, click)
    lateral = [q["sql"] for q in queries if "LATERAL" in q["sql"]]
    assert len(lateral) == 1 and "DISTINCT c.id" in lateral[0]  # late touches: one query
    assert not AttributedConversion.objects.exists()


def test_a_batch_without_conversions_or_touches_reads_nothing_more(ws, contact):
    [visit] = events_add(ws, contact, "Viewed Page", T0, mark=False)
    with CaptureQueriesContext(connection) as queries:
        process(ws, visit)
    assert not [q for q in queries if "LATERAL" in q["sql"] or "pg_advisory" in q["sql"]]


# --- sources ---------------------------------------------------------------------------------


def test_workflow_touches_group_by_workflow_not_by_run(ws, contact):
    welcome, winback = make_workflow(ws, "Welcome"), make_workflow(ws, "Win-back")
    other = Contact.objects.create(workspace=ws, email="second@example.test")
    orders = []
    for buyer, amount in ((contact, 100), (other, 50)):
        run = run_in(welcome, buyer)
        touch(
            ws,
            buyer,
            "click",
            T0 - days(1),
            message=300 + buyer.pk,
            source_type="workflow",
            source_id=f"{run.pk}:hello",
        )
        orders.append(convert(ws, buyer, revenue=amount))
    run = run_in(winback, contact)
    touch(
        ws,
        contact,
        "click",
        T0 - days(1) - timedelta(hours=1),
        message=399,
        source_type="workflow",
        source_id=f"{run.pk}:mail:2",
    )
    process(ws, *orders)
    rows = AttributedConversion.objects.filter(model="last_touch")
    assert {r.source_id for r in rows} == {str(welcome.pk)}
    by_source = attribution_by_source(
        workspace=ws, start=T0 - days(1), end=T0 + days(1), model="linear"
    )
    assert [(r["source_type"], r["source_id"], r["label"]) for r in by_source] == [
        ("workflow", str(welcome.pk), "Welcome"),
        ("workflow", str(winback.pk), "Win-back"),
    ]
    assert by_source[0]["revenue"] == Decimal("100.00")  # 50 + 100 × ½
    assert by_source[0]["conversions"] == Decimal("1.5")
    assert by_source[1]["revenue"] == Decimal("50.00")


def test_broadcast_touches_group_by_broadcast_with_its_name(ws, contact):
    spring = Broadcast.objects.create(workspace=ws, name="Spring sale", segment_id=0)
    touch(ws, contact, "click", T0 - days(1), message=401, source_id=str(spring.pk))
    process(ws, convert(ws, contact, revenue="25"))
    [row] = attribution_by_source(
        workspace=ws, start=T0 - days(1), end=T0 + days(1), model="last_touch"
    )
    assert row == {
        "source_type": "broadcast",
        "source_id": str(spring.pk),
        "label": "Spring sale",
        "conversions": Decimal(1),
        "revenue": Decimal("25.00"),
    }


def test_a_real_click_on_a_workflow_message_credits_its_workflow(ws, contact):
    """Through messaging's own tracking (the properties it really records)."""
    flow = make_workflow(ws, "Onboarding")
    run = run_in(flow, contact)
    message = Message.objects.create(
        workspace=ws,
        contact=contact,
        channel="email",
        source_type="workflow",
        source_id=f"{run.pk}:hello",
        status="sent",
        to_address=contact.email,
    )
    message_clicked(ref=MessageRef(ws.pk, message.pk), url="https://shop.test/", at=T0 - days(1))
    order = convert(ws, contact, revenue=80)
    process(ws, order)
    row = AttributedConversion.objects.get(event_id=order.pk, model="last_touch")
    assert (row.message_id, row.source_type, row.source_id, row.channel, row.touch) == (
        message.pk,
        "workflow",
        str(flow.pk),
        "email",
        "click",
    )


def test_totals_split_revenue_into_attributed_and_unattributed(ws, contact):
    other = Contact.objects.create(workspace=ws, email="nobody@example.test")
    touch(ws, contact, "click", T0 - days(1), message=501)
    process(ws, convert(ws, contact, revenue=30), convert(ws, other, revenue=12.5))
    totals = attribution_totals(
        workspace=ws, start=T0 - days(1), end=T0 + days(1), model="first_touch"
    )
    assert (totals["conversions"], totals["revenue"]) == (2, Decimal("42.50"))
    assert totals["attributed_revenue"] == Decimal("30.00")
    assert totals["unattributed_revenue"] == Decimal("12.50")


def test_a_merge_carries_the_conversions_to_the_surviving_contact(ws, contact):
    duplicate = Contact.objects.create(workspace=ws, email="dup@example.test")
    touch(ws, duplicate, "click", T0 - days(1), message=601)
    process(ws, convert(ws, duplicate, revenue=10))
    contact_merge(workspace=ws, into=contact, source=duplicate)
    assert set(AttributedConversion.objects.values_list("contact_id", flat=True)) == {contact.pk}
    assert AttributedConversion.objects.count() == 3
