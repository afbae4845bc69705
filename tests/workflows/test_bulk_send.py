"""Send steps of a chunk go to messaging together: one INSERT for the chunk's messages of a
template, one send task per batch — with each message still unique per run and node, the
step log showing its id, and consent, suppression and caps applied to every one of them."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from messaging.models import Message, MessageStatus
from messaging.services import message_enqueue, suppression_add
from workflows.models import Outcome, RunStatus, StepLog
from workflows.runs.enrolment import Candidate, enrol

from .conftest import chain, drain, email_template, make_workflow, run_of

pytestmark = pytest.mark.django_db


def contacts(ws, *emails, **fields):
    fields.setdefault("email_consent", "subscribed")
    return [
        Contact.objects.create(workspace=ws, email=email, timezone="UTC", **fields)
        for email in emails
    ]


def enrol_together(ws, workflow, people, capture):
    """One enrolment call: the runs are claimed together and executed as one chunk."""
    with capture(execute=True):
        enrol(
            workspace=ws,
            candidates=[Candidate(workflow.pk, "start", c, f"k{c.pk}") for c in people],
        )
        drain()


def sent_log(run):
    return StepLog.objects.get(run=run, node_id="hello")


def test_a_chunk_writes_its_messages_in_one_insert_and_each_step_logs_its_message(
    ws, clock, django_capture_on_commit_callbacks
):
    template = email_template(ws)
    workflow = make_workflow(
        ws, chain(("start", "trigger.api", {}), ("hello", "action.email", {"template": template}))
    )
    people = contacts(ws, "a@example.test", "b@example.test", "c@example.test")
    gone = contacts(ws, "gone@example.test", email_consent="unsubscribed")[0]
    blocked = contacts(ws, "blocked@example.test")[0]
    suppression_add(workspace=ws, channel="email", address=blocked.email, reason="manual")
    everyone = [*people, gone, blocked]

    with CaptureQueriesContext(connection) as queries:
        enrol_together(ws, workflow, everyone, django_capture_on_commit_callbacks)

    inserts = [q for q in queries if q["sql"].lstrip().startswith("INSERT INTO messaging_message")]
    assert len(inserts) == 1
    for person in everyone:
        run = run_of(workflow, person)
        assert run.status == RunStatus.COMPLETED
        message = Message.objects.get(workspace=ws, contact=person)
        assert (message.source_type, message.source_id) == ("workflow", f"{run.pk}:hello")
        log = sent_log(run)
        assert log.outcome == Outcome.SENT and log.detail["message_id"] == message.pk
    status = dict(Message.objects.filter(workspace=ws).values_list("contact_id", "status"))
    assert status == {
        **{p.pk: MessageStatus.SENT for p in people},
        gone.pk: MessageStatus.SKIPPED,
        blocked.pk: MessageStatus.SUPPRESSED,
    }
    assert sorted(m.to[0] for m in mail.outbox) == sorted(p.email for p in people)


def test_the_daily_cap_holds_for_each_contact_of_a_chunk(
    ws, clock, django_capture_on_commit_callbacks
):
    template = email_template(ws)
    graph = chain(
        ("start", "trigger.api", {}),
        ("one", "action.email", {"template": template}),
        ("two", "action.email", {"template": template}),
    )
    workflow = make_workflow(ws, graph, daily_message_cap=1)
    people = contacts(ws, "a@example.test", "b@example.test", "c@example.test")
    enrol_together(ws, workflow, people, django_capture_on_commit_callbacks)
    for person in people:
        run = run_of(workflow, person)
        assert (run.status, run.current_node) == (RunStatus.WAITING, "two")
        assert Message.objects.filter(contact=person).count() == 1
    assert len(mail.outbox) == 3


def test_a_message_left_by_an_earlier_attempt_is_reused_never_duplicated(
    ws, clock, django_capture_on_commit_callbacks
):
    """A step retried after its message was committed (or another writer got there first)
    finds the row: a queued one is sent once; a skipped one makes the step 'skipped'."""
    template = email_template(ws)
    graph = chain(
        ("start", "trigger.api", {}),
        ("wait", "wait.duration", {"hours": 1}),
        ("hello", "action.email", {"template": template}),
    )
    workflow = make_workflow(ws, graph)
    fresh, earlier, skipped = contacts(ws, "f@example.test", "e@example.test", "s@example.test")
    enrol_together(ws, workflow, [fresh, earlier, skipped], django_capture_on_commit_callbacks)
    runs = {c.pk: run_of(workflow, c) for c in (fresh, earlier, skipped)}
    existing = {}
    for person in (earlier, skipped):
        existing[person.pk] = message_enqueue(
            workspace=ws,
            contact=person,
            channel="email",
            template=template,
            source_type="workflow",
            source_id=f"{runs[person.pk].pk}:hello",
        )  # outside on_commit capture: created, not sent yet
    Message.objects.filter(pk=existing[skipped.pk].pk).update(
        status=MessageStatus.SKIPPED, error="unsubscribed"
    )

    clock.shift(timedelta(hours=1, minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        drain()

    assert Message.objects.filter(workspace=ws).count() == 3
    earlier_log, skipped_log = sent_log(runs[earlier.pk]), sent_log(runs[skipped.pk])
    assert earlier_log.outcome == Outcome.SENT
    assert earlier_log.detail["message_id"] == existing[earlier.pk].pk
    assert skipped_log.outcome == "skipped"
    assert skipped_log.detail["message_id"] == existing[skipped.pk].pk
    assert sent_log(runs[fresh.pk]).outcome == Outcome.SENT
    assert sorted(m.to[0] for m in mail.outbox) == ["e@example.test", "f@example.test"]
    for run in runs.values():
        run.refresh_from_db()
        assert run.status == RunStatus.COMPLETED
