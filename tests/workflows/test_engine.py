"""The engine carries a contact through triggers, waits, branches and actions."""

import pytest

from contacts.models import Event
from contacts.services import event_record, events_enqueue_processing
from workflows.models import Outcome, RunStatus, StepLog, WorkflowRun

from .conftest import chain, days, drain, make_workflow, run_of

pytestmark = pytest.mark.django_db


def fire(ws, contact, name, capture, **properties):
    event = event_record(
        workspace=ws, contact=contact, name=name, properties=properties, source="api"
    )
    with capture(execute=True):
        events_enqueue_processing(workspace=ws, event_ids=[event.pk])
    return event


def test_an_event_enrols_the_contact_and_the_run_waits_then_finishes(
    ws, contact, clock, django_capture_on_commit_callbacks
):
    workflow = make_workflow(
        ws,
        chain(
            ("start", "trigger.event", {"event": "Signed Up"}),
            ("tag", "action.tag_add", {"tags": ["new"]}),
            ("wait", "wait.duration", {"days": 1}),
            ("tag2", "action.tag_add", {"tags": ["day-two"]}),
        ),
    )
    fire(ws, contact, "Signed Up", django_capture_on_commit_callbacks)
    drain()
    run = run_of(workflow, contact)
    contact.refresh_from_db()
    assert (run.status, run.current_node, contact.tags) == (RunStatus.WAITING, "wait", ["new"])

    clock.shift(days(1))
    drain()
    run.refresh_from_db()
    contact.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert contact.tags == ["new", "day-two"]
    path = list(StepLog.objects.filter(run=run).values_list("node_id", "outcome"))
    assert path == [
        ("start", Outcome.PASSED),
        ("tag", Outcome.PASSED),
        ("wait", Outcome.WAITING),
        ("wait", Outcome.RESUMED),
        ("tag2", Outcome.PASSED),
    ]
    names = list(
        Event.objects.filter(contact=contact, name__startswith="workflow.").values_list(
            "name", flat=True
        )
    )
    assert sorted(names) == ["workflow.entered", "workflow.exited"]


def test_an_event_that_matches_no_trigger_enrols_nobody(
    ws, contact, django_capture_on_commit_callbacks
):
    make_workflow(
        ws,
        chain(
            (
                "start",
                "trigger.event",
                {"event": "Signed Up", "where": [{"property": "plan", "op": "eq", "value": "pro"}]},
            ),
            ("t", "action.tag_add", {"tags": ["x"]}),
        ),
    )
    fire(ws, contact, "Signed Up", django_capture_on_commit_callbacks, plan="free")
    fire(ws, contact, "Other", django_capture_on_commit_callbacks, plan="pro")
    assert not WorkflowRun.objects.exists()
    fire(ws, contact, "Signed Up", django_capture_on_commit_callbacks, plan="Pro")
    assert WorkflowRun.objects.count() == 1
