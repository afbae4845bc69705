"""messages_enqueue_many: many recipients of one template, set-based, with the guarantees of
message_enqueue — one row per (source, contact) before any provider call, every send-time
check applied to each message of the batch."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import Event
from messaging.models import Message, MessageStatus
from messaging.services import (
    MessageSpec,
    messages_enqueue_many,
    messaging_settings_update,
    suppression_add,
)
from messaging.tasks import messages_send_task
from workspaces.errors import ValidationFailed

from .conftest import make_contact

pytestmark = pytest.mark.django_db


def enqueue_many(ws, template, items, **kwargs):
    return messages_enqueue_many(
        workspace=ws,
        channel="email",
        template=template,
        source_type="workflow",
        items=items,
        **kwargs,
    )


def people(ws, n, prefix="p", **fields):
    return [make_contact(ws, email=f"{prefix}{i}@example.com", **fields) for i in range(n)]


def test_one_insert_creates_every_row_and_one_task_per_batch_sends_them(
    ws, template, smtp_settings, settings, django_capture_on_commit_callbacks
):
    settings.MESSAGING_SEND_BATCH_SIZE = 2
    contacts = people(ws, 5)
    items = [MessageSpec(contact=c, source_id=f"run-{c.pk}:hello") for c in contacts]
    real_delay = messages_send_task.delay
    with (
        mock.patch.object(messages_send_task, "delay", side_effect=real_delay) as delay,
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        results = enqueue_many(ws, template, items)
    inserts = [q for q in queries if q["sql"].lstrip().startswith("INSERT INTO messaging_message")]
    assert len(inserts) == 1
    assert [r.created for r in results] == [True] * 5
    assert delay.call_count == 3  # 5 messages in batches of 2
    smtp_settings.wait_for(5)
    assert sorted(smtp_settings.recipients()) == sorted(c.email for c in contacts)
    rows = Message.objects.filter(workspace=ws).order_by("pk")
    assert [m.pk for m in rows] == [r.message_id for r in results]
    assert {m.status for m in rows} == {MessageStatus.SENT}
    assert {(m.source_type, m.source_id) for m in rows} == {
        ("workflow", f"run-{c.pk}:hello") for c in contacts
    }
    assert Event.objects.filter(workspace=ws, name="email.sent").count() == 5


def test_a_retried_batch_finds_its_rows_and_sends_nothing_twice(
    ws, template, smtp_settings, django_capture_on_commit_callbacks
):
    contacts = people(ws, 3)
    items = [MessageSpec(contact=c, source_id=f"run-{c.pk}:hello") for c in contacts]
    with django_capture_on_commit_callbacks(execute=True):
        first = enqueue_many(ws, template, items)
    smtp_settings.wait_for(3)
    # The caller is retried (a worker died after its commit): same items, one more recipient.
    late = make_contact(ws, email="late@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        second = enqueue_many(
            ws, template, [*items, MessageSpec(contact=late, source_id="run-late:hello")]
        )
    assert [r.message_id for r in second[:3]] == [r.message_id for r in first]
    assert [(r.created, r.status) for r in second[:3]] == [(False, "sent")] * 3
    assert second[3].created and second[3].status == "queued"
    smtp_settings.wait_for(4)
    assert sorted(smtp_settings.recipients()) == sorted(c.email for c in [*contacts, late])
    assert Message.objects.filter(workspace=ws).count() == 4
    assert Event.objects.filter(workspace=ws, name="email.sent").count() == 4


def test_the_same_source_twice_in_one_batch_is_one_message(
    ws, template, smtp_settings, django_capture_on_commit_callbacks
):
    [person] = people(ws, 1)
    item = MessageSpec(contact=person, source_id="run-1:hello")
    with django_capture_on_commit_callbacks(execute=True):
        results = enqueue_many(ws, template, [item, item])
    assert results[0].message_id == results[1].message_id
    assert [r.created for r in results] == [True, False]
    assert len(smtp_settings.wait_for(1)) == 1
    assert Message.objects.filter(workspace=ws).count() == 1


def test_consent_and_suppression_are_checked_for_each_message_of_the_batch(
    ws, template, smtp_settings, django_capture_on_commit_callbacks
):
    welcome = make_contact(ws, email="yes@example.com")
    gone = make_contact(ws, email="no@example.com", email_consent="unsubscribed")
    pending = make_contact(ws, email="maybe@example.com", email_consent="pending")
    blocked = make_contact(ws, email="blocked@example.com")
    suppression_add(workspace=ws, channel="email", address="blocked@example.com", reason="manual")
    contacts = [welcome, gone, pending, blocked]
    with django_capture_on_commit_callbacks(execute=True):
        results = enqueue_many(
            ws, template, [MessageSpec(contact=c, source_id=f"r{c.pk}:n") for c in contacts]
        )
    smtp_settings.wait_for(1)
    outcome = {
        m.contact_id: (m.status, m.error)
        for m in Message.objects.filter(pk__in=[r.message_id for r in results])
    }
    assert outcome == {
        welcome.pk: ("sent", ""),
        gone.pk: ("skipped", "unsubscribed"),
        pending.pk: ("skipped", "consent_pending"),
        blocked.pk: ("suppressed", "suppressed"),
    }
    assert smtp_settings.recipients() == ["yes@example.com"]


def test_the_frequency_cap_counts_the_messages_of_the_same_batch(
    ws, template, smtp_settings, django_capture_on_commit_callbacks
):
    messaging_settings_update(workspace=ws, frequency_cap_count=2, frequency_cap_days=7)
    busy, calm = make_contact(ws, email="busy@example.com"), make_contact(ws, email="c@example.com")
    items = [MessageSpec(contact=busy, source_id=f"run-{i}:n") for i in range(3)]
    items.append(MessageSpec(contact=calm, source_id="run-9:n"))
    with django_capture_on_commit_callbacks(execute=True):
        results = enqueue_many(ws, template, items)
    smtp_settings.wait_for(3)
    statuses = [
        Message.objects.values_list("status", "error").get(pk=r.message_id) for r in results
    ]
    assert statuses == [("sent", ""), ("sent", ""), ("skipped", "frequency_cap"), ("sent", "")]
    assert sorted(smtp_settings.recipients()) == sorted(
        ["busy@example.com", "busy@example.com", "c@example.com"]
    )


def test_a_later_send_after_schedules_instead_of_sending(
    ws, template, smtp_settings, django_capture_on_commit_callbacks
):
    later, now_ = make_contact(ws, email="later@example.com"), make_contact(ws, email="n@x.com")
    when = timezone.now() + timedelta(hours=3)
    with django_capture_on_commit_callbacks(execute=True):
        results = enqueue_many(
            ws,
            template,
            [
                MessageSpec(contact=later, source_id="a:n", send_after=when),
                MessageSpec(contact=now_, source_id="b:n"),
            ],
        )
    assert [r.status for r in results] == ["scheduled", "queued"]
    smtp_settings.wait_for(1)
    assert smtp_settings.recipients() == ["n@x.com"]
    held = Message.objects.get(pk=results[0].message_id)
    assert held.status == MessageStatus.SCHEDULED and held.send_after == when


def test_another_workspaces_contact_refuses_the_whole_batch(ws, other_ws, template):
    mine = make_contact(ws, email="mine@example.com")
    theirs = make_contact(other_ws, email="theirs@example.com")
    with pytest.raises(ValidationFailed) as refused:
        enqueue_many(
            ws,
            template,
            [
                MessageSpec(contact=mine, source_id="a:n"),
                MessageSpec(contact=theirs, source_id="b:n"),
            ],
        )
    assert "contact" in refused.value.fields
    assert not Message.objects.exists()


def test_an_unknown_template_is_refused_naming_the_field(ws):
    mine = make_contact(ws, email="mine@example.com")
    with pytest.raises(ValidationFailed) as refused:
        enqueue_many(ws, 999_999, [MessageSpec(contact=mine, source_id="a:n")])
    assert "template" in refused.value.fields
    assert not Message.objects.exists()
