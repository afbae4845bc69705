"""The dashboard's newer panels with answers worked out by hand: cohort retention and distinct
active contacts (a workspace at +5:30, where UTC weeks and days would be wrong), segment sizes
per day, the lead-score distribution."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from analytics import panels, selectors
from analytics.rollups import dirty_hours_mark, rollups_refresh
from analytics.selectors import Period
from contacts.models import Contact, Event
from scoring.models import ScoringModel
from segments.models import Segment, SegmentSizeSnapshot

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # Wednesday; 17:30 in Kolkata
_serial = iter(range(10**9))


def _utc(day: str, hour: int, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=UTC)


def contact(ws, email, created):
    person = Contact.objects.create(workspace=ws, email=email)
    Contact.objects.filter(pk=person.pk).update(created_at=created)
    return person


def event(ws, person, name, at, *, source="api"):
    Event.objects.bulk_create(
        [
            Event(
                workspace=ws,
                contact=person,
                type="track",
                name=name,
                timestamp=at,
                source=source,
                message_id=f"panel-{next(_serial)}",
            )
        ]
    )
    dirty_hours_mark(workspace=ws, timestamps=[at])


@pytest.fixture
def people(ws, other_ws):
    """Sign-ups and activity in Kolkata's calendar (weeks from Monday):

    | contact | created (Kolkata)   | cohort | active (Kolkata days)                         |
    |---------|---------------------|--------|-----------------------------------------------|
    | A       | Mon Nov 16 10:00    | Nov 16 | Nov 17, Nov 24, Nov 26                        |
    | F       | Tue Nov 17          | Nov 16 | Nov 10 only — before signing up, not counted  |
    | B       | Mon Nov 23 01:30    | Nov 23 | Mon Nov 30 00:30 (Sunday Nov 29 in UTC)       |
    |         | (Sunday in UTC)     |        |                                               |
    | C       | Tue Nov 24          | Nov 23 | email.delivered Nov 25 (the platform's: no),  |
    |         |                     |        | email.opened Dec 1 (the contact's: yes)       |
    | D       | Mon Nov 30          | Nov 30 | —                                             |
    | E       | Sun Nov 1           | (older)| Nov 20                                        |
    """
    ws.timezone = "Asia/Kolkata"
    ws.save(update_fields=["timezone"])
    a = contact(ws, "a@acme.test", _utc("2026-11-16", 4, 30))
    event(ws, a, "Logged In", _utc("2026-11-17", 6))
    event(ws, a, "Logged In", _utc("2026-11-24", 6))
    event(ws, a, "Logged In", _utc("2026-11-26", 6))
    f = contact(ws, "f@acme.test", _utc("2026-11-17", 6))
    event(ws, f, "Order Completed", _utc("2026-11-10", 6))
    b = contact(ws, "b@acme.test", _utc("2026-11-22", 20))
    event(ws, b, "Logged In", _utc("2026-11-29", 19))
    c = contact(ws, "c@acme.test", _utc("2026-11-24", 6))
    event(ws, c, "email.delivered", _utc("2026-11-25", 6), source="platform")
    event(ws, c, "email.opened", _utc("2026-12-01", 6), source="platform")
    contact(ws, "d@acme.test", _utc("2026-11-30", 6))
    e = contact(ws, "e@acme.test", _utc("2026-11-01", 6))
    event(ws, e, "Logged In", _utc("2026-11-20", 6))
    # Another workspace's sign-ups and activity in the same weeks count for nobody here.
    other = contact(other_ws, "a@globex.test", _utc("2026-11-16", 6))
    event(other_ws, other, "Logged In", _utc("2026-11-17", 6))
    while rollups_refresh().remaining:
        pass
    return ws


def test_cohort_retention_counts_each_sign_up_weeks_contacts_active_in_the_weeks_after(people):
    retention = panels.cohort_retention(workspace=people, weeks=3, now=NOW)
    assert [
        (cohort.week, cohort.size, cohort.active, cohort.shares) for cohort in retention.cohorts
    ] == [
        (date(2026, 11, 16), 2, [1, 1, 0], [0.5, 0.5, 0.0]),
        (date(2026, 11, 23), 2, [0, 2, None], [0.0, 1.0, None]),
        (date(2026, 11, 30), 1, [0, None, None], [0.0, None, None]),
    ]


def test_a_recount_of_the_same_hours_changes_no_answer(people):
    before = panels.cohort_retention(workspace=people, weeks=3, now=NOW)
    dirty_hours_mark(
        workspace=people,
        timestamps=Event.objects.filter(workspace=people).values_list("timestamp", flat=True),
    )
    rollups_refresh()
    assert panels.cohort_retention(workspace=people, weeks=3, now=NOW) == before


def test_active_contacts_are_counted_once_on_the_periods_days(people):
    # Wednesday Nov 25 to Tuesday Dec 1: A (Nov 26), B (Nov 30 in Kolkata), C (opened Dec 1);
    # before, Nov 18–24: A (Nov 24) and E (Nov 20).
    period = Period(first=date(2026, 11, 25), days=7, zone=KOLKATA)
    active = panels.active_contacts(workspace=people, period=period)
    assert (active.total, active.previous) == (3, 2)
    assert active.change == 0.5
    # The first week only from Wednesday: A; the second, Monday and Tuesday: B and C.
    assert active.weeks == [(date(2026, 11, 23), 1), (date(2026, 11, 30), 2)]


def test_a_period_ending_before_a_contacts_day_does_not_count_it(people):
    # Nov 25 to Nov 29 (Sunday, Kolkata): B's Monday-morning visit is the day after.
    period = Period(first=date(2026, 11, 25), days=5, zone=KOLKATA)
    assert panels.active_contacts(workspace=people, period=period).total == 1


def test_segment_sizes_read_each_days_recorded_size_and_today_the_size_now(ws):
    period = selectors.period_ending_today(workspace=ws, days=3)
    first, middle, today = period.dates
    vip = Segment.objects.create(workspace=ws, name="VIP", kind="static", member_count=5)
    SegmentSizeSnapshot.objects.create(workspace=ws, segment=vip, day=first, size=3)
    SegmentSizeSnapshot.objects.create(workspace=ws, segment=vip, day=today, size=4)
    SegmentSizeSnapshot.objects.create(
        workspace=ws, segment=vip, day=first - timedelta(days=1), size=1
    )  # before the period
    series = panels.segment_sizes(workspace=ws, period=period)
    assert [(s.name, s.sizes) for s in series] == [("VIP", [3, None, 5])]


def test_segment_sizes_show_the_six_largest_unless_asked_for_others(ws, other_ws):
    period = selectors.period_ending_today(workspace=ws, days=2)
    segments = [
        Segment.objects.create(workspace=ws, name=f"S{n}", kind="static", member_count=n)
        for n in range(1, 8)
    ]
    Segment.objects.create(workspace=other_ws, name="Theirs", kind="static", member_count=99)
    shown = panels.segment_sizes(workspace=ws, period=period)
    assert [s.name for s in shown] == ["S7", "S6", "S5", "S4", "S3", "S2"]
    asked = panels.segment_sizes(workspace=ws, period=period, segment_ids=[segments[0].pk])
    assert [(s.name, s.sizes) for s in asked] == [("S1", [None, 1])]


def test_the_score_distribution_buckets_every_contact(ws, other_ws):
    ScoringModel.objects.create(workspace=ws, name="Leads", is_primary=True, mql_threshold=50)
    for n, score in enumerate([-5, 0, 0, 7, 10, 55, 99, 100, 250]):
        Contact.objects.create(workspace=ws, email=f"p{n}@acme.test", score=score)
    Contact.objects.create(workspace=other_ws, email="x@globex.test", score=70)
    distribution = panels.score_distribution(workspace=ws)
    counts = {b.label: b.contacts for b in distribution.buckets}
    assert counts == {
        "below 0": 1,
        "0": 2,
        "1–9": 1,
        "10–19": 1,
        "20–29": 0,
        "30–39": 0,
        "40–49": 0,
        "50–59": 1,
        "60–69": 0,
        "70–79": 0,
        "80–89": 0,
        "90–99": 1,
        "100+": 2,
    }
    assert (distribution.contacts, distribution.threshold) == (9, 50)
    assert distribution.at_or_above_threshold == 4  # 55, 99, 100, 250
    assert distribution.model == "Leads"


def test_without_a_scoring_model_there_is_no_threshold(ws):
    Contact.objects.create(workspace=ws, email="p@acme.test", score=12)
    distribution = panels.score_distribution(workspace=ws)
    assert (distribution.threshold, distribution.at_or_above_threshold) == (None, 0)


def test_the_retention_table_is_what_the_csv_and_api_serve(people):
    _, table = panels.panel_table(workspace=people, name="retention", params=panels.Params(weeks=2))
    assert table.header[:4] == [
        "Sign-up week",
        "Signed up",
        "Active in week 0",
        "Share active in week 0",
    ]
    assert len(table.rows) == 2 and table.rows[-1]["cohort"] == timezone.now().astimezone(
        KOLKATA
    ).date() - timedelta(days=timezone.now().astimezone(KOLKATA).weekday())
