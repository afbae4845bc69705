"""ESP delivery feedback through django-anymail: a real Postmark webhook payload posted to
anymail's view, and the `tracking` signal sent as anymail sends it."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from anymail.signals import AnymailTrackingEvent, tracking

from contacts.models import Event
from messaging.models import Message, MessageStatus, Suppression
from messaging.services import message_enqueue

from .conftest import make_contact

pytestmark = pytest.mark.django_db

AUTH = "hook:s3cret"


@pytest.fixture
def sent(ws, contact, template, smtp_settings, django_capture_on_commit_callbacks, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": AUTH}
    with django_capture_on_commit_callbacks(execute=True):
        message = message_enqueue(
            workspace=ws,
            contact=contact,
            channel="email",
            template=template,
            source_type="workflow",
            source_id="esp:1",
        )
    smtp_settings.wait_for(1)
    message.refresh_from_db()
    return message


def post_postmark(client, payload, auth=AUTH):
    headers = (
        {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(auth.encode()).decode()} if auth else {}
    )
    return client.post(
        "/m/esp/postmark/tracking/",
        data=json.dumps(payload),
        content_type="application/json",
        **headers,
    )


def test_a_postmark_delivery_webhook_marks_the_message_delivered(client, sent):
    response = post_postmark(
        client,
        {
            "RecordType": "Delivery",
            "ServerID": 23,
            "MessageStream": "outbound",
            "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
            "Recipient": "ada@example.com",
            "DeliveredAt": "2025-01-05T16:33:54.9070259Z",
            "Details": "250 OK",
            "Metadata": {"tendril_message": f"{sent.workspace_id}.{sent.pk}"},
        },
    )
    assert response.status_code == 200
    sent.refresh_from_db()
    assert sent.status == MessageStatus.DELIVERED and sent.delivered_at is not None
    assert Event.objects.filter(contact=sent.contact, name="email.delivered").exists()


def test_a_postmark_hard_bounce_suppresses_the_address_for_good(client, sent):
    post_postmark(
        client,
        {
            "RecordType": "Bounce",
            "ID": 42,
            "Type": "HardBounce",
            "TypeCode": 1,
            "Name": "Hard bounce",
            "MessageID": "x",
            "Description": "unknown user",
            "Details": "550 5.1.1 user unknown",
            "Email": "ada@example.com",
            "BouncedAt": "2025-01-05T16:33:54Z",
            "Inactive": True,
            "Metadata": {"tendril_message": f"{sent.workspace_id}.{sent.pk}"},
        },
    )
    sent.refresh_from_db()
    assert sent.status == MessageStatus.BOUNCED and sent.meta["bounce"] == "hard"
    suppression = Suppression.objects.get(workspace=sent.workspace, address="ada@example.com")
    assert suppression.reason == "hard_bounce" and suppression.active


def test_a_webhook_without_the_secret_is_refused(client, sent):
    response = post_postmark(
        client,
        {
            "RecordType": "Delivery",
            "MessageID": "x",
            "Recipient": "ada@example.com",
            "DeliveredAt": "2025-01-05T16:33:54Z",
            "Metadata": {"tendril_message": f"{sent.workspace_id}.{sent.pk}"},
        },
        auth="hook:wrong",
    )
    assert response.status_code in (400, 401, 403)
    sent.refresh_from_db()
    assert sent.status == MessageStatus.SENT


def signal(event_type, *, message=None, message_id=None, **fields):
    event = AnymailTrackingEvent(
        event_type=event_type,
        timestamp=datetime(2025, 1, 5, 12, tzinfo=UTC),
        message_id=message_id,
        metadata={"tendril_message": f"{message.workspace_id}.{message.pk}"} if message else {},
        recipient=fields.pop("recipient", None),
        **fields,
    )
    tracking.send(sender=object, event=event, esp_name="TestESP")


def test_soft_bounces_suppress_only_after_the_limit(
    ws, template, smtp_settings, settings, django_capture_on_commit_callbacks
):
    settings.MESSAGING_SOFT_BOUNCE_LIMIT = 3
    person = make_contact(ws, email="full@example.com")
    for index in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            message = message_enqueue(
                workspace=ws,
                contact=person,
                channel="email",
                template=template,
                source_type="workflow",
                source_id=f"soft:{index}",
            )
        message.refresh_from_db()
        assert message.status == MessageStatus.SENT  # not suppressed before the limit
        signal(
            "bounced",
            message=message,
            mta_response="452 4.2.2 mailbox full",
            recipient="full@example.com",
            esp_event={"Type": "SoftBounce"},
        )
    suppression = Suppression.objects.get(workspace=ws, address="full@example.com")
    assert suppression.soft_bounce_count == 3 and suppression.active
    with django_capture_on_commit_callbacks(execute=True):
        blocked = message_enqueue(
            workspace=ws,
            contact=person,
            channel="email",
            template=template,
            source_type="workflow",
            source_id="soft:after",
        )
    blocked.refresh_from_db()
    assert blocked.status == MessageStatus.SUPPRESSED


def test_a_complaint_suppresses_and_unsubscribes(sent):
    signal("complained", message=sent)
    contact = sent.contact
    contact.refresh_from_db()
    assert contact.email_consent == "unsubscribed"
    assert (
        Suppression.objects.get(workspace=sent.workspace, address="ada@example.com").reason
        == "complaint"
    )
    assert Event.objects.filter(contact=contact, name="email.complained").exists()


def test_esp_opens_and_clicks_find_the_message_by_its_provider_id(sent):
    signal("opened", message_id=sent.provider_message_id)
    signal("clicked", message_id=sent.provider_message_id, click_url="https://example.com/a")
    sent.refresh_from_db()
    assert sent.opened_at is not None and sent.clicked_at is not None
    names = list(Event.objects.filter(contact=sent.contact).values_list("name", flat=True))
    assert names.count("email.opened") == 1 and "email.clicked" in names


def test_an_event_for_an_unknown_message_is_ignored(sent):
    signal("delivered", message_id="<nobody@nowhere>")
    assert Message.objects.get(pk=sent.pk).status == MessageStatus.SENT
