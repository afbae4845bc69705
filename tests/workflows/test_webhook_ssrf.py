"""SSRF through the webhook step: internal URLs are refused at save and publish with a
message naming the node, a name that turns internal by the time the step runs is refused
when the socket connects, and the run API never shows more than a short excerpt."""

from __future__ import annotations

import socket

import pytest

from tests.workspaces.outbound.servers import reply, serving
from workflows.models import WorkflowRun
from workflows.services import draft_save, workflow_create
from workspaces.errors import ValidationFailed
from workspaces.outbound import client
from workspaces.outbound.models import WebhookDelivery

from .conftest import chain, make_workflow, run_of

pytestmark = pytest.mark.django_db


def hook_graph(url: str) -> dict:
    return chain(("start", "trigger.api", {}), ("hook", "action.webhook", {"url": url}))


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "2130706433", "0x7f.1", "[::ffff:127.0.0.1]", "[::1]",
     "169.254.169.254", "10.0.0.5", "192.168.0.1", "[fd12::1]"],
)  # fmt: skip
def test_internal_urls_are_refused_at_save_naming_the_node(ws, host):
    workflow = workflow_create(workspace=ws, data={"name": "Leak"})
    with pytest.raises(ValidationFailed) as error:
        draft_save(workspace=ws, workflow=workflow, graph=hook_graph(f"http://{host}:8080/x"))
    assert "hook" in error.value.message and "server's network" in error.value.message
    assert workflow.versions.count() == 0


def _resolving(monkeypatch, *answers: str):
    calls: list[str] = []

    def fake(host, port, *args, **kwargs):
        calls.append(host)
        address = answers[min(len(calls), len(answers)) - 1]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(client.socket, "getaddrinfo", fake)
    return calls


def test_a_name_resolving_inside_is_refused_at_publish_with_the_api_error_shape(
    ws, api, monkeypatch
):
    workflow = make_workflow(ws, hook_graph("https://hooks.example.com/x"), publish=False)
    _resolving(monkeypatch, "10.20.30.40")
    answer = api.post(f"/api/v1/workflows/{workflow.pk}/publish/", {}, format="json")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert "hook" in error["message"] and "(10.20.30.40) is a private address" in error["message"]
    workflow.refresh_from_db()
    assert workflow.current_version_id is None


@pytest.fixture
def internal(settings):
    with serving(reply(200, b"root:x:0:0 internal-service-data")) as server:
        yield server


def test_rebinding_after_publish_is_refused_when_the_step_connects(
    ws, api, contact, internal, monkeypatch, api_enrol
):
    # Public when published, loopback when the step runs.
    calls = _resolving(monkeypatch, "93.184.216.34", "127.0.0.1")
    workflow = make_workflow(ws, hook_graph(f"http://rebind.example.com:{internal.port}/x"))
    api_enrol(workflow, contact)
    run = run_of(workflow, contact)
    assert internal.requests == [] and len(calls) >= 2
    assert "refused" in run.error and "loopback" in run.error
    [delivery] = WebhookDelivery.objects.filter(workspace=ws)
    assert delivery.status == "failed" and delivery.response_excerpt == ""
    shown = api.get(f"/api/v1/workflow-runs/{run.pk}/").content.decode()
    assert "internal-service-data" not in shown


def test_the_run_api_shows_only_a_short_excerpt_of_the_answer(
    ws, api, contact, settings, api_enrol
):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    body = b"<html>" + b"a" * 300 + b"SECRET-TAIL</html>"
    with serving(reply(200, body, {"Set-Cookie": "session=abc"})) as receiver:
        workflow = make_workflow(ws, hook_graph(receiver.url))
        api_enrol(workflow, contact)
    run = run_of(workflow, contact)
    assert run.status == "completed"
    shown = api.get(f"/api/v1/workflow-runs/{run.pk}/").content.decode()
    assert "SECRET-TAIL" not in shown and "session=abc" not in shown
    [step] = [
        s
        for s in api.get(f"/api/v1/workflow-runs/{run.pk}/").json()["steps"]
        if s["node_id"] == "hook"
    ]
    response = step["detail"]["response"]
    assert response["status"] == 200 and len(response["excerpt"]) <= client.EXCERPT_CHARS
    assert set(response) == {"ok", "status", "excerpt", "elapsed_ms", "error"}
    assert WorkflowRun.objects.get(pk=run.pk).error == ""


def test_step_logs_from_before_keep_only_an_excerpt(ws, contact, settings, api_enrol):
    import importlib

    from django.db import connection

    from workflows.models import StepLog

    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    with serving(reply(200)) as receiver:
        workflow = make_workflow(ws, hook_graph(receiver.url))
        api_enrol(workflow, contact)
    log = StepLog.objects.get(run=run_of(workflow, contact), node_id="hook")
    old = {"ok": True, "status": 200, "body": "root:x:0:0\n" + "a" * 300 + "SECRET-TAIL"}
    StepLog.objects.filter(pk=log.pk).update(detail={"response": old})
    scrub = importlib.import_module("workflows.migrations.0003_webhook_step_logs_keep_an_excerpt")
    with connection.cursor() as cursor:
        cursor.execute(scrub.SCRUB)
    log.refresh_from_db()
    response = log.detail["response"]
    assert "body" not in response and response["excerpt"].startswith("root:x:0:0 aaa")
    assert len(response["excerpt"]) == 200 and response["status"] == 200
