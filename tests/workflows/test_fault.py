"""Killing a worker mid-run loses and duplicates nothing.

Two kills: (1) inside a chunk's transaction, after a Message row was written and while the
next step waits for a lock — the transaction dies with the worker; (2) during a webhook call,
made outside the transaction. Each time the runs' leases expire, the scheduler claims them
again, a new worker finishes them: every run completes, every email exists exactly once.
"""

import signal
from datetime import timedelta

import psycopg
import pytest
from django.db import connection

from contacts.models import Contact
from messaging.models import Message
from tests.support.worker import running_worker, wait_for
from workflows.engine import clock as wf_clock
from workflows.engine import scheduler
from workflows.models import RunStatus, WorkflowRun
from workflows.runs.enrolment import Candidate, enrol

from .conftest import WORKER_ENV, chain, email_template, make_workflow, until

pytestmark = [pytest.mark.integration]


def _dsn() -> str:
    from tests.support.worker import _database_url

    return _database_url()


def _worker_waits_for_lock() -> bool:
    # Other sessions' waits show only to their own role or the owner: asked as the owner.
    with connection.owner_role(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE '%contacts_contact%'"
        )
        return cursor.fetchone()[0] > 0


def _kill(proc) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


def _expire_leases() -> None:
    wf_clock.shift(timedelta(seconds=scheduler.lease_seconds() + 1))


def test_killing_workers_mid_run_loses_and_duplicates_nothing(
    transactional_db, ws, clock, receiver
):
    hello, bye = email_template(ws, name="Hello"), email_template(ws, name="Bye")
    graph = chain(
        ("start", "trigger.api", {}),
        ("hello", "action.email", {"template": hello}),
        ("tag", "action.tag_add", {"tags": ["greeted"]}),
        ("hook", "action.webhook", {"url": receiver.url}),
        ("bye", "action.email", {"template": bye}),
    )
    workflow = make_workflow(ws, graph)
    contacts = [
        Contact.objects.create(workspace=ws, email=f"c{i}@example.test", email_consent="subscribed")
        for i in range(3)
    ]

    # 1. A worker dies inside the chunk's transaction, after the "hello" Message was written.
    with psycopg.connect(_dsn()) as blocker:
        blocker.execute(
            "SELECT id FROM contacts_contact WHERE id = ANY(%s) FOR NO KEY UPDATE",
            [[c.pk for c in contacts]],
        )
        with running_worker(extra_env=WORKER_ENV) as first:
            # One enrolment call: the three runs are claimed together, one chunk, one task.
            enrol(
                workspace=ws,
                candidates=[Candidate(workflow.pk, "start", c, "fault") for c in contacts],
            )
            wait_for(_worker_waits_for_lock, message="the worker to block inside its transaction")
            _kill(first)
        blocker.rollback()
    runs = WorkflowRun.objects.filter(workflow=workflow)
    messages = Message.objects.filter(workspace=ws)
    assert not messages.exists()  # the uncommitted Message died with the worker
    assert set(runs.values_list("current_node", flat=True)) == {"start"}

    # 2. A worker dies while the webhook call is in flight (outside any transaction).
    receiver.block.clear()
    with running_worker(extra_env=WORKER_ENV) as second:
        _expire_leases()
        until(lambda: len(receiver.requests) >= 1, message="the webhook call to start")
        _kill(second)
    receiver.block.set()
    assert runs.filter(current_node="hook").count() == 3  # the chunk before the call committed
    assert messages.count() == 3  # one "hello" each

    # 3. A healthy worker finishes everything.
    with running_worker(extra_env=WORKER_ENV):
        _expire_leases()
        until(
            lambda: runs.filter(status=RunStatus.COMPLETED).count() == 3,
            timeout=40,
            message="all runs to complete",
        )

    for contact in contacts:
        run = runs.get(contact=contact)
        nodes = sorted(messages.filter(contact=contact).values_list("source_id", flat=True))
        assert nodes == [f"{run.pk}:bye", f"{run.pk}:hello"]
        contact.refresh_from_db()
        assert contact.tags == ["greeted"]
    keys = [r["headers"].get("webhook-id") for r in receiver.requests]
    # A webhook may be repeated after a crash, always with the same id (at-least-once).
    assert set(keys) == {f"msg_{run.pk}_hook" for run in runs}
