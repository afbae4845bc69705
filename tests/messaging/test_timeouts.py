"""SMTP timeouts (Twilio's are in test_sms.py): a timeout before the message was handed over is retried with
backoff and the message then goes out once; a timeout after it was handed over (the server
may have queued it) fails the message as "outcome unknown" and never sends it again."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.models import Message, MessageStatus
from messaging.services.dispatch import messages_dispatch_due

pytestmark = pytest.mark.django_db


def _enqueue_email(ws, contact, template):
    from messaging.services import message_enqueue

    return message_enqueue(
        workspace=ws,
        contact=contact,
        channel="email",
        template=template,
        source_type="workflow",
        source_id="r:timeout",
    )


def _retry_now(message):
    Message.objects.filter(pk=message.pk).update(send_after=timezone.now() - timedelta(seconds=1))
    messages_dispatch_due()


def test_an_smtp_server_silent_after_the_message_fails_it_once_never_twice(
    ws, contact, template, smtp_settings, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_TIMEOUT = 1
    smtp_settings.handler.data_delay = 5  # queued it, answers too late
    with django_capture_on_commit_callbacks(execute=True):
        message = _enqueue_email(ws, contact, template)
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.error.startswith("outcome unknown") and "timed out" in message.error
    assert message.attempts == 1
    assert smtp_settings.recipients() == [contact.email]  # once, and no retry is scheduled


def test_an_smtp_server_slow_before_the_message_is_retried_and_sends_once(
    ws, contact, template, smtp_settings, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_TIMEOUT = 1
    smtp_settings.handler.ehlo_delay = 5
    with django_capture_on_commit_callbacks(execute=True):
        message = _enqueue_email(ws, contact, template)
    message.refresh_from_db()
    assert message.status == MessageStatus.SCHEDULED and message.send_after > timezone.now()
    assert smtp_settings.recipients() == []
    smtp_settings.handler.ehlo_delay = 0
    with django_capture_on_commit_callbacks(execute=True):
        _retry_now(message)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.attempts == 2
    assert smtp_settings.recipients() == [contact.email]
