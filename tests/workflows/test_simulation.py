"""Test mode: a contact through a workflow in simulated time — nothing sent, nothing kept."""

import pytest

from contacts.models import Contact, Event
from messaging.models import Message
from workflows.models import StepLog, WorkflowRun

from .conftest import chain, email_template, make_workflow

pytestmark = pytest.mark.django_db


def test_a_sample_contact_walks_the_draft_with_scripted_events(
    api, ws, receiver, django_capture_on_commit_callbacks
):
    template = email_template(ws, subject="Welcome {{ contact.first_name }}")
    graph = {
        "nodes": [
            {"id": "start", "type": "trigger.event", "config": {"event": "Signed Up"}},
            {"id": "tag", "type": "action.tag_add", "config": {"tags": ["trial"]}},
            {
                "id": "wait",
                "type": "wait.until_event",
                "config": {"event": "Pricing Viewed", "timeout": {"days": 3}},
            },
            {"id": "hello", "type": "action.email", "config": {"template": template}},
            {
                "id": "tagged",
                "type": "branch.condition",
                "config": {"filter": {"all": [{"tag": "trial"}]}},
            },
            {"id": "hook", "type": "action.webhook", "config": {"url": receiver.url}},
        ],
        "edges": [
            {"source": "start", "target": "tag"},
            {"source": "tag", "target": "wait"},
            {"source": "wait", "target": "hello"},
            {"source": "hello", "target": "tagged"},
            {"source": "tagged", "target": "hook", "port": "yes"},
        ],
    }
    workflow = make_workflow(ws, graph, publish=False)
    before = (Contact.objects.count(), Event.objects.count())
    with django_capture_on_commit_callbacks() as escaped:
        response = api.post(
            f"/api/v1/workflows/{workflow.pk}/test/",
            {
                "sample": {"first_name": "Sam", "email": "sam@example.test"},
                "trigger": {"name": "Signed Up", "properties": {"plan": "trial"}},
                "events": [{"name": "Pricing Viewed", "after_hours": 30}],
            },
            format="json",
        )
    assert escaped == []  # no Celery task (pipeline, send) was left to run after commit
    assert response.status_code == 200, response.json()
    report = response.json()
    assert report["status"] == "completed"
    steps = [(p["node"], p["outcome"]) for p in report["path"]]
    assert steps == [
        ("start", "passed"),
        ("tag", "passed"),
        ("wait", "waiting"),
        ("wait", "event"),
        ("wait", "resumed"),
        ("hello", "sent"),
        ("tagged", "passed"),
        ("hook", "passed"),
    ]
    [message] = report["messages"]
    assert message["subject"] == "Welcome Sam" and message["node"] == "hello"
    assert report["contact"]["tags"] == ["trial"]
    [call] = report["calls"]
    assert call["kind"] == "webhook" and call["url"] == receiver.url
    # nothing happened for real
    assert receiver.requests == []
    assert (Contact.objects.count(), Event.objects.count()) == before
    assert (
        not Message.objects.exists()
        and not WorkflowRun.objects.exists()
        and not StepLog.objects.exists()
    )


def test_a_real_contact_is_left_unchanged(api, ws, contact):
    workflow = make_workflow(
        ws,
        chain(
            ("start", "trigger.api", {}),
            ("tag", "action.tag_add", {"tags": ["x"]}),
            ("wait", "wait.duration", {"days": 400}),
        ),
    )
    report = api.post(
        f"/api/v1/workflows/{workflow.pk}/test/",
        {"contact_id": contact.pk, "version": "current", "max_days": 30},
        format="json",
    ).json()
    assert report["contact"]["tags"] == ["x"] and report["ended"] == "still waiting"
    contact.refresh_from_db()
    assert contact.tags == []


def test_an_unknown_sample_field_is_a_400(api, ws):
    workflow = make_workflow(
        ws, chain(("start", "trigger.api", {}), ("tag", "action.tag_add", {"tags": ["x"]}))
    )
    response = api.post(
        f"/api/v1/workflows/{workflow.pk}/test/", {"sample": {"shoe_size": 44}}, format="json"
    )
    assert response.status_code == 400 and "sample.shoe_size" in response.json()["error"]["message"]
