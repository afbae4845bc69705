"""Counting a new rule's past events ("trial started 4×" scored 25 once): what it would
change, then the count itself — with the events' own times, within caps, never twice."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from scoring.models import RuleBackfill, ScoreChange
from scoring.services.backfill import rule_backfill_estimate, rule_backfill_run, rule_backfill_start
from tests.conftest import add_member, login_client
from workspaces.roles import Role

from .conftest import behavioural, make_contact, process, track

pytestmark = pytest.mark.django_db


@pytest.fixture
def trials(ws, model):
    """Before the rule exists: Ann started 4 trials (one 200 days ago), Bob 1 on the
    enterprise plan, Cy only visited. The events are processed while no rule matches them."""
    now = timezone.now()
    ann, bob, cy = (make_contact(ws, first_name=n) for n in ("Ann", "Bob", "Cy"))
    events = [
        track(ws, ann, "Trial Started", {"plan": "pro"}, timestamp=now - timedelta(days=d))
        for d in (1, 2, 3)
    ]
    events.append(
        track(ws, ann, "Trial Started", {"plan": "pro"}, timestamp=now - timedelta(days=200))
    )
    events.append(
        track(ws, bob, "Trial Started", {"plan": "enterprise"}, timestamp=now - timedelta(days=5))
    )
    events.append(track(ws, cy, "Visited Site", timestamp=now - timedelta(days=1)))
    process(ws, events)
    return ann, bob, cy


def _score(contact):
    return Contact.objects.get(pk=contact.pk).score


def test_the_estimate_says_what_counting_the_past_would_change(ws, model, trials):
    rule = behavioural(model, "Trial Started", 25)
    estimate = rule_backfill_estimate(workspace=ws, rule=rule, days=90)
    assert (estimate.events, estimate.already_counted, estimate.contacts) == (4, 0, 2)
    assert estimate.points == 100
    assert rule_backfill_estimate(workspace=ws, rule=rule, days=365).events == 5
    assert not ScoreChange.objects.filter(rule=rule).exists()  # an estimate writes nothing


def test_counting_awards_each_past_event_once_with_its_own_time(ws, model, trials):
    ann, bob, cy = trials
    rule = behavioural(model, "Trial Started", 25)
    backfill = RuleBackfill.objects.create(workspace=ws, rule=rule, days=90)
    rule_backfill_run(workspace=ws, backfill=backfill)
    backfill.refresh_from_db()
    assert backfill.status == "done" and backfill.percent == 100
    assert (backfill.events_total, backfill.events_done) == (4, 4)
    assert (backfill.points_added, backfill.contacts_changed) == (100, 2)
    assert (_score(ann), _score(bob), _score(cy)) == (75, 25, 0)
    oldest = ScoreChange.objects.filter(rule=rule, contact=ann).order_by("at").first()
    assert timezone.now() - oldest.at > timedelta(days=2)  # the event's time, not now

    again = RuleBackfill.objects.create(workspace=ws, rule=rule, days=365)
    rule_backfill_run(workspace=ws, backfill=again)
    again.refresh_from_db()
    # Only the 200-day-old trial was never counted; the other four are not counted twice.
    assert (again.events_total, again.points_added, again.contacts_changed) == (5, 25, 1)
    assert ScoreChange.objects.filter(rule=rule).count() == 5
    assert rule_backfill_estimate(workspace=ws, rule=rule, days=365).points == 0


def test_counting_respects_the_rules_where_and_caps(ws, model, trials):
    ann, bob, _ = trials
    rule = behavioural(
        model,
        "Trial Started",
        25,
        where=[{"property": "plan", "op": "eq", "value": "pro"}],
        cap_total=50,
    )
    backfill = RuleBackfill.objects.create(workspace=ws, rule=rule, days=90)
    rule_backfill_run(workspace=ws, backfill=backfill)
    assert (_score(ann), _score(bob)) == (50, 0)  # 3 pro trials capped at 50; no enterprise


def test_an_event_rule_already_scoring_live_is_not_counted_twice(ws, model):
    rule = behavioural(model, "Trial Started", 25)
    ann = make_contact(ws)
    process(ws, [track(ws, ann, "Trial Started")])
    assert _score(ann) == 25
    estimate = rule_backfill_estimate(workspace=ws, rule=rule, days=30)
    assert (estimate.events, estimate.already_counted, estimate.points) == (1, 1, 0)


def test_only_active_event_rules_count_past_events(ws, model):
    from scoring.services import config
    from workspaces.errors import ValidationFailed

    fit_rule = config.rule_save(
        workspace=ws,
        model=model,
        data={
            "kind": "fit",
            "name": "DE",
            "points": 5,
            "filter": {"all": [{"field": "country", "op": "eq", "value": "DE"}]},
        },
    )
    with pytest.raises(ValidationFailed, match="Only rules on an event"):
        rule_backfill_estimate(workspace=ws, rule=fit_rule, days=30)
    off = behavioural(model, "Trial Started", 25, is_active=False)
    with pytest.raises(ValidationFailed, match="Switch the rule"):
        rule_backfill_start(workspace=ws, rule=off, days=30, actor=None)


def test_saving_a_new_event_rule_offers_to_count_the_past_and_runs_it(
    ws, model, trials, owner, owner_client, django_capture_on_commit_callbacks
):
    response = owner_client.post(
        reverse("scoring:rule_create", args=[model.pk]),
        {
            "kind": "behavioural",
            "name": "Started a trial",
            "points": "25",
            "is_active": "on",
            "behaviour": json.dumps({"event": "Trial Started", "where": []}),
        },
    )
    rule = model.rules.get(name="Started a trial")
    history = reverse("scoring:rule_history", args=[model.pk, rule.pk])
    assert response.status_code == 302 and response["Location"] == history
    page = owner_client.get(history).content.decode()
    assert 'id="estimate-events">4<' in page and 'id="estimate-contacts">2<' in page
    assert 'id="estimate-points">+100<' in page

    with django_capture_on_commit_callbacks(execute=True):
        started = owner_client.post(history, {"days": "90"})
    assert started.status_code == 302
    backfill = RuleBackfill.objects.get(rule=rule)
    assert backfill.status == "done" and backfill.created_by == owner
    progress = owner_client.get(f"{history}?part=progress", HTTP_HX_REQUEST="true").content.decode()
    assert "4 of 4 events" in progress and "+100 points to 2 contacts" in progress
    assert "hx-trigger" not in progress  # done: the page stops polling
    assert "Nothing to count" in owner_client.get(history).content.decode()


def test_a_bad_window_is_named_and_starts_nothing(ws, model, trials, owner_client):
    rule = behavioural(model, "Trial Started", 25)
    history = reverse("scoring:rule_history", args=[model.pk, rule.pk])
    response = owner_client.post(history, {"days": "11"})
    assert (
        response.status_code == 400
        and "Choose a window of 7, 30, 90, 365 days" in response.content.decode()
    )
    assert not RuleBackfill.objects.exists()


def test_only_marketers_count_and_another_workspace_gets_404(ws, model, outsider_client):
    rule = behavioural(model, "Trial Started", 25)
    history = reverse("scoring:rule_history", args=[model.pk, rule.pk])
    rep = login_client(add_member(ws, "rep@acme.test", Role.SALES))
    assert rep.get(history).status_code == 200  # reading what it would change is harmless
    assert rep.post(history, {"days": "30"}).status_code == 403
    assert outsider_client.get(history).status_code == 404
    assert outsider_client.post(history, {"days": "30"}).status_code == 404
    assert not RuleBackfill.objects.exists()
