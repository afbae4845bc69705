"""Sending email over a real SMTP socket: headers, personalisation, idempotency, failures."""

from __future__ import annotations

from unittest import mock

import pytest
from celery.exceptions import Retry

from contacts.models import Event
from messaging.models import Message, MessageStatus, Suppression
from messaging.services import message_enqueue, sending
from messaging.tasks import messages_send_task

from .conftest import make_contact

pytestmark = pytest.mark.django_db


def enqueue(ws, contact, template, source_id="run-1:node-1", **kwargs):
    return message_enqueue(
        workspace=ws,
        contact=contact,
        channel="email",
        template=template,
        source_type="workflow",
        source_id=source_id,
        **kwargs,
    )


def test_a_workflow_message_arrives_at_the_sink_correct_in_every_header(
    ws, contact, template, smtp_settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue(ws, contact, template)
    [received] = smtp_settings.wait_for(1)
    message.refresh_from_db()

    assert message.status == MessageStatus.SENT
    assert smtp_settings.recipients() == ["ada@example.com"]
    assert received["From"] == "Acme News <news@acme.test>"
    assert received["Reply-To"] == "help@acme.test"
    assert received["Subject"] == "Welcome, Ada"
    assert received["Message-ID"] == message.provider_message_id
    assert received["Message-ID"].endswith("@tendril.local>")
    unsubscribe = received["List-Unsubscribe"]
    assert "<https://app.tendril.test/m/u/" in unsubscribe and "<mailto:unsubscribe@" in unsubscribe
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    assert received.get_content_type() == "multipart/alternative"
    text = received.get_body(("plain",)).get_content()
    html = received.get_body(("html",)).get_content()
    assert "Hello Ada" in html and "Your plan: pro." in html
    assert "Hello Ada" in text and "Your plan: pro." in text
    assert 'style="color: #0f766e;"' in html  # CSS inlined when the version was saved
    assert "@media (max-width: 600px)" in html  # …and media queries kept in <style>
    assert "https://example.com/pricing" not in html  # links go through the click tracker
    assert "https://app.tendril.test/m/c/" in html and "https://app.tendril.test/m/c/" in text
    assert "https://app.tendril.test/m/o/" in html  # open pixel
    assert "1 Example Street" not in html  # not the sample address: the workspace's own
    event = Event.objects.get(workspace=ws, contact=contact, name="email.sent")
    assert event.properties["message_id"] == message.pk


def test_a_task_that_fails_after_the_provider_call_is_retried_without_sending_twice(
    ws, contact, template, smtp_settings, django_capture_on_commit_callbacks
):
    real_record = sending._record_sent
    calls = {"n": 0}

    def fail_once(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database hiccup after the provider accepted the message")
        return real_record(*args, **kwargs)

    with mock.patch.object(sending, "_record_sent", side_effect=fail_once):
        # The task fails after the provider call; Celery schedules a retry.
        with pytest.raises(Retry), django_capture_on_commit_callbacks(execute=True):
            enqueue(ws, contact, template)
        message = Message.objects.get(workspace=ws)
        assert message.status == MessageStatus.SENT
        messages_send_task.delay(ws.pk, [message.pk])  # the retry, as the broker delivers it
        messages_send_task.delay(ws.pk, [message.pk])  # and a duplicate delivery
    assert calls["n"] == 3
    assert len(smtp_settings.messages) == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert Event.objects.filter(workspace=ws, name="email.sent").count() == 1


def test_enqueueing_the_same_source_twice_gives_the_same_message(
    ws, contact, template, smtp_settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = enqueue(ws, contact, template)
    with django_capture_on_commit_callbacks(execute=True):
        second = enqueue(ws, contact, template)
    assert first.pk == second.pk
    assert len(smtp_settings.wait_for(1)) == 1
    assert Message.objects.filter(workspace=ws).count() == 1


def test_one_smtp_connection_serves_many_tasks(
    ws, template, smtp_settings, django_capture_on_commit_callbacks
):
    for index in range(3):
        person = make_contact(ws, email=f"p{index}@example.com")
        with django_capture_on_commit_callbacks(execute=True):
            enqueue(ws, person, template, source_id=f"run-{index}:n")
    smtp_settings.wait_for(3)
    assert smtp_settings.handler.connections == 1


def test_context_personalises_with_the_triggering_event(
    ws, contact, layout, smtp_settings, django_capture_on_commit_callbacks
):
    from .conftest import make_template

    cart = make_template(
        ws,
        layout,
        name="Cart",
        subject="You left {{ event.properties.cart_items|length }} items",
        html=(
            "<ul>{% for item in event.properties.cart_items %}"
            "<li>{{ item.name }} × {{ item.quantity }}</li>{% endfor %}</ul>"
        ),
    )
    context = {
        "event": {
            "name": "Cart Abandoned",
            "properties": {
                "cart_items": [
                    {"name": "Widget", "quantity": 2},
                    {"name": "<Gadget>", "quantity": 1},
                ]
            },
        }
    }
    with django_capture_on_commit_callbacks(execute=True):
        enqueue(ws, contact, cart, context=context)
    [received] = smtp_settings.wait_for(1)
    html = received.get_body(("html",)).get_content()
    assert received["Subject"] == "You left 2 items"
    assert "<li>Widget × 2</li>" in html
    assert "&lt;Gadget&gt;" in html  # autoescaped


@pytest.mark.parametrize(
    ("consent", "reason"),
    [("unsubscribed", "unsubscribed"), ("pending", "consent_pending")],
)
def test_contacts_without_consent_are_skipped_at_send_time(
    ws, template, smtp_settings, django_capture_on_commit_callbacks, consent, reason
):
    person = make_contact(ws, email="no@example.com", email_consent=consent)
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue(ws, person, template)
    message.refresh_from_db()
    assert (message.status, message.error) == (MessageStatus.SKIPPED, reason)
    assert smtp_settings.messages == []


def test_a_suppressed_address_is_not_sent_to(
    ws, contact, template, smtp_settings, django_capture_on_commit_callbacks
):
    from messaging.services import suppression_add

    suppression_add(workspace=ws, channel="email", address="ADA@example.com", reason="manual")
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue(ws, contact, template)
    message.refresh_from_db()
    assert message.status == MessageStatus.SUPPRESSED
    assert smtp_settings.messages == []


def test_a_hard_bounce_at_the_smtp_server_suppresses_the_address(
    ws, template, smtp_settings, django_capture_on_commit_callbacks
):
    person = make_contact(ws, email="gone@example.com")
    smtp_settings.handler.reject["gone@example.com"] = "550 5.1.1 no such user"
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue(ws, person, template)
    message.refresh_from_db()
    assert message.status == MessageStatus.BOUNCED and "550" in message.error
    suppression = Suppression.objects.get(workspace=ws, address="gone@example.com")
    assert suppression.reason == "hard_bounce" and suppression.active
    assert Event.objects.filter(contact=person, name="email.bounced").exists()


def test_a_transient_failure_is_retried_later_with_backoff(
    ws, template, smtp_settings, django_capture_on_commit_callbacks
):
    person = make_contact(ws, email="busy@example.com")
    smtp_settings.handler.reject["busy@example.com"] = "451 4.3.0 try again later"
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue(ws, person, template)
    message.refresh_from_db()
    assert message.status == MessageStatus.SCHEDULED
    assert message.attempts == 1 and message.send_after is not None
    assert "451" in message.error
