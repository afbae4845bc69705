"""Funnel counting: order, window, period, page steps, property conditions, validation."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from analytics.funnels import duration_text, funnel_compute, funnel_save, steps_parse
from analytics.models import Funnel
from contacts.models import Contact, Event
from workspaces.errors import ValidationFailed

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 12, tzinfo=UTC)  # the period is [T0, T0 + 7 days)
PERIOD = {"start": T0, "end": T0 + timedelta(days=7)}
_ids = itertools.count()

STEPS = [{"page": "/pricing"}, {"event": "Signed Up"}, {"event": "Order Completed"}]


def person(ws, name="p"):
    return Contact.objects.create(workspace=ws, email=f"{name}{next(_ids)}@x.test")


def track(ws, contact, name, at, properties=None, context=None):
    return Event.objects.create(
        workspace=ws,
        contact=contact,
        type="track",
        name=name,
        properties=properties or {},
        context=context or {},
        timestamp=at,
        message_id=f"m{next(_ids)}",
    )


def page(ws, contact, url, at, *, in_context=False, source=None):
    context = {"page": {"url": url}} if in_context else {}
    if source:
        context["campaign"] = {"source": source}
    properties = {} if in_context else {"url": url, "path": url}
    return Event.objects.create(
        workspace=ws,
        contact=contact,
        type="page",
        name="",
        properties=properties,
        context=context,
        timestamp=at,
        message_id=f"m{next(_ids)}",
    )


def counts(ws, steps=STEPS, window_days=30, **period):
    result = funnel_compute(
        workspace=ws, steps=steps, window_days=window_days, **(period or PERIOD)
    )
    return [row.contacts for row in result.steps]


def test_contacts_are_counted_at_each_step_they_reach_in_order(ws):
    full, half, none = person(ws), person(ws), person(ws)
    for contact in (full, half, none):
        page(ws, contact, "https://acme.test/pricing?x=1", T0 + timedelta(hours=1))
    track(ws, full, "Signed Up", T0 + timedelta(hours=2))
    track(ws, full, "Order Completed", T0 + timedelta(days=3))
    track(ws, half, "Signed Up", T0 + timedelta(hours=5))
    result = funnel_compute(workspace=ws, steps=STEPS, window_days=30, **PERIOD)
    assert [row.contacts for row in result.steps] == [3, 2, 1]
    assert result.steps[1].from_previous == pytest.approx(2 / 3)
    assert result.steps[2].from_previous == pytest.approx(0.5)
    assert result.steps[2].from_first == pytest.approx(1 / 3)
    # median of 1 h and 4 h from the page view to sign-up; 3 days less 2 h to the order
    assert result.steps[1].median_seconds == pytest.approx(2.5 * 3600)
    assert result.steps[2].median_seconds == pytest.approx((3 * 24 - 2) * 3600)


def test_a_step_done_before_the_previous_one_does_not_count(ws):
    early = person(ws)
    track(ws, early, "Signed Up", T0 + timedelta(hours=1))  # signed up, then saw pricing
    page(ws, early, "/pricing", T0 + timedelta(hours=2))
    track(ws, early, "Order Completed", T0 + timedelta(hours=3))
    assert counts(ws) == [1, 0, 0]


def test_a_later_occurrence_after_the_previous_step_counts(ws):
    again = person(ws)
    track(ws, again, "Signed Up", T0 + timedelta(hours=1))
    page(ws, again, "/pricing", T0 + timedelta(hours=2))
    track(ws, again, "Signed Up", T0 + timedelta(hours=3))
    assert counts(ws) == [1, 1, 0]


def test_a_step_outside_the_window_of_the_first_step_does_not_count(ws):
    slow, quick = person(ws), person(ws)
    for contact in (slow, quick):
        page(ws, contact, "/pricing", T0)
        track(ws, contact, "Signed Up", T0 + timedelta(days=1))
    track(ws, slow, "Order Completed", T0 + timedelta(days=2, hours=1))  # 2 d 1 h after step 1
    track(ws, quick, "Order Completed", T0 + timedelta(days=1, hours=23))
    assert counts(ws, window_days=2) == [2, 2, 1]
    assert counts(ws, window_days=3) == [2, 2, 2]


def test_a_contact_is_counted_once_per_step_however_often_they_repeat_it(ws):
    keen = person(ws)
    for hour in range(5):
        page(ws, keen, "/pricing", T0 + timedelta(hours=hour))
        track(ws, keen, "Signed Up", T0 + timedelta(hours=hour, minutes=30))
    assert counts(ws) == [1, 1, 0]


def test_the_same_step_twice_needs_two_events(ws):
    once, twice = person(ws), person(ws)
    page(ws, once, "/pricing", T0)
    page(ws, twice, "/pricing", T0)
    page(ws, twice, "/pricing", T0)  # same instant: still a second view
    assert counts(ws, steps=[{"page": "/pricing"}, {"page": "/pricing"}]) == [2, 1]


def test_only_contacts_whose_first_step_falls_in_the_period_enter(ws):
    before, inside, after = person(ws), person(ws), person(ws)
    page(ws, before, "/pricing", T0 - timedelta(seconds=1))
    page(ws, inside, "/pricing", T0)  # the start is included
    page(ws, after, "/pricing", T0 + timedelta(days=7))  # the end is not
    for contact in (before, inside, after):
        track(ws, contact, "Signed Up", T0 + timedelta(days=7, hours=1))
    # a later step may fall after the period's end, within the window
    assert counts(ws) == [1, 1, 0]


def test_page_steps_match_the_url_in_properties_or_in_the_page_context(ws):
    props, ctx, other = person(ws), person(ws), person(ws)
    page(ws, props, "https://acme.test/Pricing/teams", T0)
    page(ws, ctx, "https://acme.test/pricing", T0, in_context=True)
    page(ws, other, "https://acme.test/blog", T0)
    track(ws, other, "/pricing", T0)  # an event named like the URL is not a page view
    assert counts(ws, steps=[{"page": "/pricing"}, {"event": "Signed Up"}]) == [2, 0]


def test_an_event_step_can_require_a_property(ws):
    pro, free = person(ws), person(ws)
    for contact, plan in ((pro, "pro"), (free, "free")):
        track(ws, contact, "Signed Up", T0)
        track(ws, contact, "Order Completed", T0 + timedelta(hours=1), {"plan": plan})
    steps = [
        {"event": "Signed Up"},
        {"event": "Order Completed", "where": [{"property": "plan", "op": "eq", "value": "pro"}]},
    ]
    assert counts(ws, steps=steps) == [2, 1]


def test_the_breakdown_counts_by_the_first_steps_utm_source(ws):
    for source in ("google", "google", "newsletter", None):
        contact = person(ws)
        page(ws, contact, "/pricing", T0, source=source)
        if source == "google":
            track(ws, contact, "Signed Up", T0 + timedelta(hours=1))
    result = funnel_compute(workspace=ws, steps=STEPS[:2], window_days=30, **PERIOD)
    assert {row.value: row.counts for row in result.rows} == {
        "google": [2, 2],
        "(none)": [1, 0],
        "newsletter": [1, 0],
    }
    assert [row.value for row in result.rows][0] == "google"  # the most contacts first


def test_another_workspaces_events_are_never_counted(ws, other_ws):
    mine, theirs = person(ws), person(other_ws)
    page(ws, mine, "/pricing", T0)
    page(other_ws, theirs, "/pricing", T0)
    track(other_ws, theirs, "Signed Up", T0 + timedelta(hours=1))
    # even an event filed under the other workspace against our contact's id is not ours
    track(other_ws, mine, "Signed Up", T0 + timedelta(hours=1))
    assert counts(ws, steps=STEPS[:2]) == [1, 0]
    assert counts(other_ws, steps=STEPS[:2]) == [1, 1]


@pytest.mark.parametrize(
    ("steps", "path"),
    [
        ([{"event": "A"}], "steps"),
        ([{"event": f"E{i}"} for i in range(9)], "steps"),
        ("event: A", "steps"),
        ([{"event": "A"}, {"event": "  "}], "steps[1].event"),
        ([{"event": "A"}, {"event": "B"}, {"event": "C", "colour": "red"}], "steps[2].colour"),
        ([{"event": "A"}, {"page": ""}], "steps[1].page"),
        ([{"event": "A"}, {"page": "/x", "where": []}], "steps[1].where"),
        ([{"event": "A"}, {"event": "B", "page": "/x"}], "steps[1]"),
        ([{"event": "A"}, "B"], "steps[1]"),
        (
            [{"event": "A"}, {"event": "B", "where": [{"property": "p", "op": "zz", "value": 1}]}],
            "steps[1].where[0].op",
        ),
    ],
)
def test_bad_steps_are_rejected_naming_the_field(ws, steps, path):
    with pytest.raises(ValidationFailed) as caught:
        steps_parse(workspace=ws, steps=steps)
    assert path in caught.value.fields, caught.value.fields
    assert caught.value.message.startswith(path)


def test_a_rejected_funnel_saves_nothing(ws, owner):
    data = {"name": "Broken", "steps": [{"event": "A"}, {"event": ""}], "window_days": 30}
    with pytest.raises(ValidationFailed):
        funnel_save(workspace=ws, user=owner, data=data, instance=None)
    with pytest.raises(ValidationFailed) as caught:
        funnel_save(
            workspace=ws, user=owner, data={**data, "steps": STEPS, "window_days": 0}, instance=None
        )
    assert "window_days" in caught.value.fields
    assert not Funnel.objects.exists()


def test_a_saved_funnel_keeps_trimmed_steps(ws, owner):
    steps = [{"page": " /pricing "}, {"event": "Signed Up "}]
    data = {"name": " Pricing ", "steps": steps, "window_days": "14"}
    funnel = funnel_save(workspace=ws, user=owner, data=data, instance=None)
    funnel.refresh_from_db()
    assert (funnel.name, funnel.window_days) == ("Pricing", 14)
    assert funnel.steps == [{"page": "/pricing"}, {"event": "Signed Up"}]


def test_median_times_read_like_a_person_would_say_them():
    assert [duration_text(s) for s in (None, 42, 600, 7500, 3 * 86400 + 3600 * 4)] == [
        "—",
        "42 s",
        "10 min",
        "2 h 5 min",
        "3 d 4 h",
    ]
