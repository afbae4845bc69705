"""kill -9 a worker at each point of a workflow chunk's life, with more chunks prefetched; a
replacement worker, the scheduler tick and the recovery sweeps finish the job: every
contact is enrolled once, every step runs once (one step log per run and node), every email
reaches the SMTP sink exactly once, and nothing is left pending.

Six contacts sign up in one event batch; the worker's pipeline enrols them and claims their
runs in chunks of two (three `execute_runs` tasks: one runs, two are prefetched). The worker
kills itself (and its pool parent) at a named point (config/faults.py):

- `workflows.claimed`: the runs are claimed, their chunks not yet published;
- `workflows.chunk_before_commit`: inside the first chunk's transaction, all written;
- `workflows.chunk_committed`: the chunk committed, its publishes (the send task, the
  pipeline task for its workflow.exited events) not made.

The runs' lease stays at its production length (5 minutes): recovery must not wait for it.
The broker visibility timeout and the rescue delays are shortened so the test does not wait a
minute; the test process plays beat (scheduler tick, send and pipeline recovery sweeps).
"""

from __future__ import annotations

from collections import Counter

import pytest
import redis
from django.conf import settings

from contacts.models import Contact, Event, PendingProcessing
from contacts.services import event_record, events_enqueue_processing
from contacts.services.pending import pending_recover
from messaging.models import Message, MessageStatus
from messaging.services.dispatch import messages_recover
from tests.support.worker import FAST_RECOVERY_ENV, running_worker, smtp_env, wait_for
from workflows.engine import scheduler
from workflows.models import RunStatus, StepLog, WorkflowRun

from .conftest import WORKER_ENV, chain, email_template, make_workflow

pytestmark = [pytest.mark.integration]

SITE = "https://app.tendril.test"

PEOPLE = 6
FAST_RECOVERY = {
    **FAST_RECOVERY_ENV,
    "CELERY_TASK_SOFT_TIME_LIMIT": "8",
    "CELERY_TASK_TIME_LIMIT": "10",
    "EVENTS_PROCESSING_RESCUE": "3",
    "WORKFLOWS_CHUNK_SIZE": "2",
}


@pytest.fixture
def worker_env(smtp_sink):
    return smtp_env(smtp_sink, SITE_URL=SITE, **WORKER_ENV, **FAST_RECOVERY)


@pytest.fixture
def fast_recovery(settings):
    """The test process plays beat: same delays as the workers."""
    settings.MESSAGING_SEND_LEASE = 2
    settings.MESSAGING_QUEUED_RESCUE = 3
    settings.EVENTS_PROCESSING_RESCUE = 3
    settings.CELERY_TASK_TIME_LIMIT = 10


def _beat() -> None:
    scheduler.tick(budget_seconds=0.5)
    messages_recover()
    pending_recover()


# point → runs completed when the worker died (the first chunk is two runs)
POINTS = {
    "workflows.claimed": 0,
    "workflows.chunk_before_commit": 0,
    "workflows.chunk_committed": 2,
}


@pytest.mark.parametrize("point", list(POINTS))
def test_killing_a_worker_anywhere_in_a_workflow_chunk_runs_each_step_once(
    transactional_db, ws, smtp_sink, worker_env, fast_recovery, point
):
    hello = email_template(ws, name="Hello")
    workflow = make_workflow(
        ws,
        chain(
            ("start", "trigger.event", {"event": "Signed Up"}),
            ("hello", "action.email", {"template": hello}),
            ("tag", "action.tag_add", {"tags": ["greeted"]}),
        ),
    )
    people = [
        Contact.objects.create(
            workspace=ws, email=f"p{i}@example.test", first_name=f"P{i}", email_consent="subscribed"
        )
        for i in range(PEOPLE)
    ]
    broker = redis.Redis.from_url(settings.REDIS_URL)  # the Celery broker
    with running_worker(
        pool="prefork", extra_env={**worker_env, "TENDRIL_FAULT_POINTS": point}
    ) as doomed:
        signed_up = [
            event_record(workspace=ws, contact=p, name="Signed Up", message_id=f"su-{p.pk}")
            for p in people
        ]
        events_enqueue_processing(workspace=ws, event_ids=[e.pk for e in signed_up])
        wait_for(lambda: doomed.poll() is not None, timeout=90, message="the worker to die")
    runs = WorkflowRun.objects.filter(workflow=workflow)
    assert runs.count() == PEOPLE  # enrolled (the pipeline committed before the kill)
    if point != "workflows.claimed":
        # the three chunks were delivered to the dead worker: one running, two prefetched
        assert broker.hlen("unacked") >= 3
    assert runs.filter(status=RunStatus.COMPLETED).count() == POINTS[point]

    def settled() -> bool:
        _beat()
        return (
            runs.filter(status=RunStatus.COMPLETED).count() == PEOPLE
            and Message.objects.filter(workspace=ws, status=MessageStatus.SENT).count() == PEOPLE
            and not PendingProcessing.objects.exists()
        )

    with running_worker(pool="prefork", extra_env=worker_env, purge=False):
        wait_for(settled, timeout=90, interval=0.3, message="every run completed and sent")

    assert Counter(runs.values_list("contact_id", flat=True)) == {p.pk: 1 for p in people}
    steps = Counter(StepLog.objects.filter(workflow=workflow).values_list("run_id", "node_id"))
    assert set(steps.values()) == {1}, f"a step ran twice: {steps}"
    assert len(steps) == PEOPLE * 3
    received = Counter(smtp_sink.recipients())
    assert received == {p.email: 1 for p in people}
    messages = Message.objects.filter(workspace=ws)
    assert sorted(messages.values_list("source_id", flat=True)) == sorted(
        f"{run.pk}:hello" for run in runs
    )
    for person in people:
        person.refresh_from_db()
        assert person.tags == ["greeted"]
    exited = Event.objects.filter(workspace=ws, name="workflow.exited")
    assert exited.count() == PEOPLE
