"""kill -9 a worker at every point of a send batch, with more send tasks prefetched; a
replacement worker and the recovery sweep finish the job: every message reaches the SMTP sink
exactly once (counted by recipient and Message-ID) or is failed with a reason, none stays in
'sending', and the messages recorded as sent are exactly those the sink accepted.

The worker kills itself (and its pool parent) at a named point (config/faults.py), so the
kill lands exactly between the claim, the hand-over mark, the provider call and the DB write.
The broker visibility timeout and the send lease are shortened so the test does not wait a
minute; the recovery sweep (beat, every 5 s in production) is run by the test while it waits.
"""

from __future__ import annotations

from collections import Counter

import pytest

from messaging.models import Message, MessageStatus
from messaging.services import message_enqueue
from messaging.services.dispatch import messages_recover
from messaging.services.sending import OUTCOME_UNKNOWN
from tests.support.worker import FAST_RECOVERY_ENV, running_worker, smtp_env, wait_for

from .conftest import make_contact, make_template

pytestmark = [pytest.mark.integration]

SITE = "https://app.tendril.test"

FAST_RECOVERY = {
    **FAST_RECOVERY_ENV,
    "CELERY_TASK_SOFT_TIME_LIMIT": "4",
    "CELERY_TASK_TIME_LIMIT": "5",
}


@pytest.fixture
def worker_env(smtp_sink):
    return smtp_env(smtp_sink, SITE_URL=SITE, **FAST_RECOVERY)


@pytest.fixture
def fast_recovery(settings):
    """The test process runs the recovery sweep: same limits as the workers."""
    settings.MESSAGING_SEND_LEASE = 2
    settings.MESSAGING_QUEUED_RESCUE = 3
    settings.CELERY_TASK_TIME_LIMIT = 5
    settings.MESSAGING_SEND_BATCH_SIZE = 2  # three send tasks: one runs, two are prefetched


def _settled() -> bool:
    messages_recover()
    return not Message.objects.filter(
        status__in=[MessageStatus.QUEUED, MessageStatus.SENDING]
    ).exists()


# point → what becomes of the messages up to and including the one the worker died at
CASES = {
    # claimed (first task: messages 1 and 2), nothing handed over: all sent once, later
    "send.after_claim": {"unknown": 0},
    # message 1 marked as handed over, provider not called: failed with the reason, not sent
    "send.before_provider_call": {"unknown": 1, "delivered_unknown": 0},
    # message 1 accepted by the sink, the worker dies before writing it down
    "send.after_provider_call": {"unknown": 1, "delivered_unknown": 1},
    # mid-batch after some sends: 1-2 recorded (first task), 3 accepted and unrecorded
    "send.after_provider_call:3": {"unknown": 1, "delivered_unknown": 1},
}


@pytest.mark.parametrize("point", list(CASES))
def test_killing_a_worker_anywhere_in_a_send_batch_sends_each_message_once_or_fails_it(
    transactional_db, ws, layout, smtp_sink, worker_env, fast_recovery, point
):
    expected = CASES[point]
    template = make_template(ws, layout, from_email="news@acme.test")
    people = [make_contact(ws, email=f"p{i}@example.com") for i in range(6)]
    with running_worker(
        pool="prefork", extra_env={**worker_env, "TENDRIL_FAULT_POINTS": point}
    ) as doomed:
        for person in people:
            message_enqueue(
                workspace=ws,
                contact=person,
                channel="email",
                template=template,
                source_type="workflow",
                source_id=f"run-{person.pk}:hello",
            )
        wait_for(lambda: doomed.poll() is not None, timeout=60, message="the worker to die")
    messages = Message.objects.filter(workspace=ws)
    assert messages.filter(status=MessageStatus.SENDING).exists()  # the kill left work behind

    with running_worker(pool="prefork", extra_env=worker_env, purge=False):
        try:
            wait_for(_settled, timeout=90, message="every message sent or failed")
        except AssertionError:
            rows = messages.values_list("pk", "status", "provider_called_at", "updated_at")
            import redis
            from django.conf import settings

            r = redis.Redis.from_url(settings.REDIS_URL)  # the Celery broker
            redis_state = (
                r.llen("celery"),
                r.hlen("unacked"),
                r.zrange("unacked_index", 0, -1, withscores=True),
            )
            raise AssertionError(f"not settled: {list(rows)} {redis_state}") from None

    received = Counter(smtp_sink.recipients())
    assert all(n == 1 for n in received.values()), f"duplicates: {received}"
    message_ids = [m["Message-ID"] for m in smtp_sink.messages]
    assert len(message_ids) == len(set(message_ids))
    unknown = messages.filter(status=MessageStatus.FAILED)
    assert unknown.count() == expected["unknown"]
    assert all(m.error == OUTCOME_UNKNOWN for m in unknown)
    sent = messages.filter(status=MessageStatus.SENT)
    assert sent.count() + unknown.count() == len(people)
    # Stats count what the provider accepted: every 'sent' row is in the sink, under its id.
    by_recipient = {m["To"]: m["Message-ID"] for m in smtp_sink.messages}
    assert {m.to_address: m.provider_message_id for m in sent} == {
        address: mid
        for address, mid in by_recipient.items()
        if address not in {m.contact.email for m in unknown}
    }
    delivered_unknown = sum(1 for m in unknown if m.contact.email in received)
    assert delivered_unknown == expected.get("delivered_unknown", 0)
