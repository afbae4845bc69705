"""The workflows management API: CRUD, versions, publish, pause/resume, enrol, runs, stats."""

import pytest

from contacts.models import Contact
from workflows.models import RunStatus, Workflow, WorkflowRun

from .conftest import chain, drain, make_workflow

pytestmark = pytest.mark.django_db

GRAPH = chain(
    ("start", "trigger.api", {}),
    ("tag", "action.tag_add", {"tags": ["enrolled"]}),
    ("wait", "wait.duration", {"days": 2}),
)


def test_a_workflow_is_created_with_a_draft_and_published(api):
    created = api.post("/api/v1/workflows/", {"name": "Onboarding", "graph": GRAPH}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["status"] == "draft" and body["draft"]["number"] == 1
    published = api.post(f"/api/v1/workflows/{body['id']}/publish/", {}, format="json")
    assert published.status_code == 200
    assert published.json()["status"] == "active"
    assert published.json()["current_version"]["number"] == 1 and published.json()["draft"] is None


@pytest.mark.parametrize(
    ("graph", "names"),
    [
        (
            chain(("start", "trigger.api", {}), ("x", "action.nope", {})),
            "Node 'x' has an unknown type",
        ),
        (
            chain(("start", "trigger.api", {}), ("tag", "action.tag_add", {"tags": []})),
            "Node 'tag' (action.tag_add): config.tags",
        ),
        (
            {
                "nodes": [{"id": "start", "type": "trigger.api"}],
                "edges": [{"source": "start", "target": "ghost"}],
            },
            "'ghost'",
        ),
        (
            {"nodes": [{"id": "w", "type": "wait.duration", "config": {"days": 1}}], "edges": []},
            "no trigger",
        ),
        (
            {
                "nodes": [
                    {"id": "start", "type": "trigger.api"},
                    {"id": "lonely", "type": "action.exit"},
                ],
                "edges": [],
            },
            "Node 'lonely' (action.exit) is unreachable",
        ),
        (
            {
                "nodes": [
                    {"id": "start", "type": "trigger.api"},
                    {"id": "a", "type": "action.tag_add", "config": {"tags": ["a"]}},
                    {"id": "b", "type": "action.tag_remove", "config": {"tags": ["a"]}},
                ],
                "edges": [
                    {"source": "start", "target": "a"},
                    {"source": "a", "target": "b"},
                    {"source": "b", "target": "a"},
                ],
            },
            "loop without a wait",
        ),
        (
            chain(
                ("start", "trigger.api", {}),
                ("b", "branch.condition", {"filter": {"all": []}}),
                ports={"b": "maybe"},
            )
            | {
                "edges": [
                    {"source": "start", "target": "b"},
                    {"source": "b", "target": "start", "port": "maybe"},
                ]
            },
            "no output port 'maybe'",
        ),
    ],
)
def test_a_bad_graph_is_a_400_naming_the_node(api, graph, names):
    response = api.post("/api/v1/workflows/", {"name": "Broken", "graph": graph}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert names in error["message"], error
    assert not Workflow.objects.exists()  # nothing half-created


def test_a_published_version_is_frozen_and_editing_makes_a_new_draft(api, ws):
    workflow = make_workflow(ws, GRAPH)
    edited = chain(("start", "trigger.api", {}), ("tag", "action.tag_add", {"tags": ["v2"]}))
    response = api.post(
        f"/api/v1/workflows/{workflow.pk}/versions/", {"graph": edited}, format="json"
    )
    assert response.status_code == 201 and response.json()["number"] == 2
    workflow.refresh_from_db()
    assert workflow.current_version.number == 1
    assert workflow.current_version.graph == GRAPH
    versions = api.get(f"/api/v1/workflows/{workflow.pk}/versions/").json()["results"]
    assert [(v["number"], v["is_published"]) for v in versions] == [(2, False), (1, True)]


def test_enrol_by_email_runs_the_contact_and_runs_are_listed(api, ws, contact):
    workflow = make_workflow(ws, GRAPH)
    response = api.post(
        f"/api/v1/workflows/{workflow.pk}/enroll/", {"email": "ADA@example.test"}, format="json"
    )
    assert response.status_code == 201, response.json()
    drain()
    runs = api.get(f"/api/v1/workflows/{workflow.pk}/runs/?status=waiting").json()["results"]
    assert [(r["contact"]["id"], r["current_node"]) for r in runs] == [(contact.pk, "wait")]
    again = api.post(
        f"/api/v1/workflows/{workflow.pk}/enroll/", {"contact_id": contact.pk}, format="json"
    )
    assert again.status_code == 409  # re-entry "never" and a live run
    by_contact = api.get(f"/api/v1/workflow-runs/?contact={contact.pk}").json()["results"]
    assert len(by_contact) == 1
    detail = api.get(f"/api/v1/workflow-runs/{by_contact[0]['id']}/").json()
    assert [s["node_id"] for s in detail["steps"]] == ["start", "tag", "wait"]


def test_enrol_needs_an_api_trigger(api, ws, contact):
    workflow = make_workflow(
        ws,
        chain(("start", "trigger.event", {"event": "X"}), ("t", "action.tag_add", {"tags": ["x"]})),
    )
    response = api.post(
        f"/api/v1/workflows/{workflow.pk}/enroll/", {"contact_id": contact.pk}, format="json"
    )
    assert response.status_code == 409 and "trigger.api" in response.json()["error"]["message"]


def test_stats_count_entered_waiting_and_completed_per_node(api, ws):
    workflow = make_workflow(ws, GRAPH)
    for index in range(3):
        contact = Contact.objects.create(workspace=ws, email=f"c{index}@example.test")
        api.post(
            f"/api/v1/workflows/{workflow.pk}/enroll/", {"contact_id": contact.pk}, format="json"
        )
    drain()
    nodes = {
        n["node"]: n for n in api.get(f"/api/v1/workflows/{workflow.pk}/stats/").json()["nodes"]
    }
    assert (nodes["tag"]["entered"], nodes["tag"]["completed"]) == (3, 3)
    assert (nodes["wait"]["entered"], nodes["wait"]["waiting"]) == (3, 3)


def test_pause_holds_runs_and_resume_releases_them(api, ws, contact, clock):
    workflow = make_workflow(ws, GRAPH)
    api.post(f"/api/v1/workflows/{workflow.pk}/enroll/", {"contact_id": contact.pk}, format="json")
    drain()
    assert api.post(f"/api/v1/workflows/{workflow.pk}/pause/").json()["status"] == "paused"
    clock.shift(pytest.importorskip("datetime").timedelta(days=3))
    drain()
    run = WorkflowRun.objects.get()
    assert run.status == RunStatus.WAITING and run.held
    assert api.post(f"/api/v1/workflows/{workflow.pk}/resume/").json()["status"] == "active"
    drain()
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED


def test_node_types_list_schemas_and_ports(api):
    types = {t["type"]: t for t in api.get("/api/v1/workflows/node-types/").json()["results"]}
    assert types["branch.condition"]["ports"] == ["yes", "no"]
    assert types["wait.until_event"]["ports"] == ["default", "timeout"]
    assert "event" in types["trigger.event"]["schema"]["required"]
    assert len(types) >= 30


def test_another_workspace_gets_404_everywhere(outsider_api, ws, contact):
    workflow = make_workflow(ws, GRAPH)
    base = f"/api/v1/workflows/{workflow.pk}"
    for method, path in [
        ("get", f"{base}/"),
        ("patch", f"{base}/"),
        ("delete", f"{base}/"),
        ("get", f"{base}/versions/"),
        ("post", f"{base}/publish/"),
        ("post", f"{base}/pause/"),
        ("post", f"{base}/enroll/"),
        ("get", f"{base}/runs/"),
        ("get", f"{base}/stats/"),
        ("post", f"{base}/test/"),
        ("get", f"{base}/export/"),
    ]:
        response = getattr(outsider_api, method)(path, {}, format="json")
        assert response.status_code == 404, (method, path, response.status_code)
    run = WorkflowRun.objects.create(
        workspace=ws,
        workflow=workflow,
        version=workflow.current_version,
        contact=contact,
        current_node="start",
    )
    assert outsider_api.get(f"/api/v1/workflow-runs/{run.pk}/").status_code == 404
    assert outsider_api.get("/api/v1/workflow-runs/").json()["results"] == []


def test_a_message_node_counts_as_sent_only_what_the_provider_accepted(api, ws):
    """Stats counted every queued message as sent, failed and unknown outcomes included."""
    from django.utils import timezone

    from messaging.models import Message, MessageStatus

    from .conftest import email_template

    graph = chain(
        ("start", "trigger.api", {}), ("hello", "action.email", {"template": email_template(ws)})
    )
    workflow = make_workflow(ws, graph)
    for index in range(3):
        contact = Contact.objects.create(
            workspace=ws, email=f"s{index}@example.test", email_consent="subscribed"
        )
        api.post(
            f"/api/v1/workflows/{workflow.pk}/enroll/", {"contact_id": contact.pk}, format="json"
        )
    drain()
    messages = Message.objects.filter(workspace=ws).order_by("pk")
    assert messages.count() == 3
    # Two accepted by the provider; a worker died during the third one's provider call.
    accepted = list(messages.values_list("pk", flat=True)[:2])
    messages.filter(pk__in=accepted).update(status=MessageStatus.SENT, sent_at=timezone.now())
    messages.exclude(pk__in=accepted).update(status=MessageStatus.FAILED)
    nodes = {
        n["node"]: n for n in api.get(f"/api/v1/workflows/{workflow.pk}/stats/").json()["nodes"]
    }
    assert (nodes["hello"]["queued"], nodes["hello"]["sent"]) == (3, 2)
