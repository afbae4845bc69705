"""PostgreSQL drops the application's connections (pg_terminate_backend) while /v1/batch is
posted continuously — first every backend of the web processes, then every backend of the
worker: requests and tasks go on with new connections, no batch is half-stored, and every
accepted event goes through the pipeline.

Real processes with the production connection handling (Django's pool on): gunicorn and a
Celery worker, their backends told apart by application_name (PGAPPNAME).
"""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
from django.db import connection

from contacts.models import Event, PendingProcessing
from segments.selectors import segment_member_ids
from segments.services import segment_create
from tests.support.processes import BatchPoster, running_web
from tests.support.worker import running_worker, wait_for

pytestmark = [pytest.mark.integration]

# The pool and the rest of the production connection handling, with DEBUG off.
POOLED = {"DJANGO_SETTINGS_MODULE": "config.settings.local", "DEBUG": "false"}
WEB, WORKER = "tendril-fault-web", "tendril-fault-worker"


def _terminate(app: str) -> int:
    # Terminating another session's backend takes the operator's role (the servers connect as
    # the owner before they switch to the app role), not the app role tests run under.
    with connection.owner_role(), connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = %s AND datname = current_database()",  # not another run's
            [app],
        )
        return int(cursor.fetchone()[0])


def test_dropped_database_connections_are_replaced_and_nothing_is_half_written(
    transactional_db, tenant
):
    ws = tenant.workspace
    segment = segment_create(
        workspace=ws, name="Probed", filter={"all": [{"event": "Fault Probe"}]}
    )
    with (
        running_web(extra_env={"PGAPPNAME": WEB}) as url,
        running_worker(pool="prefork", extra_env={**POOLED, "PGAPPNAME": WORKER}),
    ):
        poster = BatchPoster(url, tenant.write_key).start()
        cuts = []
        try:
            for app in (WEB, WORKER):
                wait_for(lambda: len(poster.answers) >= 5, message="traffic")
                # (a worker's connection comes and goes between tasks: cut it while it is there)
                wait_for(lambda: _terminate(app) >= 1, message=f"{app}'s connections cut")  # noqa: B023
                cut = time.monotonic()
                cuts.append(cut)
                wait_for(
                    lambda: poster.answered_since(cut) >= 10,  # noqa: B023 — waited for here
                    timeout=30,
                    message=f"requests answered after {app}'s connections were dropped",
                )
        finally:
            poster.finish()

        answers = poster.answers
        failed = [(status, body) for _, status, body, _ in answers if status != 200]
        # Idle pooled connections are checked before use and replaced; only a request whose
        # connection died mid-query (at most one per web process: 2) fails, with a 503 a
        # client retries — never a 500 or a dropped connection.
        for status, body in failed:
            assert status == 503, (status, body)
            assert json.loads(body)["error"]["code"] == "unavailable"
        assert len(failed) <= 2, f"more than the requests in flight failed: {failed}"
        assert all(status == 200 for at, status, _, _ in answers[-10:])

        accepted = [mid for _, status, _, ids in answers if status == 200 for mid in ids]
        refused = {mid for _, status, _, ids in answers if status != 200 for mid in ids}

        def processed() -> bool:
            members = set(segment_member_ids(segment=segment))
            return len(members) >= len(accepted) and not PendingProcessing.objects.exists()

        wait_for(processed, timeout=120, interval=0.5, message="every accepted event processed")

    stored = Counter(
        Event.objects.filter(workspace=ws, name="Fault Probe").values_list("message_id", flat=True)
    )
    assert all(n == 1 for n in stored.values())
    assert set(accepted) <= set(stored)
    # A failed batch is stored whole or not at all (a client retries it: messageIds dedupe).
    for _, status, _, ids in answers:
        if status != 200:
            assert len({mid for mid in ids if mid in stored}) in (0, len(ids)), ids
    assert set(stored) - set(accepted) <= refused
    members = set(segment_member_ids(segment=segment))
    contacts = set(
        Event.objects.filter(workspace=ws, name="Fault Probe").values_list("contact_id", flat=True)
    )
    assert members == contacts
