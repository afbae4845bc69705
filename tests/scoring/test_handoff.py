"""Handing MQLs to sales: assignment rules, round-robin, capacity, tasks, notifications,
Slack and CRM webhooks (a local receiver stands in for both)."""

import pytest
from django.core import mail
from django.test import override_settings

from contacts.models import Contact, Event
from scoring.models import AssignmentRule, LeadActivity, Notification, SalesRep, SalesTask
from scoring.services import lead_assign, sales_task_create, score_adjust, scoring_settings
from tests.conftest import add_member
from workspaces.errors import ValidationFailed
from workspaces.outbound.models import WebhookDelivery
from workspaces.outbound.tasks import deliveries_due
from workspaces.roles import Role

from .conftest import make_contact, process, track
from .receiver import webhook_receiver

pytestmark = pytest.mark.django_db
# The receivers listen on loopback, which the outbound client refuses unless allowed.
allow_loopback = override_settings(OUTBOUND_ALLOWED_HOSTS=["127.0.0.1"])


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
def test_slack_delivery_is_retried_with_backoff_after_a_server_error(
    ws, model, contact, django_capture_on_commit_callbacks
):
    with webhook_receiver() as slack:
        slack.statuses = [503]
        settings = scoring_settings(workspace=ws)
        settings.slack_webhook_url = slack.url
        settings.save()
        with django_capture_on_commit_callbacks(execute=True):
            score_adjust(workspace=ws, contact=contact, points=80, reason="Event attendee")
        first, retry = WebhookDelivery.objects.filter(workspace=ws).order_by("pk")
        assert (first.status, first.response_status, first.attempt) == ("failed", 503, 1)
        assert (retry.status, retry.attempt, retry.message_id) == ("pending", 2, first.message_id)
        assert retry.next_attempt_at > first.created_at  # a row waiting, not a sleeping worker
        assert deliveries_due.apply().get() == 0  # not due yet
        WebhookDelivery.objects.filter(pk=retry.pk).update(next_attempt_at=first.created_at)
        assert deliveries_due.apply().get() == 1
        retry.refresh_from_db()
        assert retry.status == "succeeded"
    assert len(slack.requests) == 2
    assert slack.requests[0].json == slack.requests[1].json
    assert slack.requests[0].headers["webhook-id"] == slack.requests[1].headers["webhook-id"]


@allow_loopback
def test_lifecycle_changes_go_to_the_crm_signed_the_standard_webhooks_way(
    ws, model, contact, django_capture_on_commit_callbacks
):
    from standardwebhooks import Webhook

    from scoring.services.config import settings_save
    from workspaces.outbound.selectors import endpoint_get

    with webhook_receiver() as crm:
        settings_save(workspace=ws, data={"crm_webhook_url": crm.url})
        secret = endpoint_get(workspace=ws, source="scoring.crm").secret
        assert secret.startswith("whsec_")
        with django_capture_on_commit_callbacks(execute=True):
            score_adjust(workspace=ws, contact=contact, points=80, reason="Event attendee")
    [request] = crm.requests
    payload = Webhook(secret).verify(request.body, request.headers)
    change = payload["changes"][0]
    assert (change["email"], change["from"], change["to"]) == (contact.email, "lead", "mql")
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 43 + "=").verify(request.body, request.headers)
    [delivery] = WebhookDelivery.objects.filter(workspace=ws)
    assert (delivery.event_type, delivery.status) == ("lifecycle.changed", "succeeded")


def test_webhook_urls_may_not_point_into_the_servers_network(ws):
    from scoring.services.config import settings_save

    for url in ("http://127.0.0.1:8000/hook", "http://10.0.0.7/hook", "http://[::1]/x"):
        with pytest.raises(ValidationFailed) as error:
            settings_save(workspace=ws, data={"crm_webhook_url": url})
        assert "server's network" in error.value.fields["crm_webhook_url"]
    with pytest.raises(ValidationFailed) as error:
        settings_save(workspace=ws, data={"slack_webhook_url": "ftp://example.com/x"})
    assert "http(s)" in error.value.fields["slack_webhook_url"]
    assert scoring_settings(workspace=ws).crm_webhook_url == ""
