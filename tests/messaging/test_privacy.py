"""Export and erasure of a contact; the suppression survives as a hash."""

from __future__ import annotations

import json

import pytest

from contacts.models import Contact, Event
from messaging.models import ConsentLog, Message, Suppression
from messaging.models.audience import address_hash
from messaging.privacy import contact_erase, contact_export
from messaging.services import contact_unsubscribe, message_enqueue, suppression_add
from workspaces.models import AuditLogEntry

from .conftest import make_contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(ws, contact, template, smtp_settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message_enqueue(
            workspace=ws,
            contact=contact,
            channel="email",
            template=template,
            source_type="workflow",
            source_id="p:1",
        )
    with django_capture_on_commit_callbacks(execute=True):
        contact_unsubscribe(workspace=ws, contact=contact, source="one_click")
    return contact


def test_the_export_holds_profile_events_messages_and_consent(ws, history):
    data = contact_export(workspace=ws, contact=history)
    json.dumps(data)  # JSON-ready
    assert data["profile"]["email"] == "ada@example.com"
    assert {"email.sent", "email.unsubscribed"} <= {e["name"] for e in data["events"]}
    assert data["messages"][0]["subject"] == "Welcome, Ada"
    assert data["consent_log"][0]["status"] == "unsubscribed"


def test_erasure_removes_the_person_and_keeps_only_a_hash_that_still_suppresses(
    ws, owner, history, template, smtp_settings, django_capture_on_commit_callbacks
):
    suppression_add(workspace=ws, channel="email", address="ada@example.com", reason="complaint")
    report = contact_erase(workspace=ws, contact=history, actor=owner)
    assert report.messages == 1 and report.events >= 2
    assert not Contact.objects.filter(pk=history.pk).exists()
    assert not Event.objects.filter(workspace=ws, contact_id=history.pk).exists()
    assert not Message.objects.filter(workspace=ws, contact_id=history.pk).exists()
    assert not ConsentLog.objects.filter(workspace=ws).exclude(status="erased").exists()
    kept = Suppression.objects.get(workspace=ws, channel="email")
    assert kept.address == "" and kept.address_hash == address_hash("ada@example.com")
    entry = AuditLogEntry.objects.get(workspace=ws, action="contact.erased")
    assert "ada" not in json.dumps(entry.data) + entry.target

    # The same person imported again is still not written to.
    again = make_contact(ws, email="ada@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        message = message_enqueue(
            workspace=ws,
            contact=again,
            channel="email",
            template=template,
            source_type="workflow",
            source_id="p:2",
        )
    message.refresh_from_db()
    assert message.status == "suppressed"


def test_an_unsubscribed_contact_leaves_an_unsubscribed_hash(ws, history):
    contact_erase(workspace=ws, contact=history)
    kept = Suppression.objects.get(workspace=ws, channel="email")
    assert kept.reason == "unsubscribed" and kept.address == ""


def test_erasure_in_one_workspace_leaves_another_alone(ws, other_ws, history):
    twin = make_contact(other_ws, email="ada@example.com")
    contact_erase(workspace=ws, contact=history)
    assert Contact.objects.filter(pk=twin.pk).exists()
    assert not Suppression.objects.filter(workspace=other_ws).exists()
