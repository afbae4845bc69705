"""Merged profiles keep their scoring: the absorbed contact's points ledger moves to the
survivor, whose score is recounted from the whole ledger and whose fit rules are re-evaluated.
Merges come from ingestion, as integrations cause them (identify after anonymous activity,
alias)."""

import base64
import json

import pytest
from django.db import connection
from django.test import Client

from contacts.models import Contact, LifecycleStage
from scoring.models import ContactScore, ScoreChange

from .conftest import behavioural, fit, process

pytestmark = pytest.mark.django_db


def post(key, path, body):
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    response = Client().post(
        path, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=auth
    )
    assert response.status_code == 200, response.content
    return response


@pytest.fixture
def send(tenant, django_capture_on_commit_callbacks):
    """Post a /v1/ call and run the pipeline it enqueues, as the worker would."""

    def send(path, body):
        with django_capture_on_commit_callbacks(execute=True):
            post(tenant.write_key, path, body)

    return send


def contact_of(ws, **lookup):
    return Contact.objects.get(workspace=ws, **lookup)


def score_row(contact, model):
    return ContactScore.objects.get(contact=contact, model=model)


def test_identify_after_anonymous_activity_carries_the_visitors_points_to_the_known_contact(
    ws, model, send
):
    model.mql_threshold = 40
    model.save()
    behavioural(model, "Requested Demo", 30, name="Asked for a demo")
    behavioural(model, "Pricing Viewed", 20, name="Looked at pricing")
    send("/v1/track", {"userId": "u-1", "event": "Pricing Viewed", "messageId": "t-1"})
    send("/v1/track", {"anonymousId": "anon-1", "event": "Requested Demo", "messageId": "t-2"})
    known, visitor = contact_of(ws, external_id="u-1"), contact_of(ws, anonymous_ids=["anon-1"])
    assert (known.score, visitor.score) == (20, 30)
    visitor_entry = ScoreChange.objects.get(contact=visitor)

    send("/v1/identify", {"userId": "u-1", "anonymousId": "anon-1", "messageId": "i-1"})

    assert not Contact.objects.filter(pk=visitor.pk).exists()
    known.refresh_from_db()
    ledger = ScoreChange.objects.filter(contact=known)
    assert sorted(ledger.values_list("reason", "points")) == [
        ("Asked for a demo", 30),
        ("Looked at pricing", 20),
    ]
    assert ledger.filter(pk=visitor_entry.pk).exists()  # the same entry, moved
    assert known.score == 50 == score_row(known, model).score
    # The recounted score crosses the threshold: the merged lead is an MQL now.
    assert score_row(known, model).qualified
    assert known.lifecycle_stage == LifecycleStage.MQL
    assert ContactScore.objects.filter(model=model).count() == 1


def test_a_visitor_unknown_to_scoring_before_brings_its_row_and_the_contact_score_follows(
    ws, model, send
):
    """The survivor had no score row: the visitor's moves over, and Contact.score (what
    segments filter on) must follow it even though the row's own score did not change."""
    behavioural(model, "Requested Demo", 30)
    send("/v1/identify", {"userId": "u-2", "traits": {"email": "sam@acme.test"}})
    known = contact_of(ws, external_id="u-2")
    ContactScore.objects.filter(contact=known).delete()  # scoring never saw this contact
    send("/v1/track", {"anonymousId": "anon-2", "event": "Requested Demo", "messageId": "t-3"})

    send("/v1/identify", {"userId": "u-2", "anonymousId": "anon-2", "messageId": "i-2"})

    known.refresh_from_db()
    assert known.score == 30 == score_row(known, model).score
    assert ScoreChange.objects.filter(contact=known).count() == 1


def test_alias_of_two_known_users_merges_their_points(ws, model, send):
    behavioural(model, "Webinar Attended", 15)
    send("/v1/track", {"userId": "old-id", "event": "Webinar Attended", "messageId": "t-4"})
    send("/v1/track", {"userId": "new-id", "event": "Webinar Attended", "messageId": "t-5"})
    old, new = contact_of(ws, external_id="old-id"), contact_of(ws, external_id="new-id")

    send("/v1/alias", {"previousId": "old-id", "userId": "new-id", "messageId": "a-1"})

    assert not Contact.objects.filter(pk=old.pk).exists()
    new.refresh_from_db()
    assert ScoreChange.objects.filter(contact=new).count() == 2
    assert new.score == 30 == score_row(new, model).score


def test_fit_rules_are_re_evaluated_for_the_merged_profile(ws, model, send):
    """The visitor's job title fills the known contact's empty one: the merged profile
    matches a fit rule neither scored before under this contact."""
    fit(model, {"all": [{"field": "job_title", "op": "contains", "value": "VP"}]}, 25, "Is a VP")
    send("/v1/identify", {"userId": "u-3", "traits": {"email": "vp@acme.test"}})
    send("/v1/identify", {"anonymousId": "anon-3", "traits": {"title": "VP Sales"}})
    known = contact_of(ws, external_id="u-3")
    visitor = contact_of(ws, anonymous_ids=["anon-3"])
    assert (known.score, visitor.score) == (0, 25)

    send("/v1/identify", {"userId": "u-3", "anonymousId": "anon-3", "messageId": "i-3"})

    known.refresh_from_db()
    row = score_row(known, model)
    assert known.job_title == "VP Sales"
    assert known.score == 25 == row.score  # the rule is held once, not once per profile
    assert list(row.state.values()) == [25]


def test_a_batch_naming_a_contact_merged_away_meanwhile_still_runs(ws, model, contact):
    """The pipeline is asynchronous: by the time it runs, a contact it was told about may
    have been merged into another (and deleted). It must not fail on that contact."""
    fit(model, {"all": [{"field": "company", "op": "eq", "value": "Initech"}]}, 10)
    gone = contact.pk
    contact.delete()
    process(ws, changed={gone: {"created"}})
    connection.check_constraints()  # what COMMIT checks (foreign keys are deferred)
    assert not ContactScore.objects.filter(contact_id=gone).exists()


def test_a_fit_rule_the_absorbed_profile_held_is_released_when_the_survivor_does_not_match(
    ws, model, send
):
    """Attributes keep the survivor's value, so nothing reports `plan` as changed — the
    merge itself must make scoring look again at the row the visitor brought over."""
    fit(model, {"all": [{"field": "plan", "op": "eq", "value": "pro"}]}, 25, "On pro")
    send("/v1/identify", {"userId": "u-4", "traits": {"email": "f@acme.test", "plan": "free"}})
    known = contact_of(ws, external_id="u-4")
    ContactScore.objects.filter(contact=known).delete()  # scoring never saw this contact
    send("/v1/identify", {"anonymousId": "anon-4", "traits": {"plan": "pro"}})
    assert contact_of(ws, anonymous_ids=["anon-4"]).score == 25

    send("/v1/identify", {"userId": "u-4", "anonymousId": "anon-4", "messageId": "i-4"})

    known.refresh_from_db()
    assert known.attributes["plan"] == "free"
    assert known.score == 0 == score_row(known, model).score
    assert score_row(known, model).state == {}
    assert ScoreChange.objects.filter(contact=known).latest("pk").reason == "No longer: On pro"
