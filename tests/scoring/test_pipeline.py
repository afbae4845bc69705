"""Scoring's step of the events_ingested pipeline: rules, caps, fit, negatives, retries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.hooks import IngestedBatch
from contacts.models import Contact, Event
from scoring.models import ContactScore, ScoreChange, ScoringModel
from scoring.services import scores_refresh_due, scoring_process_batch

from .conftest import behavioural, fit, make_contact, negative, process, track

pytestmark = pytest.mark.django_db


def score_of(contact):
    return Contact.objects.get(pk=contact.pk).score


def test_a_matching_event_earns_the_rules_points_and_says_why(ws, model, contact):
    rule = behavioural(
        model,
        "Page Viewed",
        5,
        name="Visited pricing",
        where=[{"property": "path", "op": "contains", "value": "/pricing"}],
    )
    event = track(ws, contact, "Page Viewed", {"path": "/pricing/enterprise"})
    batch = process(ws, [event, track(ws, contact, "Page Viewed", {"path": "/blog"})])
    assert score_of(contact) == 5
    change = ScoreChange.objects.get(contact=contact)
    assert (change.rule, change.event_id, change.reason) == (rule, event.pk, "Visited pricing")
    added = [e for e in batch.events if e.name == "score.changed"]
    assert len(added) == 1 and added[0].properties["to"] == 5
    assert batch.changed_fields[contact.pk] == {"score"}
    assert batch.events[0].contact.score == 5  # later processors see the new score


def test_a_retried_batch_does_not_count_an_event_twice(ws, model, contact):
    behavioural(model, "Requested Demo", 30)
    event = track(ws, contact, "Requested Demo")
    first = process(ws, [event])
    second = process(ws, [event])
    assert score_of(contact) == 30
    assert ScoreChange.objects.count() == 1
    assert Event.objects.filter(name="score.changed").count() == 1
    # the retry re-offers the first attempt's event to the processors after scoring
    first_ids = {e.pk for e in first.events if e.name == "score.changed"}
    assert {e.pk for e in second.events if e.name == "score.changed"} == first_ids


def test_a_rule_edit_is_seen_by_the_next_batch(ws, model, contact):
    rule = behavioural(model, "Clicked", 1)
    process(ws, [track(ws, contact, "Clicked")])
    rule.points = 7
    rule.save()
    process(ws, [track(ws, contact, "Clicked")])
    assert score_of(contact) == 8


def test_caps_limit_points_per_day_and_in_total(ws, model, contact):
    behavioural(model, "Opened Email", 4, cap_per_day=10, cap_total=18)
    today = timezone.now()
    process(
        ws,
        [
            track(ws, contact, "Opened Email", timestamp=today - timedelta(seconds=i))
            for i in range(4)
        ],
    )
    assert score_of(contact) == 10  # 4 + 4 + 2 (capped for the day)
    tomorrow_events = [
        track(ws, contact, "Opened Email", timestamp=today + timedelta(days=1, seconds=i))
        for i in range(3)
    ]
    process(ws, tomorrow_events)
    assert score_of(contact) == 18  # 8 more until the total cap
    assert sorted(ScoreChange.objects.values_list("points", flat=True)) == [2, 4, 4, 4, 4]


def test_fit_rules_follow_the_profile_both_ways(ws, model, contact):
    rule = fit(
        model, {"field": "job_title", "op": "contains", "value": "VP"}, 15, name="Senior title"
    )
    Contact.objects.filter(pk=contact.pk).update(job_title="VP Sales")
    process(ws, changed={contact.pk: {"job_title"}})
    assert score_of(contact) == 15
    assert ContactScore.objects.get(contact=contact).state == {str(rule.pk): 15}
    process(ws, changed={contact.pk: {"job_title"}})  # no change: nothing new
    Contact.objects.filter(pk=contact.pk).update(job_title="Intern")
    process(ws, changed={contact.pk: {"city"}})  # a field the rule does not read
    assert score_of(contact) == 15
    process(ws, changed={contact.pk: {"job_title"}})
    assert score_of(contact) == 0
    assert list(ScoreChange.objects.order_by("pk").values_list("points", "reason")) == [
        (15, "Senior title"),
        (-15, "No longer: Senior title"),
    ]


def test_a_contact_new_to_the_model_gets_its_fit_evaluated_on_its_first_event(ws, model):
    fit(model, {"field": "country", "op": "eq", "value": "DE"}, 10)
    german = make_contact(ws, country="DE")
    process(ws, [track(ws, german, "Signed Up")])
    assert score_of(german) == 10


def test_negative_signals_take_points_away(ws, model, contact):
    negative(model, "unsubscribed", -20)
    negative(model, "bounced", -10, cap_total=10)
    Contact.objects.filter(pk=contact.pk).update(email_consent="unsubscribed")
    process(
        ws,
        [track(ws, contact, "email.bounced", source="platform")],
        changed={contact.pk: {"email_consent"}},
    )
    assert score_of(contact) == -30
    process(ws, [track(ws, contact, "email.bounced", source="platform")])
    assert score_of(contact) == -30  # bounce capped at 10 in total


def test_inactivity_penalty_starts_after_n_days_and_ends_with_the_next_action(ws, model, contact):
    negative(model, "inactive", -15, inactive_days=14)
    acted = timezone.now()
    process(ws, [track(ws, contact, "Signed Up", timestamp=acted)])
    row = ContactScore.objects.get(contact=contact)
    assert row.valid_until == acted + timedelta(days=14)
    scores_refresh_due(workspace=ws, now=acted + timedelta(days=14, seconds=1))
    assert score_of(contact) == -15
    assert (
        Event.objects.filter(contact=contact, name="score.changed").latest("pk").properties["to"]
        == -15
    )
    process(ws, [track(ws, contact, "Page Viewed")])
    assert score_of(contact) == 0


def test_platform_events_are_not_activity(ws, model, contact):
    negative(model, "inactive", -15, inactive_days=14)
    process(ws, [track(ws, contact, "email.sent", source="platform")])
    assert not ContactScore.objects.filter(contact=contact).exists()


def test_a_second_model_keeps_its_own_score_without_touching_contact_score(ws, model, contact):
    other = ScoringModel.objects.create(workspace=ws, name="Product B", mql_threshold=5)
    behavioural(other, "Trial Started", 7)
    batch = process(ws, [track(ws, contact, "Trial Started")])
    assert score_of(contact) == 0
    assert Contact.objects.get(pk=contact.pk).lifecycle_stage == "lead"
    assert ContactScore.objects.get(contact=contact, model=other).score == 7
    changed = [e for e in batch.events if e.name == "score.changed"]
    assert [(e.properties["model"], e.properties["primary"]) for e in changed] == [
        ("Product B", False)
    ]


def test_crossing_the_threshold_in_the_pipeline_records_lifecycle_changed(
    ws, model, contact, django_capture_on_commit_callbacks
):
    behavioural(model, "Requested Demo", 60)
    with django_capture_on_commit_callbacks() as callbacks:
        batch = process(ws, [track(ws, contact, "Requested Demo")])
    names = [e.name for e in batch.events]
    assert names == ["Requested Demo", "score.changed", "lifecycle.changed"]
    assert batch.changed_fields[contact.pk] == {"score", "lifecycle_stage"}
    assert callbacks, "the sales handoff is enqueued after commit"


def test_the_cost_of_a_batch_does_not_grow_with_its_size(ws, model):
    behavioural(model, "Page Viewed", 1)
    behavioural(model, "Clicked", 2, cap_per_day=10)
    fit(model, {"field": "country", "op": "eq", "value": "DE"}, 10)

    def queries_for(size):
        contacts = [make_contact(ws, country="DE") for _ in range(size)]
        events = [track(ws, c, name) for c in contacts for name in ("Page Viewed", "Clicked")]
        with CaptureQueriesContext(connection) as captured:
            process(ws, events)
        return len(captured)

    small, large = queries_for(3), queries_for(30)
    assert large <= small, (small, large)  # the first batch also loaded the rules


def test_a_workspace_without_models_costs_no_query_once_its_rules_are_known(
    ws, contact, django_assert_num_queries
):
    batch = IngestedBatch(workspace=ws, events=[track(ws, contact, "Anything")])
    with django_assert_num_queries(1):
        scoring_process_batch(batch)
    with django_assert_num_queries(0):
        scoring_process_batch(batch)
    assert [e.name for e in batch.events] == ["Anything"]
    assert not ContactScore.objects.exists()
