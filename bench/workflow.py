"""Scenario `workflow`: how fast the engine carries contacts through a graph, and how late
a wait ends with a million of them pending.

    .venv/bin/python -m bench workflow [--contacts 100000] [--pending 1000000] [--due 20000]

Fresh database `tendril_bench_workflow`, one workspace.

1. Throughput. `--contacts` contacts are enrolled (enrolment/s is reported) in
   trigger → branch (country = DE?) → add a tag (yes: "de", no: "other") → wait 1 hour →
   send an email: six node transitions per contact. The scheduler is ticked in this process
   once a second, as beat would; a real Celery worker (prefork, 2 processes) executes the
   chunks. The worker consumes only the `steps` queue (CELERY_TASK_ROUTES): the pipeline
   and sending work the steps cause (contacts' tag change → events pipeline, messaging's
   send task) is queued for other workers and reported, not executed — this measures the
   engine. Sending is paused for the workspace so no SMTP is involved. Time jumps the
   hour with the workflow clock (WORKFLOWS_SHIFTABLE_CLOCK). The touched tables are
   VACUUM ANALYZEd after enrolment and during that hour, as autovacuum would (it is off on
   the development server; see `vacuum_analyze`).
   → node transitions/s (target ≥ 2,000/s), against a baseline measured in the same run:
   a hand-written loop doing the same database writes per chunk of 50 with the fewest
   statements possible (lock the runs, one UPDATE of the contacts' tags, one multi-row
   INSERT of step logs and of messages, one UPDATE of the runs) — no graph, no executors,
   no services, no validation: the floor any engine built on these tables could reach.
2. Lag. `--pending` runs wait (in 10 workflows), due days from now; `--due` of them are
   made due one after another over ~40 s (≈500/s). Real celery beat (1 s tick) and a real
   worker; lag = time the wait's step ran − time it was due (the engine records it on the
   step log). → p50 / p99 (targets ≤ 5 s / ≤ 60 s), and the claim query's time with all
   of them pending.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

from bench import harness

DATABASE = "tendril_bench_workflow"
REDIS_DB = 7
QUEUE = "steps"  # where workflows.execute_runs is routed
CHUNK = 50
FOOTER = "<p>{{ workspace.physical_address }} <a href='{{ unsubscribe_url }}'>unsubscribe</a></p>"


def graph(template_id: int) -> dict[str, Any]:
    return {
        "nodes": [
            {"id": "start", "type": "trigger.api"},
            {"id": "de", "type": "branch.condition", "config": {"filter": {"all": [{"field": "country", "op": "eq", "value": "DE"}]}}},
            {"id": "tag_de", "type": "action.tag_add", "config": {"tags": ["de"]}},
            {"id": "tag_other", "type": "action.tag_add", "config": {"tags": ["other"]}},
            {"id": "wait", "type": "wait.duration", "config": {"hours": 1}},
            {"id": "send", "type": "action.email", "config": {"template": template_id}},
        ],
        "edges": [
            {"source": "start", "target": "de"},
            {"source": "de", "target": "tag_de", "port": "yes"},
            {"source": "de", "target": "tag_other", "port": "no"},
            {"source": "tag_de", "target": "wait"},
            {"source": "tag_other", "target": "wait"},
            {"source": "wait", "target": "send"},
        ],
    }  # fmt: skip


def make_contacts(workspace_id: int, count: int, prefix: str = "c") -> list[int]:
    from contacts.models import Contact

    batch = 5000
    ids: list[int] = []
    for start in range(0, count, batch):
        created = Contact.objects.bulk_create(
            [
                Contact(
                    workspace_id=workspace_id,
                    email=f"{prefix}{i}@bench.test",
                    first_name=f"C{i}",
                    country="DE" if i % 3 == 0 else "FR",
                    email_consent="subscribed",
                )
                for i in range(start, min(count, start + batch))
            ]
        )
        ids += [contact.pk for contact in created]
    return ids


def make_workflow(workspace: Any, name: str, graph_data: dict[str, Any]) -> Any:
    from workflows.services import draft_save, workflow_create, workflow_publish

    workflow = workflow_create(workspace=workspace, data={"name": name, "reentry": "always"})
    draft_save(workspace=workspace, workflow=workflow, graph=graph_data)
    workflow_publish(workspace=workspace, workflow=workflow)
    workflow.refresh_from_db()
    return workflow


def enrol_all(workspace: Any, workflow: Any, contact_ids: list[int]) -> float:
    from contacts.models import Contact
    from workflows.runs.enrolment import Candidate, enrol

    started = time.perf_counter()
    for start in range(0, len(contact_ids), 1000):
        contacts = Contact.objects.filter(pk__in=contact_ids[start : start + 1000])
        enrol(
            workspace=workspace,
            candidates=[Candidate(workflow.pk, "start", c, f"bench:{c.pk}") for c in contacts],
            dispatch=False,
        )
    return time.perf_counter() - started


def tick_until(predicate: Any, *, timeout: float) -> float:
    """Tick once a second (as beat does) until predicate(); returns the seconds it took."""
    from workflows.engine import scheduler

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        tick_started = time.monotonic()
        scheduler.tick(budget_seconds=0.9)
        if predicate():
            return time.monotonic() - started
        time.sleep(max(0.0, 1.0 - (time.monotonic() - tick_started)))
    raise RuntimeError(f"not done after {timeout} s")


TOUCHED_TABLES = (
    "contacts_contact",
    "workflows_workflowrun",
    "workflows_steplog",
    "messaging_message",
)


def vacuum_analyze() -> None:
    """What autovacuum does on a real server (this development server runs with it off):
    fresh statistics for tables that just grew from nothing, dead row versions cleared.
    Without it the planner, believing a workspace has a handful of live runs, locks a chunk's
    50 runs by scanning all of them (30–500 ms instead of ~1 ms)."""
    harness.analyze(*TOUCHED_TABLES, vacuum=True)


def count(**filters: Any) -> int:
    from workflows.models import WorkflowRun

    return WorkflowRun.objects.filter(**filters).count()


def steps() -> int:
    from workflows.models import StepLog

    return StepLog.objects.count()


def baseline(workspace_id: int, workflow_id: int, template_id: int) -> tuple[int, float]:
    """The same writes without the engine: per chunk of 50 runs, lock them, tag the contacts,
    log 4 steps each, write the Messages, move the runs on (6 transitions per run)."""
    from django.db import connection, transaction

    from messaging.models import EmailTemplate, Message
    from workflows.models import StepLog, WorkflowRun

    version_id = EmailTemplate.objects.get(pk=template_id).current_version_id
    run_ids = list(
        WorkflowRun.objects.filter(workspace_id=workspace_id, status="completed")
        .order_by("id")
        .values_list("id", "contact_id")
    )
    started = time.perf_counter()
    transitions = 0
    for start in range(0, len(run_ids), CHUNK):
        chunk = run_ids[start : start + CHUNK]
        ids, contacts = [r for r, _ in chunk], [c for _, c in chunk]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM workflows_workflowrun WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                [ids],
            )
            cursor.execute(
                "UPDATE contacts_contact SET tags = array_append(tags, 'base'), updated_at = now() WHERE id = ANY(%s) AND NOT ('base' = ANY(tags))",
                [contacts],
            )
            StepLog.objects.bulk_create(
                [
                    StepLog(
                        workspace_id=workspace_id,
                        run_id=r,
                        workflow_id=workflow_id,
                        contact_id=c,
                        node_id=n,
                        node_type="x",
                        outcome="passed",
                    )
                    for r, c in chunk
                    for n in ("start", "de", "tag", "wait", "wait", "send")
                ]
            )
            Message.objects.bulk_create(
                [
                    Message(
                        workspace_id=workspace_id,
                        contact_id=c,
                        channel="email",
                        email_version_id=version_id,
                        source_type="workflow",
                        source_id=f"base:{r}",
                    )
                    for r, c in chunk
                ]
            )
            cursor.execute(
                "UPDATE workflows_workflowrun SET current_node = 'send', status = 'completed', next_step_at = NULL, updated_at = now() WHERE id = ANY(%s)",
                [ids],
            )
            transitions += 6 * len(chunk)
    return transitions, time.perf_counter() - started


class worker:
    """A real Celery worker (prefork) consuming only `queues`."""

    def __init__(self, *, queues: str, concurrency: int = 2):
        self.queues, self.concurrency = queues, concurrency

    def __enter__(self) -> subprocess.Popen[bytes]:
        from config.celery_app import app

        cmd = [sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "warning", "-Q", self.queues,
               "--concurrency", str(self.concurrency), "--pool", "prefork", "--without-gossip",
               "--without-mingle", "--without-heartbeat", "-n", f"bench-wf-{os.getpid()}@%h"]  # fmt: skip
        self.proc = harness._spawn(cmd, "bench-celery-workflows.log")
        deadline = time.monotonic() + 30
        while not app.control.ping(timeout=0.5):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "the bench worker did not start; see .data/bench-celery-workflows.log"
                )
        return self.proc

    def __exit__(self, *exc: object) -> None:
        harness._stop(self.proc)


def throughput(workspace: Any, contacts: int) -> dict[str, Any]:
    from messaging.services import EmailContent, email_template_save, sending_pause
    from workflows.engine import clock

    template = email_template_save(
        workspace=workspace,
        content=EmailContent(
            name="Bench", subject="Hi {{ contact.first_name }}", html=f"<p>Hello</p>{FOOTER}"
        ),
    )
    sending_pause(workspace=workspace, reason="bench: no SMTP")
    workflow = make_workflow(workspace, "Bench flow", graph(template.pk))
    ids = make_contacts(workspace.pk, contacts)
    enrol_seconds = enrol_all(workspace, workflow, ids)
    vacuum_analyze()
    queued_before = harness.queue_length()
    with worker(queues=QUEUE, concurrency=2):
        first = tick_until(
            lambda: count(workflow=workflow, status="waiting") == contacts, timeout=3600
        )
        first_steps = steps()
        vacuum_analyze()  # the hour of the wait, as autovacuum would spend it
        clock.shift(timedelta(hours=1, minutes=1))
        second = tick_until(
            lambda: count(workflow=workflow, status="completed") == contacts, timeout=3600
        )
    total_steps = steps()
    downstream = harness.queue_length() - queued_before
    base_transitions, base_seconds = baseline(workspace.pk, workflow.pk, template.pk)
    engine_rate = total_steps / (first + second)
    base_rate = base_transitions / base_seconds
    return {
        "enrolments/s": f"{contacts / enrol_seconds:,.0f} ({contacts:,} runs in {enrol_seconds:.1f} s)",
        "trigger → branch → tag → wait": f"{first_steps:,} transitions in {first:.1f} s = {first_steps / first:,.0f}/s",
        "wait ends → send": f"{total_steps - first_steps:,} transitions in {second:.1f} s = {(total_steps - first_steps) / second:,.0f}/s",
        "node transitions/s (engine)": f"{engine_rate:,.0f}/s  (target ≥ 2,000/s)",
        "baseline: same writes, hand-written": f"{base_rate:,.0f}/s",
        "ratio engine / baseline": f"{engine_rate / base_rate:.2f}",
        "downstream tasks queued (pipeline, sends)": f"{downstream:,}",
    }


def lag(workspace: Any, contact_ids: list[int], pending: int, due: int) -> dict[str, Any]:
    from django.db import connection

    from workflows.models import StepLog, WorkflowRun

    workflows = []
    goal_graph = {
        "nodes": [
            {"id": "start", "type": "trigger.api"},
            {"id": "wait", "type": "wait.duration", "config": {"days": 3}},
            {"id": "done", "type": "goal"},
        ],
        "edges": [{"source": "start", "target": "wait"}, {"source": "wait", "target": "done"}],
    }
    per_workflow = -(-pending // 10)
    for index in range(10):
        workflows.append(make_workflow(workspace, f"Lag {index}", goal_graph))
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for index, workflow in enumerate(workflows):
            take = min(per_workflow, pending - index * per_workflow, len(contact_ids))
            context = json.dumps(
                {
                    "wait": {
                        "node": "wait",
                        "since": "2020-01-01T00:00:00+00:00",
                        "until": "2000-01-01T00:00:00+00:00",
                    }
                }
            )
            cursor.execute(
                """
                INSERT INTO workflows_workflowrun (workspace_id, created_at, updated_at, workflow_id, version_id, contact_id,
                    status, current_node, next_step_at, held, attempts, context, error, enrolment_key)
                SELECT %s, now(), now(), %s, %s, c.id, 'waiting', 'wait', now() + interval '2 days' + random() * interval '5 days',
                    false, 0, %s::jsonb, '', ''
                FROM (SELECT id FROM contacts_contact WHERE workspace_id = %s ORDER BY id LIMIT %s) c
                """,
                [
                    workspace.pk,
                    workflow.pk,
                    workflow.current_version_id,
                    context,
                    workspace.pk,
                    take,
                ],
            )
        cursor.execute("ANALYZE workflows_workflowrun")
    insert_seconds = time.perf_counter() - started
    pending_now = WorkflowRun.objects.filter(status="waiting", workflow__in=workflows).count()
    claim_ms = {horizon: claim_query_ms(horizon) for horizon in ("0 seconds", "3 days")}
    chosen = list(
        WorkflowRun.objects.filter(workflow__in=workflows)
        .order_by("?")
        .values_list("id", flat=True)[:due]
    )
    spread = max(1.0, due / 500)  # ≈500 waits ending per second
    with worker(queues=f"celery,{QUEUE}", concurrency=2), harness.beat():
        time.sleep(3)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE workflows_workflowrun AS r SET next_step_at = now() + interval '2 seconds' + (v.n * %s / %s) * interval '1 second' "
                "FROM unnest(%s::bigint[]) WITH ORDINALITY AS v(id, n) WHERE r.id = v.id "
                "RETURNING r.id, r.next_step_at",
                [spread, due, chosen],
            )
            due_at = dict(cursor.fetchall())
        done = lambda: WorkflowRun.objects.filter(pk__in=chosen, status="converted").count() == due  # noqa: E731
        deadline = time.monotonic() + spread + 600
        while not done() and time.monotonic() < deadline:
            time.sleep(1)
    # Lag from the due time this scenario set (not the engine's own lag_ms, which counts
    # from the claim's due time — for a run claimed again after a lost lease, the lease's
    # expiry).
    resumed = StepLog.objects.filter(run_id__in=chosen, node_id="wait", outcome="resumed")
    lags = [
        (at - due_at[run_id]).total_seconds() for run_id, at in resumed.values_list("run_id", "at")
    ]
    return {
        "waits pending": f"{pending_now:,} (inserted in {insert_seconds:.0f} s)",
        "claim query with all pending, none due": f"{claim_ms['0 seconds']:.1f} ms",
        "claim query with all pending, ~200,000 due (takes 1,000)": f"{claim_ms['3 days']:.1f} ms",
        "waits ending": f"{due:,} over {spread:.0f} s (≈{due / spread:,.0f}/s)",
        "measured": f"{len(lags):,}",
        "lag p50": f"{harness.percentile(lags, 0.5):.2f} s  (target ≤ 5 s)",
        "lag p99": f"{harness.percentile(lags, 0.99):.2f} s  (target ≤ 60 s)",
        "lag max": f"{max(lags) if lags else 0:.2f} s",
    }


def claim_query_ms(horizon: str) -> float:
    """The scheduler's claim query (its SELECT … FOR UPDATE SKIP LOCKED part) with runs due up
    to now + `horizon`, in a transaction rolled back: nothing is claimed."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (ANALYZE, FORMAT JSON) SELECT id FROM workflows_workflowrun WHERE status IN ('active','waiting') "
            "AND NOT held AND next_step_at <= now() + %s::interval ORDER BY next_step_at LIMIT 1000 FOR UPDATE SKIP LOCKED",
            [horizon],
        )
        elapsed = float(cursor.fetchone()[0][0]["Execution Time"])
        transaction.set_rollback(True)
    return elapsed


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench workflow")
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--pending", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=20_000)
    parser.add_argument("--skip-lag", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true", help="only the lag part")
    args = parser.parse_args(argv)
    os.environ["WORKFLOWS_SHIFTABLE_CLOCK"] = "1"
    harness.setup_django(database=DATABASE, redis_db=REDIS_DB)
    harness.ENV.update({"WORKFLOWS_SHIFTABLE_CLOCK": "1"})
    from workflows.engine import clock
    from workspaces.models import Workspace

    clock.reset()
    note = harness.machine_note()
    workspace_id, _ = harness.workspace("Workflow bench")
    workspace = Workspace.objects.get(pk=workspace_id)
    if args.skip_throughput:
        make_contacts(workspace.pk, args.contacts)
    else:
        figures = throughput(workspace, args.contacts)
        harness.report(
            f"workflow: throughput ({args.contacts:,} contacts; {note})", list(figures.items())
        )
    if args.skip_lag:
        return
    # Lag: beat's tick and the steps on the same workers, clock real.
    clock.reset()
    from config.celery_app import app

    app.control.purge()
    from contacts.models import Contact

    ids = list(Contact.objects.filter(workspace_id=workspace_id).values_list("id", flat=True))
    extra = max(0, -(-args.pending // 10) - len(ids))
    if extra:
        ids += make_contacts(workspace_id, extra, prefix="lag")
    figures = lag(workspace, ids, args.pending, args.due)
    harness.report(
        f"workflow: lag from due time to execution ({harness.machine_note()})",
        list(figures.items()),
    )
