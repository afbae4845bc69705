"""The recovery sweep for sends whose worker died (messaging.services.dispatch.messages_recover).

A row in 'sending' that was never handed to the provider is queued again and sent once; one
handed over with no recorded answer is failed with the reason "outcome unknown", never resent;
a queued row whose task was lost is published again. The real-worker versions (kill -9 at each
point) are in test_fault_sends.py.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.models import Message, MessageStatus
from messaging.services.dispatch import messages_recover, send_unknown_after
from messaging.services.sending import OUTCOME_UNKNOWN, messages_release


def _message(ws, contact, template, status, **fields):
    message = Message.objects.create(
        workspace=ws,
        contact=contact,
        channel="email",
        email_version=template.current_version,
        source_type="workflow",
        source_id=f"r:{status}:{len(fields)}",
        status=status,
        **{k: v for k, v in fields.items() if k != "age"},
    )
    Message.objects.filter(pk=message.pk).update(updated_at=timezone.now() - fields["age"])
    return message


@pytest.fixture
def claim():
    import uuid

    return uuid.uuid4()


def test_a_claimed_row_never_handed_over_is_sent_exactly_once_after_its_lease(
    ws, contact, template, smtp_settings, django_capture_on_commit_callbacks, settings, claim
):
    stuck = _message(
        ws, contact, template, MessageStatus.SENDING, send_claim=claim, age=timedelta(minutes=1)
    )
    fresh = _message(
        ws, contact, template, MessageStatus.SENDING, send_claim=claim, age=timedelta(seconds=1),
        meta={"n": 1},
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        counts = messages_recover()
    assert counts["requeued"] == 1
    smtp_settings.wait_for(1)
    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert stuck.status == MessageStatus.SENT and stuck.to_address == contact.email
    assert fresh.status == MessageStatus.SENDING  # its task is alive (lease renewed)
    assert smtp_settings.recipients() == [contact.email]


def test_a_row_handed_to_the_provider_without_an_answer_is_failed_not_resent(
    ws, contact, template, smtp_settings, django_capture_on_commit_callbacks, claim
):
    gone = send_unknown_after() + timedelta(seconds=1)
    called = _message(
        ws, contact, template, MessageStatus.SENDING, send_claim=claim,
        provider_called_at=timezone.now() - gone, age=gone,
    )  # fmt: skip
    recent = _message(
        ws, contact, template, MessageStatus.SENDING, send_claim=claim,
        provider_called_at=timezone.now(), age=timedelta(minutes=1), meta={"n": 1},
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        counts = messages_recover()
    assert counts == {"requeued": 0, "unknown": 1, "republished": 0}
    called.refresh_from_db()
    recent.refresh_from_db()
    assert called.status == MessageStatus.FAILED and called.error == OUTCOME_UNKNOWN
    assert recent.status == MessageStatus.SENDING  # its task may still be waiting for the answer
    assert smtp_settings.recipients() == []


def test_a_queued_row_whose_task_was_lost_is_published_again(
    ws, contact, template, smtp_settings, django_capture_on_commit_callbacks, settings
):
    lost = _message(
        ws, contact, template, MessageStatus.QUEUED,
        age=timedelta(seconds=settings.MESSAGING_QUEUED_RESCUE + 1),
    )  # fmt: skip
    _message(ws, contact, template, MessageStatus.QUEUED, age=timedelta(0), meta={"n": 1})
    with django_capture_on_commit_callbacks(execute=True):
        assert messages_recover()["republished"] == 1
    smtp_settings.wait_for(1)
    lost.refresh_from_db()
    assert lost.status == MessageStatus.SENT


def test_releasing_a_claim_queues_only_what_was_not_handed_over(ws, contact, template, claim):
    untouched = _message(
        ws, contact, template, MessageStatus.SENDING, send_claim=claim, age=timedelta(0)
    )
    called = _message(
        ws, contact, template, MessageStatus.SENDING, send_claim=claim,
        provider_called_at=timezone.now(), age=timedelta(0), meta={"n": 1},
    )  # fmt: skip
    assert messages_release(workspace=ws, claim=claim) == [untouched.pk]
    called.refresh_from_db()
    assert called.status == MessageStatus.SENDING


def test_a_batch_that_hits_its_soft_time_limit_records_what_went_out_and_gives_back_the_rest(
    ws, template, smtp_settings, monkeypatch, django_capture_on_commit_callbacks
):
    from celery.exceptions import SoftTimeLimitExceeded

    from messaging.channels import email as email_channel
    from messaging.services.sending import messages_send

    from .conftest import make_contact

    people = [make_contact(ws, email=f"t{i}@example.com") for i in range(4)]
    ids = [
        Message.objects.create(
            workspace=ws, contact=p, channel="email", email_version=template.current_version,
            source_type="workflow", source_id=f"soft:{p.pk}",
        ).pk
        for p in people
    ]  # fmt: skip
    real_send, calls = email_channel.send, []

    def send(message):
        calls.append(message)
        if len(calls) == 2:
            real_send(message)  # the provider has it; the limit strikes before the answer
            raise SoftTimeLimitExceeded()
        return real_send(message)

    monkeypatch.setattr(email_channel, "send", send)
    with django_capture_on_commit_callbacks(execute=False) as requeued:
        outcome = messages_send(workspace=ws, message_ids=ids)
    assert (outcome.sent, outcome.deferred) == (1, 2)
    rows = {m.pk: m for m in Message.objects.filter(pk__in=ids)}
    assert rows[ids[0]].status == MessageStatus.SENT
    assert rows[ids[1]].status == MessageStatus.FAILED and rows[ids[1]].error == OUTCOME_UNKNOWN
    assert [rows[pk].status for pk in ids[2:]] == [MessageStatus.QUEUED] * 2
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        for callback in requeued:
            callback()  # the released rows' send task
    assert sorted(smtp_settings.recipients()) == [f"t{i}@example.com" for i in range(4)]
    assert Message.objects.filter(pk__in=ids, status=MessageStatus.SENT).count() == 3
