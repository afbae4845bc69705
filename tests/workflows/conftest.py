"""Helpers for workflow tests: a shiftable clock, workflows from graphs, draining due runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from contacts.models import Contact
from workflows.engine import clock as wf_clock
from workflows.engine import scheduler
from workflows.models import Workflow, WorkflowRun
from workflows.services import draft_save, workflow_create, workflow_publish


def chain(
    *nodes: tuple[str, str, dict[str, Any]], ports: dict[str, str] | None = None
) -> dict[str, Any]:
    """A linear graph from (id, type, config) tuples; `ports` maps a node id to the port
    its edge leaves by (default: "default")."""
    ports = ports or {}
    return {
        "nodes": [{"id": nid, "type": t, "config": c} for nid, t, c in nodes],
        "edges": [
            {"source": a[0], "target": b[0], **({"port": ports[a[0]]} if a[0] in ports else {})}
            for a, b in zip(nodes, nodes[1:], strict=False)
        ],
    }


def make_workflow(ws, graph: dict[str, Any], *, publish: bool = True, **settings: Any) -> Workflow:
    workflow = workflow_create(
        workspace=ws, data={"name": settings.pop("name", "Test flow"), **settings}
    )
    draft_save(workspace=ws, workflow=workflow, graph=graph)
    if publish:
        workflow_publish(workspace=ws, workflow=workflow)
    workflow.refresh_from_db()
    return workflow


def drain(limit: int = 50) -> int:
    """Run every due run until nothing is due (tasks run eagerly in unit tests)."""
    total = 0
    for _ in range(limit):
        claimed = scheduler.tick(budget_seconds=5)
        total += claimed
        if not claimed:
            return total
    raise AssertionError("runs kept becoming due: a loop?")


def run_of(workflow: Workflow, contact: Contact) -> WorkflowRun:
    return WorkflowRun.objects.filter(workflow=workflow, contact=contact).latest("id")


@pytest.fixture
def clock(settings):
    settings.WORKFLOWS_SHIFTABLE_CLOCK = True
    wf_clock.reset()
    yield wf_clock
    wf_clock.reset()


@pytest.fixture
def api_enrol(ws, django_capture_on_commit_callbacks):
    from workflows.runs.enrolment import enrol_contact

    def enrol(workflow, contact, **context):
        with django_capture_on_commit_callbacks(execute=True):
            run = enrol_contact(
                workspace=ws,
                workflow_id=workflow.pk,
                contact=contact,
                key=f"t:{contact.pk}:{workflow.pk}",
                context=context,
            )
        drain()
        return run

    return enrol


@pytest.fixture
def contact(ws):
    return Contact.objects.create(
        workspace=ws, email="ada@example.test", first_name="Ada", timezone="Europe/Berlin"
    )


def days(n: float) -> timedelta:
    return timedelta(days=n)


# --- the outside world: a local webhook receiver ---------------------------------------------


class Receiver:
    """A local HTTP server standing in for a webhook receiver: records requests, answers
    with `status` (a list is consumed one answer per request)."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[dict[str, Any]] = []
        self.status: int | list[int] = 200
        self.block = threading.Event()
        self.block.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                receiver.block.wait(timeout=60)
                status = (
                    receiver.status.pop(0) if isinstance(receiver.status, list) else receiver.status
                )
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.block.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    # It listens on loopback, which the outbound client refuses unless the operator allows it.
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    server = Receiver()
    yield server
    server.close()


def email_template(ws, name: str = "Hello", subject: str = "Hello {{ contact.first_name }}") -> int:
    from messaging.services import EmailContent, email_template_save

    footer = (
        "<p>{{ workspace.physical_address }} <a href='{{ unsubscribe_url }}'>unsubscribe</a></p>"
    )
    content = EmailContent(
        name=name, subject=subject, html=f"<p>Hi {{{{ contact.first_name }}}}</p>{footer}"
    )
    return email_template_save(workspace=ws, content=content).pk


# --- a real worker ---------------------------------------------------------------------------

# Workers reach the loopback webhook receiver only because the operator setting allows it.
WORKER_ENV = {"WORKFLOWS_SHIFTABLE_CLOCK": "1", "OUTBOUND_ALLOWED_HOSTS": "127.0.0.1"}


@pytest.fixture(scope="module")
def module_worker(django_db_setup, django_db_blocker):
    """One real Celery worker for a module's tests (starting one costs seconds). Tests
    using it need committed data: they take `live_worker`, which adds transactional_db."""
    from tests.support.worker import running_worker

    with django_db_blocker.unblock(), running_worker(extra_env=WORKER_ENV) as proc:
        yield proc


@pytest.fixture
def live_worker(module_worker, transactional_db, clock):
    if module_worker.poll() is not None:
        raise RuntimeError("the module's worker died")
    return module_worker


def until(predicate, *, timeout: float = 30.0, message: str = "condition"):
    """Tick the scheduler (as beat would) until predicate() holds; return its value."""
    from tests.support.worker import wait_for

    def check():
        scheduler.tick(budget_seconds=0.5)
        return predicate()

    return wait_for(check, timeout=timeout, interval=0.2, message=message)
