"""Handing MQLs to sales: assignment rules, round-robin, capacity, tasks, notifications,
Slack and CRM webhooks (a local receiver stands in for both)."""

import hashlib
import hmac

import pytest
from django.core import mail
from django.test import override_settings

from contacts.models import Contact, Event
from scoring.models import AssignmentRule, LeadActivity, Notification, SalesRep, SalesTask
from scoring.services import lead_assign, sales_task_create, score_adjust, scoring_settings
from scoring.webhooks import webhook_url_check
from tests.conftest import add_member
from workspaces.errors import ValidationFailed
from workspaces.roles import Role

from .conftest import make_contact, process, track
from .receiver import webhook_receiver

pytestmark = pytest.mark.django_db
allow_loopback = override_settings(TENDRIL_WEBHOOKS_ALLOW_PRIVATE=True)


@pytest.fixture
def reps(ws):
    return [add_member(ws, f"rep{i}@acme.test", Role.SALES) for i in (1, 2)]


def owner_of(contact):
    return Contact.objects.get(pk=contact.pk).owner


def test_round_robin_among_sales_members(ws, reps):
    owners = [lead_assign(workspace=ws, contact=make_contact(ws)) for _ in range(4)]
    assert owners == [reps[0], reps[1], reps[0], reps[1]]


def test_capacity_sends_the_lead_to_the_next_rep_or_nobody(ws, reps):
    for rep in reps:
        SalesRep.objects.create(workspace=ws, user=rep, max_open_leads=1)
    first = make_contact(ws, lifecycle_stage="mql")
    second = make_contact(ws, lifecycle_stage="mql")
    assert lead_assign(workspace=ws, contact=first) == reps[0]
    assert lead_assign(workspace=ws, contact=second) == reps[1]
    assert lead_assign(workspace=ws, contact=make_contact(ws, lifecycle_stage="mql")) is None


def test_territory_rules_route_to_the_right_office_before_round_robin(ws, reps):
    berlin = add_member(ws, "berlin@acme.test", Role.SALES)
    rule = AssignmentRule.objects.create(
        workspace=ws,
        name="DACH office",
        filter={"field": "city", "op": "in", "value": ["Berlin", "Munich"]},
    )
    rule.reps.set([berlin])
    assert lead_assign(workspace=ws, contact=make_contact(ws, city="Munich")) == berlin
    assert lead_assign(workspace=ws, contact=make_contact(ws, city="Paris")) in reps


def test_an_explicit_owner_must_be_a_member(ws, outsider, contact):
    with pytest.raises(ValidationFailed) as error:
        lead_assign(workspace=ws, contact=contact, owner=outsider)
    assert "owner" in error.value.fields
    assert owner_of(contact) is None


def test_assignment_notifies_the_owner_and_goes_into_the_stream(
    ws, reps, contact, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        owner = lead_assign(workspace=ws, contact=contact)
    assert owner_of(contact) == owner
    assert (
        Event.objects.get(contact=contact, name="lead.assigned").properties["owner"] == owner.email
    )
    note = Notification.objects.get(user=owner)
    assert note.kind == "lead.assigned" and contact.display_name in note.title
    assert [m.to for m in mail.outbox] == [[owner.email]]
    assert LeadActivity.objects.filter(contact=contact, kind="assigned").exists()


def test_a_task_defaults_to_the_owner_and_the_workspace_due_time(ws, reps, contact):
    lead_assign(workspace=ws, contact=contact, notify=False)
    contact.refresh_from_db()
    task = sales_task_create(workspace=ws, contact=contact, title="Call back")
    assert task.assignee == contact.owner
    assert 23.9 < (task.due_at - task.created_at).total_seconds() / 3600 <= 24
    assert Notification.objects.filter(user=contact.owner, kind="task.assigned").exists()
    with pytest.raises(ValidationFailed):
        sales_task_create(workspace=ws, contact=contact, title="  ")


@allow_loopback
def test_a_new_mql_gets_an_owner_a_task_and_notifications_with_its_context(
    ws, model, reps, django_capture_on_commit_callbacks
):
    from .conftest import behavioural

    behavioural(model, "Requested Demo", 40)
    behavioural(model, "Pricing", 5)
    lead = make_contact(ws, first_name="Ada", company="Analytical Engines")
    events = [track(ws, lead, "Pricing", type="page") for _ in range(3)]
    events += [track(ws, lead, "email.opened", source="platform") for _ in range(2)]
    events.append(track(ws, lead, "Requested Demo"))
    with webhook_receiver() as slack:
        settings = scoring_settings(workspace=ws)
        settings.slack_webhook_url = f"{slack.url}/services/T0/B0/x"
        settings.save()
        with django_capture_on_commit_callbacks(execute=True):
            process(ws, events)
        lead.refresh_from_db()
        assert (lead.score, lead.lifecycle_stage) == (55, "mql")
        assert lead.owner in reps
        task = SalesTask.objects.get(contact=lead)
        assert task.assignee == lead.owner and "new MQL" in task.title
        note = Notification.objects.get(contact=lead, kind="lead.mql")
        assert note.user == lead.owner
        assert "Visited pricing 3×" in note.body and "opened 2 emails" in note.body
        assert note.body.startswith("Visited pricing 3×") and "requested demo" in note.body
        assert any(lead.owner.email in m.to for m in mail.outbox)
        assert len(slack.requests) == 1
        text = slack.requests[0].json["text"]
        assert "Ada" in text and "score 55" in text and "visited pricing 3×" in text.lower()
        assert slack.requests[0].path == "/services/T0/B0/x"


@allow_loopback
def test_slack_delivery_is_retried_after_a_server_error(ws, contact):
    from scoring.tasks import slack_post

    with webhook_receiver() as slack:
        slack.statuses = [503]
        settings = scoring_settings(workspace=ws)
        settings.slack_webhook_url = slack.url
        settings.save()
        assert slack_post.apply(args=(ws.pk, "hello"), throw=False).get() is True
    assert [r.json for r in slack.requests] == [{"text": "hello"}] * 2


@allow_loopback
def test_lifecycle_changes_go_to_the_crm_signed(
    ws, model, contact, django_capture_on_commit_callbacks
):
    secret = "s" * 32
    with webhook_receiver() as crm:
        settings = scoring_settings(workspace=ws)
        settings.crm_webhook_url, settings.crm_webhook_secret = crm.url, secret
        settings.save()
        with django_capture_on_commit_callbacks(execute=True):
            score_adjust(workspace=ws, contact=contact, points=80, reason="Event attendee")
    [request] = crm.requests
    change = request.json["changes"][0]
    assert (change["email"], change["from"], change["to"]) == (contact.email, "lead", "mql")
    stamp, signature = (
        part.split("=", 1)[1] for part in request.headers["X-Tendril-Signature"].split(",")
    )
    expected = hmac.new(
        secret.encode(), f"{stamp}.".encode() + request.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(signature, expected)


def test_webhook_urls_may_not_point_into_the_servers_network():
    assert webhook_url_check("http://127.0.0.1:8000/hook") == "must point to a public address"
    assert webhook_url_check("http://10.0.0.7/hook") == "must point to a public address"
    assert webhook_url_check("ftp://example.com/x") == "must be an http(s) URL"
