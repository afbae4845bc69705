"""Redis dies (kill -9, no persistence) and comes back while /v1/batch is posted continuously:
ingestion keeps answering 200, and every event answered 200 is stored exactly once and goes
through the pipeline (its contact enters the segment, once) after Redis is back.

Real processes on a private Redis (the machine's shared one is never touched): gunicorn, a
Celery worker and celery beat (whose recovery sweep republishes the pipeline work the
restart lost). Design (docs/ingestion.md "When Redis is down"): an accepted event is on
record in PostgreSQL with its pipeline work before the 200; Redis only carries the task, the
key cache and the rate-limit counters, so without it the key is looked up in PostgreSQL and
the per-key limit is not counted.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from contacts.models import Event, PendingProcessing
from segments.selectors import segment_member_ids
from segments.services import segment_create
from tests.support.processes import BatchPoster, PrivateRedis, running_beat, running_web
from tests.support.worker import running_worker, wait_for

pytestmark = [pytest.mark.integration]

# Pipeline work whose task the restart lost is republished after this many seconds.
RESCUE = {"EVENTS_PROCESSING_RESCUE": "3"}


def test_a_redis_restart_during_ingestion_loses_and_duplicates_no_accepted_event(
    transactional_db, tenant
):
    ws = tenant.workspace
    segment = segment_create(
        workspace=ws, name="Probed", filter={"all": [{"event": "Fault Probe"}]}
    )
    redis = PrivateRedis().start()
    # Broker, cache, key cache and rate-limit counters all follow REDIS_URL.
    web_env = {**RESCUE, "REDIS_URL": redis.url, "CELERY_BROKER_URL": redis.url}
    try:
        with (
            running_web(extra_env=web_env) as url,
            running_worker(pool="prefork", extra_env=RESCUE, broker_url=redis.url, purge=False),
            running_beat(extra_env=web_env),
        ):
            poster = BatchPoster(url, tenant.write_key).start()
            try:
                wait_for(lambda: len(poster.answers) >= 5, timeout=30, message="traffic")
                redis.kill()
                down = time.monotonic()
                wait_for(
                    lambda: poster.answered_since(down) >= 5,
                    timeout=30,
                    message="requests answered while Redis is down",
                )
                redis.start()
                up = time.monotonic()
                wait_for(
                    lambda: poster.answered_since(up) >= 5,
                    timeout=30,
                    message="requests answered after Redis is back",
                )
            finally:
                poster.finish()

            statuses = Counter(answer[1] for answer in poster.answers)
            during = [s for at, s, _, _ in poster.answers if down < at <= up]
            assert set(statuses) == {200}, f"answers: {statuses}; while down: {during}"
            accepted = [mid for _, status, _, ids in poster.answers if status == 200 for mid in ids]

            def processed() -> bool:
                members = set(segment_member_ids(segment=segment))
                return len(members) == len(accepted) and not PendingProcessing.objects.exists()

            wait_for(processed, timeout=45, interval=0.5, message="every accepted event processed")
    finally:
        redis.stop()

    events = Event.objects.filter(workspace=ws, name="Fault Probe")
    stored = Counter(events.values_list("message_id", flat=True))
    assert stored == dict.fromkeys(accepted, 1)  # each accepted event once, nothing else
    contacts = set(events.values_list("contact_id", flat=True))
    assert set(segment_member_ids(segment=segment)) == contacts
    entered = Counter(
        Event.objects.filter(workspace=ws, name="segment.entered").values_list(
            "contact_id", flat=True
        )
    )
    assert entered == dict.fromkeys(contacts, 1)  # the pipeline ran each contact's event once
