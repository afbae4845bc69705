"""What the operators mean, on cases a marketer would check by hand."""

from datetime import UTC, datetime, timedelta

import pytest

from contacts.models import AttributeDefinition, Contact, Event
from segments.filters import (
    compile_filter,
    evaluate_filter,
    filter_count,
    filter_count_and_first,
    filter_dependencies,
)

pytestmark = pytest.mark.django_db


def matching(ws, tree, now):
    ids = set(compile_filter(workspace=ws, tree=tree, now=now).values_list("id", flat=True))
    by_python = {
        c.pk
        for c in Contact.objects.filter(workspace=ws)
        if evaluate_filter(workspace=ws, tree=tree, contact=c, now=now)
    }
    assert ids == by_python
    assert filter_count(workspace=ws, tree=tree, now=now) == len(ids)
    # The live count's one evaluation: the same count, and the newest matches first.
    for limit in (0, 2):
        count, first = filter_count_and_first(workspace=ws, tree=tree, now=now, limit=limit)
        assert (count, first) == (len(ids), sorted(ids, reverse=True)[:limit])
    return ids


@pytest.fixture
def birthdays(ws):
    AttributeDefinition.objects.create(workspace=ws, key="birthday", type="date")

    def make(day):
        return Contact.objects.create(
            workspace=ws, email=f"{day}@x.test", attributes={"birthday": day}
        ).pk

    return make


def test_a_feb_29_birthday_is_celebrated_on_feb_28_in_other_years(ws, birthdays):
    leapling, march = birthdays("1992-02-29"), birthdays("1990-03-02")
    now = datetime(2023, 2, 28, 12, tzinfo=UTC)
    tree = {"field": "birthday", "op": "anniversary_within_days", "value": 0}
    assert matching(ws, tree, now) == {leapling}
    in_leap_year = datetime(2024, 2, 28, 12, tzinfo=UTC)
    assert matching(ws, tree, in_leap_year) == set()
    assert march not in matching(ws, {**tree, "value": 1}, now)


def test_anniversary_windows_wrap_around_new_year(ws, birthdays):
    january, december, june = (
        birthdays("1980-01-02"),
        birthdays("1985-12-31"),
        birthdays("1990-06-01"),
    )
    now = datetime(2024, 12, 30, 9, tzinfo=UTC)
    tree = {"field": "birthday", "op": "anniversary_within_days", "value": 3}
    assert matching(ws, tree, now) == {january, december}
    assert matching(ws, {"field": "birthday", "op": "anniversary_this_month"}, now) == {december}
    assert matching(ws, {"not": tree}, now) == {june}


def test_relative_days_follow_the_workspace_time_zone(ws, birthdays):
    today_in_kiritimati = birthdays("2000-01-01")
    ws.timezone = "Pacific/Kiritimati"  # UTC+14: already Jan 1 at 12:00 UTC on Dec 31
    now = datetime(1999, 12, 31, 12, tzinfo=UTC)
    tree = {"field": "birthday", "op": "anniversary_within_days", "value": 0}
    assert matching(ws, tree, now) == {today_in_kiritimati}
    ws.timezone = "UTC"
    assert matching(ws, tree, now) == set()


def event(ws, contact, name, days_ago, now, **properties):
    return Event.objects.create(
        workspace=ws,
        contact=contact,
        type="track",
        name=name,
        properties=properties,
        timestamp=now - timedelta(days=days_ago),
        message_id=f"{contact.pk}-{name}-{days_ago}-{properties}",
    )


def test_event_counts_windows_and_never(ws):
    now = datetime(2024, 5, 1, tzinfo=UTC)
    buyer, once, idle = (Contact.objects.create(workspace=ws, email=f"{n}@x.test") for n in "abc")
    for days in (1, 5, 20):
        event(ws, buyer, "Order Completed", days, now, revenue=150)
    event(ws, buyer, "Order Completed", 2, now, revenue=50)
    event(ws, once, "Order Completed", 40, now, revenue=500)
    base = {"event": "Order Completed", "within_days": 30}
    big = [{"property": "revenue", "op": "gt", "value": 100}]
    assert matching(ws, {**base, "where": big, "count": {"op": "gte", "value": 3}}, now) == {
        buyer.pk
    }
    assert matching(ws, {**base, "count": {"op": "eq", "value": 4}}, now) == {buyer.pk}
    assert matching(ws, {**base, "count": {"op": "lte", "value": 1}}, now) == {once.pk, idle.pk}
    assert matching(ws, {**base, "count": {"op": "eq", "value": 0}}, now) == {once.pk, idle.pk}
    assert matching(ws, {"event": "Order Completed"}, now) == {buyer.pk, once.pk}
    window = {"event": "Order Completed", "between": ["2024-03-01", "2024-03-22"]}
    assert matching(ws, window, now) == {once.pk}


def test_page_visits_and_email_engagement_are_event_conditions(ws):
    now = datetime(2024, 5, 1, tzinfo=UTC)
    reader, clicker = (Contact.objects.create(workspace=ws, email=f"{n}@x.test") for n in "ab")
    event(ws, reader, "page", 1, now, url="https://acme.test/Pricing?x=1")
    event(ws, clicker, "email.clicked", 1, now, message_id=42, workflow_id="w1")
    pricing = {
        "event": "page",
        "where": [{"property": "url", "op": "contains", "value": "/pricing"}],
    }
    assert matching(ws, pricing, now) == {reader.pk}
    clicked = {
        "event": "email.clicked",
        "where": [{"property": "message_id", "op": "eq", "value": "42"}],
    }
    assert matching(ws, clicked, now) == {clicker.pk}
    by_number = {
        "event": "email.clicked",
        "where": [{"property": "message_id", "op": "eq", "value": 42}],
    }
    assert matching(ws, by_number, now) == {clicker.pk}


def test_negative_operators_include_contacts_without_the_value(ws):
    AttributeDefinition.objects.create(workspace=ws, key="plan", type="string")
    pro = Contact.objects.create(workspace=ws, email="p@x.test", attributes={"plan": "pro"})
    bare = Contact.objects.create(workspace=ws, email="b@x.test")
    now = datetime(2024, 5, 1, tzinfo=UTC)
    assert matching(ws, {"field": "plan", "op": "neq", "value": "PRO"}, now) == {bare.pk}
    assert matching(ws, {"field": "plan", "op": "exists"}, now) == {pro.pk}


def test_malformed_attribute_values_never_break_the_query(ws):
    AttributeDefinition.objects.create(workspace=ws, key="renews_at", type="datetime")
    AttributeDefinition.objects.create(workspace=ws, key="seats", type="number")
    Contact.objects.create(
        workspace=ws,
        email="x@x.test",
        attributes={"renews_at": "2024-02-30T99:00", "seats": "lots"},
    )
    good = Contact.objects.create(
        workspace=ws,
        email="y@x.test",
        attributes={"renews_at": "2024-05-03T10:00:00+02:00", "seats": "12"},
    )
    now = datetime(2024, 5, 1, tzinfo=UTC)
    tree = {
        "all": [
            {"field": "renews_at", "op": "within_next_days", "value": 7},
            {"field": "seats", "op": "gte", "value": 10},
        ]
    }
    assert matching(ws, tree, now) == {good.pk}


def test_dependencies_list_what_a_filter_reads():
    deps = filter_dependencies(
        {
            "all": [
                {"field": "plan", "op": "eq", "value": "pro"},
                {"any": [{"tag": "vip"}, {"not": {"segment": "12"}}]},
                {"event": "Order Completed", "count": {"op": "gte", "value": 3}, "within_days": 30},
            ]
        }
    )
    assert deps.event_names == {"Order Completed"}
    assert deps.fields == {"plan", "tags"}
    assert deps.segment_ids == {12}
    assert deps.drifts
    assert not filter_dependencies(
        {"field": "created_at", "op": "before", "value": "2024-01-01"}
    ).drifts
    assert filter_dependencies({"field": "created_at", "op": "within_last_days", "value": 3}).drifts
