"""The builder's API (#13): node types for a form renderer, autosaved drafts with conflict
detection, validation with codes and summaries in words, the publish summary and its
refusals, version history, the stats overlay, autocomplete, the gallery, and importing a
document that brings its templates (#16)."""

import base64
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from contacts.models import Contact
from contacts.services.events import event_record
from workflows.models import RunStatus, StepLog, Workflow, WorkflowRun, WorkflowVersion

from .conftest import chain, drain, email_template, make_workflow

pytestmark = pytest.mark.django_db

API_GRAPH = chain(
    ("start", "trigger.api", {}),
    ("wait", "wait.duration", {"days": 2}),
    ("tag", "action.tag_add", {"tags": ["done"]}),
)


def url(workflow, path=""):
    return f"/api/v1/workflows/{workflow.pk}/{path}"


def track(tenant, name, user="u1", properties=None, message_id=None):
    body = {
        "type": "track",
        "event": name,
        "userId": user,
        "properties": properties or {},
        "messageId": message_id or f"{name}-{user}",
    }
    auth = "Basic " + base64.b64encode(f"{tenant.write_key}:".encode()).decode()
    response = Client().post(
        "/v1/track", json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=auth
    )
    assert response.status_code == 200, response.content


# --- 1. node types --------------------------------------------------------------------------


def test_node_types_carry_what_a_form_renderer_needs(api):
    body = api.get("/api/v1/workflows/node-types/").json()
    assert [g["id"] for g in body["groups"]] == ["trigger", "wait", "branch", "action", "goal"]
    types = {t["type"]: t for t in body["results"]}
    for spec in types.values():
        assert spec["group"] in {"trigger", "wait", "branch", "action", "goal"}
        assert spec["label"] and spec["description"]
        assert set(spec["port_labels"]) == set(spec["ports"])
        for name, prop in spec["schema"]["properties"].items():
            assert prop.get("title"), (spec["type"], name)
            if "enum" in prop and "x-enumLabels" in prop:
                assert len(prop["enum"]) == len(prop["x-enumLabels"]), (spec["type"], name)
    email = types["action.email"]["schema"]["properties"]["template"]
    assert (email["x-picker"], email["x-channel"]) == ("template", "email")
    assert types["trigger.event"]["schema"]["properties"]["event"]["x-picker"] == "event"
    assert types["branch.condition"]["schema"]["properties"]["filter"]["x-picker"] == "condition"
    assert types["trigger.segment_entered"]["schema"]["properties"]["segment"]["x-picker"] == (
        "segment"
    )
    assert types["wait.until_event"]["schema"]["properties"]["timeout"]["x-widget"] == "duration"
    window = types["wait.weekday_window"]["schema"]["properties"]
    assert window["start"]["x-widget"] == "time-of-day"
    assert window["timezone"]["x-widget"] == "timezone"
    stage = types["action.lifecycle_set"]["schema"]["properties"]["stage"]
    assert "Marketing qualified lead" in stage["x-enumLabels"] or len(stage["x-enumLabels"]) == len(
        stage["enum"]
    )
    assert types["branch.condition"]["port_labels"] == {"yes": "Yes", "no": "No"}
    assert types["branch.ab"]["ports_from"] == "variants"
    assert types["wait.duration"]["defaults"] == {"days": 1}
    assert body["settings_schema"]["properties"]["reentry"]["x-enumLabels"]


def test_a_wait_window_in_a_fixed_time_zone_is_checked(api, ws):
    workflow = Workflow.objects.create(workspace=ws, name="Zones")
    graph = chain(
        ("start", "trigger.api", {}),
        ("w", "wait.weekday_window", {"days": [1], "timezone": "Mars/Olympus"}),
    )
    errors = api.post(url(workflow, "validate/"), {"graph": graph}, format="json").json()["errors"]
    assert [(e["node"], e["code"]) for e in errors] == [("w", "invalid_config")]
    assert "Mars/Olympus" in errors[0]["message"]


# --- 2. drafts --------------------------------------------------------------------------------


def test_a_new_workflow_starts_empty_and_autosaves_unfinished_work(api, ws):
    created = api.post("/api/v1/workflows/", {"name": "Welcome"}, format="json").json()
    workflow = Workflow.objects.get(pk=created["id"])
    empty = api.get(url(workflow, "draft/"))
    assert empty.status_code == 200
    assert empty.json()["graph"] == {"nodes": [], "edges": []} and empty.json()["draft"] is None
    assert empty["ETag"] == f'"{empty.json()["revision"]}"'
    # An email step without a template and no trigger yet: stored, with what is missing.
    unfinished = {"nodes": [{"id": "send", "type": "action.email", "config": {}}], "edges": []}
    saved = api.put(
        url(workflow, "draft/"),
        {"graph": unfinished, "revision": empty.json()["revision"]},
        format="json",
    )
    assert saved.status_code == 200, saved.json()
    body = saved.json()
    assert body["draft"]["graph"] == unfinished and body["revision"] != empty.json()["revision"]
    codes = {(e["node"], e["code"]) for e in body["validation"]["errors"]}
    assert codes == {(None, "no_trigger"), ("send", "unconfigured")}
    send = next(e for e in body["validation"]["errors"] if e["node"] == "send")
    assert send["message"] == "config: Email template is required."
    assert body["validation"]["valid"] is False


def test_a_stale_save_is_refused_and_changes_nothing(api, ws):
    workflow = Workflow.objects.create(workspace=ws, name="Two tabs")
    first = api.get(url(workflow, "draft/")).json()["revision"]
    tab_a = api.put(url(workflow, "draft/"), {"graph": API_GRAPH, "revision": first}, format="json")
    assert tab_a.status_code == 200
    other = chain(("start", "trigger.api", {}))
    tab_b = api.put(url(workflow, "draft/"), {"graph": other, "revision": first}, format="json")
    assert tab_b.status_code == 409
    error = tab_b.json()["error"]
    assert error["code"] == "draft_conflict" and "Someone else saved" in error["message"]
    assert error["current"]["graph"] == API_GRAPH
    assert error["current"]["revision"] == tab_a.json()["revision"]
    assert WorkflowVersion.objects.get(workflow=workflow).graph == API_GRAPH
    # The same through If-Match, as an HTTP client would send the ETag back.
    stale = api.put(
        url(workflow, "draft/"), {"graph": other}, format="json", HTTP_IF_MATCH=f'"{first}"'
    )
    assert stale.status_code == 409
    fresh = api.put(
        url(workflow, "draft/"),
        {"graph": other},
        format="json",
        HTTP_IF_MATCH=f'"{tab_a.json()["revision"]}"',
    )
    assert fresh.status_code == 200 and fresh.json()["graph"] == other


@pytest.mark.parametrize(
    ("graph", "words"),
    [
        ([], "object with `nodes` and `edges`"),
        ({"nodes": [{"id": "x", "type": "action.nope"}], "edges": []}, "unknown node type"),
        ({"nodes": [{"id": "a b", "type": "trigger.api"}], "edges": []}, "1-64 letters"),
        (
            {
                "nodes": [{"id": "s", "type": "trigger.api"}],
                "edges": [{"source": "s", "target": "z"}],
            },
            "'z'",
        ),
    ],
)
def test_a_draft_that_is_not_a_graph_is_a_400_and_nothing_is_saved(api, ws, graph, words):
    workflow = Workflow.objects.create(workspace=ws, name="Broken")
    response = api.put(url(workflow, "draft/"), {"graph": graph}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "graph_invalid" and words in error["message"], error
    assert not WorkflowVersion.objects.filter(workflow=workflow).exists()


def test_editing_a_live_workflow_makes_a_new_draft_and_the_live_version_keeps_running(api, ws):
    workflow = make_workflow(ws, API_GRAPH)
    revision = api.get(url(workflow, "draft/")).json()["revision"]
    edited = chain(("start", "trigger.api", {}), ("wait", "wait.duration", {"days": 5}))
    body = api.put(
        url(workflow, "draft/"), {"graph": edited, "revision": revision}, format="json"
    ).json()
    assert body["draft"]["number"] == 2 and not body["draft"]["is_published"]
    workflow.refresh_from_db()
    assert workflow.current_version.number == 1 and workflow.current_version.graph == API_GRAPH


# --- 3. validation and summaries --------------------------------------------------------------


def test_validation_names_each_problem_by_node_and_code(api, ws, other_ws):
    foreign_template = email_template(other_ws)
    workflow = Workflow.objects.create(workspace=ws, name="Checks")
    graph = {
        "nodes": [
            {"id": "start", "type": "trigger.event", "config": {"event": "Never Seen"}},
            {"id": "send", "type": "action.email", "config": {"template": foreign_template}},
            {"id": "a", "type": "action.tag_add", "config": {"tags": ["x"]}},
            {"id": "b", "type": "action.tag_remove", "config": {"tags": ["x"]}},
            {"id": "lost", "type": "action.exit", "config": {}},
        ],
        "edges": [
            {"source": "start", "target": "send"},
            {"source": "send", "target": "a"},
            {"source": "a", "target": "b"},
            {"source": "b", "target": "a"},
        ],
    }
    body = api.post(url(workflow, "validate/"), {"graph": graph}, format="json").json()
    errors = {(e["node"], e["code"]) for e in body["errors"]}
    assert errors == {
        ("send", "template_missing"),
        ("lost", "unreachable"),
        ("a", "loop_without_wait"),
    }
    assert [(w["node"], w["code"]) for w in body["warnings"]] == [("start", "event_never_received")]
    assert "never received the event “Never Seen”" in body["warnings"][0]["message"]


def test_summaries_say_each_step_in_words(api, ws):
    template = email_template(ws, name="Welcome")
    workflow = Workflow.objects.create(workspace=ws, name="Words")
    graph = {
        "nodes": [
            {
                "id": "start",
                "type": "trigger.event",
                "config": {
                    "event": "Signed Up",
                    "where": [{"property": "plan", "op": "eq", "value": "pro"}],
                },
            },
            {"id": "wait", "type": "wait.duration", "config": {"days": 2, "hours": 1}},
            {"id": "send", "type": "action.email", "config": {"template": template}},
            {
                "id": "hot",
                "type": "branch.condition",
                "config": {
                    "filter": {
                        "all": [
                            {"field": "score", "op": "gte", "value": 80},
                            {"tag": "vip"},
                            {"event": "Order Completed", "count": {"op": "gte", "value": 2},
                             "within_days": 30},
                        ]
                    }
                },
            },
            {
                "id": "ab",
                "type": "branch.ab",
                "config": {"variants": [{"name": "a", "weight": 70}, {"name": "b", "weight": 30}]},
            },
            {"id": "later", "type": "wait.until_event",
             "config": {"event": "Order Completed", "timeout": {"days": 3}}},
        ],
        "edges": [
            {"source": "start", "target": "wait"},
            {"source": "wait", "target": "send"},
            {"source": "send", "target": "hot"},
            {"source": "hot", "target": "ab", "port": "yes"},
            {"source": "ab", "target": "later", "port": "a"},
        ],
    }  # fmt: skip
    summaries = api.post(url(workflow, "validate/"), {"graph": graph}, format="json").json()[
        "summaries"
    ]
    assert summaries == {
        "start": "When “Signed Up” is performed where plan is “pro”",
        "wait": "Wait 2 days 1 hour",
        "send": "Send email “Welcome”",
        "hot": "If Lead score ≥ 80 and has tag “vip” and performed “Order Completed” at least "
        "2 times in the last 30 days",
        "ab": "Split A 70% / B 30%",
        "later": "Wait up to 3 days for “Order Completed”",
    }


def test_ab_weights_must_add_up_to_100(api, ws):
    workflow = Workflow.objects.create(workspace=ws, name="AB")
    graph = chain(
        ("start", "trigger.api", {}),
        (
            "ab",
            "branch.ab",
            {"variants": [{"name": "a", "weight": 50}, {"name": "b", "weight": 40}]},
        ),
    )
    errors = api.post(url(workflow, "validate/"), {"graph": graph}, format="json").json()["errors"]
    assert [(e["node"], e["code"]) for e in errors] == [("ab", "weights_sum")]
    assert "add up to 90" in errors[0]["message"]


# --- 4. publish ---------------------------------------------------------------------------------


def test_publishing_with_warnings_needs_a_confirmation(api, ws):
    graph = chain(("start", "trigger.event", {"event": "Trial Started"}),
                  ("t", "action.tag_add", {"tags": ["trial"]}))  # fmt: skip
    workflow = make_workflow(ws, graph, publish=False)
    refused = api.post(url(workflow, "publish/"), {}, format="json")
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "warnings_unconfirmed"
    assert [(w["node"], w["code"]) for w in error["warnings"]] == [
        ("start", "event_never_received")
    ]
    workflow.refresh_from_db()
    assert workflow.status == "draft" and workflow.current_version is None
    confirmed = api.post(url(workflow, "publish/"), {"confirm_warnings": True}, format="json")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "active"


def test_publishing_an_invalid_draft_lists_every_problem(api, ws):
    workflow = Workflow.objects.create(workspace=ws, name="Unfinished")
    unfinished = {
        "nodes": [
            {"id": "start", "type": "trigger.api", "config": {}},
            {"id": "send", "type": "action.email", "config": {}},
            {"id": "lost", "type": "action.exit", "config": {}},
        ],
        "edges": [{"source": "start", "target": "send"}],
    }
    api.put(url(workflow, "draft/"), {"graph": unfinished}, format="json")
    response = api.post(url(workflow, "publish/"), {"confirm_warnings": True}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "graph_invalid"
    assert {(p["node"], p["code"]) for p in error["problems"]} == {
        ("send", "unconfigured"),
        ("lost", "unreachable"),
    }
    workflow.refresh_from_db()
    assert workflow.status == "draft"


def _waiting_at_wait(api, ws, workflow, n=2):
    for index in range(n):
        contact = Contact.objects.create(workspace=ws, email=f"w{index}@example.test")
        api.post(url(workflow, "enroll/"), {"contact_id": contact.pk}, format="json")
    drain()
    assert WorkflowRun.objects.filter(current_node="wait", status=RunStatus.WAITING).count() == n


def test_removing_a_step_where_contacts_wait_is_refused_with_the_count(api, ws):
    workflow = make_workflow(ws, API_GRAPH)
    _waiting_at_wait(api, ws, workflow)
    without_wait = chain(
        ("start", "trigger.api", {}), ("tag", "action.tag_add", {"tags": ["done"]})
    )
    api.put(url(workflow, "draft/"), {"graph": without_wait}, format="json")
    summary = api.get(url(workflow, "publish-summary/")).json()
    assert summary["removed_nodes"] == [{"node": "wait", "waiting": 2}]
    refused = api.post(url(workflow, "publish/"), {}, format="json")
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "removed_node_has_runs"
    assert error["removed_nodes"] == [{"node": "wait", "waiting": 2}]
    assert "2 contacts are still at 'wait'" in error["message"]
    workflow.refresh_from_db()
    assert workflow.current_version.number == 1


def test_contacts_at_a_removed_step_move_where_the_publisher_says(api, ws):
    workflow = make_workflow(ws, API_GRAPH)
    _waiting_at_wait(api, ws, workflow)
    without_wait = chain(
        ("start", "trigger.api", {}), ("tag", "action.tag_add", {"tags": ["done"]})
    )
    api.put(url(workflow, "draft/"), {"graph": without_wait}, format="json")
    bad = api.post(url(workflow, "publish/"), {"move": {"wait": "ghost"}}, format="json")
    assert bad.status_code == 400 and "ghost" in bad.json()["error"]["message"]
    moved = api.post(url(workflow, "publish/"), {"move": {"wait": "tag"}}, format="json")
    assert moved.status_code == 200, moved.json()
    drain()
    runs = WorkflowRun.objects.filter(workflow=workflow)
    assert {(r.status, r.version.number, r.current_node) for r in runs} == {
        (RunStatus.COMPLETED, 2, "tag")
    }
    assert all("done" in r.contact.tags for r in runs)


def test_the_publish_summary_says_who_can_enter_and_how_many_match_now(api, ws, tenant):
    track(tenant, "Signed Up", "u1")
    track(tenant, "Signed Up", "u2")
    track(tenant, "Signed Up", "u2", message_id="again")
    old = Contact.objects.create(workspace=ws, email="old@example.test")
    event_record(workspace=ws, contact=old, name="Signed Up",
                 timestamp=timezone.now() - timedelta(days=45))  # fmt: skip
    graph = chain(("start", "trigger.event", {"event": "Signed Up"}),
                  ("t", "action.tag_add", {"tags": ["new"]}))  # fmt: skip
    workflow = make_workflow(ws, graph, publish=False, reentry="after_days", reentry_days=30)
    summary = api.get(url(workflow, "publish-summary/")).json()
    assert summary["entry"]["text"] == "When “Signed Up” is performed"
    assert summary["reentry"]["text"] == "A contact may enter again 30 days after entering."
    assert summary["matching_now"]["count"] == 2 and summary["matching_now"]["exact"]
    assert summary["matching_now"]["text"] == "2 contacts match now"
    assert summary["validation"]["valid"] and summary["validation"]["warnings"] == []


# --- 5. versions ------------------------------------------------------------------------------


def test_an_old_version_opens_read_only_and_restores_as_the_draft(api, ws):
    workflow = make_workflow(ws, API_GRAPH)
    v1 = workflow.current_version
    v2_graph = chain(("start", "trigger.api", {}), ("wait", "wait.duration", {"hours": 3}))
    api.put(url(workflow, "draft/"), {"graph": v2_graph}, format="json")
    shown = api.get(url(workflow, f"versions/{v1.pk}/")).json()
    assert shown["graph"] == API_GRAPH and shown["is_published"] and shown["is_current"]
    assert shown["summaries"]["wait"] == "Wait 2 days"
    revision = api.get(url(workflow, "draft/")).json()["revision"]
    stale = api.post(
        url(workflow, f"versions/{v1.pk}/restore/"), {"revision": "1-1"}, format="json"
    )
    assert stale.status_code == 409
    restored = api.post(
        url(workflow, f"versions/{v1.pk}/restore/"), {"revision": revision}, format="json"
    )
    assert restored.status_code == 200
    assert restored.json()["draft"]["number"] == 2 and restored.json()["graph"] == API_GRAPH
    v1.refresh_from_db()
    assert v1.graph == API_GRAPH and v1.is_published  # the old version itself is untouched
    assert api.get(url(workflow, "versions/999999/")).status_code == 404


# --- 6. stats overlay ---------------------------------------------------------------------------


def test_the_overlay_counts_per_node_and_arm_in_a_date_range(
    api, ws, django_assert_max_num_queries
):
    graph = {
        "nodes": [
            {"id": "start", "type": "trigger.api", "config": {}},
            {"id": "vip", "type": "branch.condition", "config": {"filter": {"tag": "vip"}}},
            {"id": "wait", "type": "wait.duration", "config": {"days": 1}},
        ],
        "edges": [
            {"source": "start", "target": "vip"},
            {"source": "vip", "target": "wait", "port": "yes"},
        ],
    }
    workflow = make_workflow(ws, graph)
    for index in range(4):
        contact = Contact.objects.create(
            workspace=ws, email=f"c{index}@example.test", tags=["vip"] if index == 0 else []
        )
        api.post(url(workflow, "enroll/"), {"contact_id": contact.pk}, format="json")
    drain()
    today = timezone.now().date().isoformat()
    with django_assert_max_num_queries(12):
        body = api.get(url(workflow, f"overlay/?from={today}&to={today}")).json()
    nodes = {n["node"]: n for n in body["nodes"]}
    assert nodes["start"]["entered"] == 4
    assert nodes["vip"]["arms"] == [
        {"port": "no", "label": "No", "count": 3, "share": 75.0},
        {"port": "yes", "label": "Yes", "count": 1, "share": 25.0},
    ]
    assert (nodes["wait"]["entered"], nodes["wait"]["waiting"]) == (1, 1)
    stats = api.get(url(workflow, f"stats/?from={today}&to={today}")).json()
    assert {n["node"]: n["arms"] for n in stats["nodes"]}["vip"] == nodes["vip"]["arms"]
    long_ago = (timezone.now() - timedelta(days=40)).date().isoformat()
    before = api.get(url(workflow, f"overlay/?from={long_ago}&to={long_ago}")).json()
    assert {n["node"]: n["entered"] for n in before["nodes"]} == {"start": 0, "vip": 0, "wait": 0}
    bad = api.get(url(workflow, "overlay/?from=yesterday"))
    assert bad.status_code == 400 and bad.json()["error"]["fields"] == {
        "from": ["expected YYYY-MM-DD"]
    }


def test_the_contacts_at_a_node_link_to_their_profiles(api, ws, django_assert_max_num_queries):
    workflow = make_workflow(ws, API_GRAPH)
    _waiting_at_wait(api, ws, workflow, n=3)
    with django_assert_max_num_queries(8):
        body = api.get(url(workflow, "nodes/wait/contacts/")).json()
    assert body["count"] == 3
    row = body["results"][0]
    assert row["contact"]["url"] == f"/contacts/{row['contact']['id']}/"
    assert row["status"] == "waiting"
    entered = api.get(url(workflow, "nodes/start/contacts/?state=entered")).json()
    assert entered["count"] == 3
    assert api.get(url(workflow, "nodes/tag/contacts/")).json()["count"] == 0
    assert api.get(url(workflow, "nodes/wait/contacts/?state=bogus")).status_code == 400


# --- 7. test mode ---------------------------------------------------------------------------------


def test_test_mode_returns_the_path_with_times_and_the_rendered_email(api, ws, contact):
    template = email_template(ws, name="Hi", subject="Hello {{ contact.first_name }}")
    graph = chain(
        ("start", "trigger.api", {}),
        ("wait", "wait.duration", {"days": 2}),
        ("send", "action.email", {"template": template}),
    )
    workflow = make_workflow(ws, graph)
    body = api.post(url(workflow, "test/"), {"contact_id": contact.pk}, format="json").json()
    assert [p["node"] for p in body["path"] if p["outcome"] != "waiting"][-1] == "send"
    times = [p["at"] for p in body["path"]]
    assert times == sorted(times) and times[0] != times[-1]  # simulated time moved 2 days
    assert body["messages"][0]["subject"] == "Hello Ada"
    assert "Hi Ada" in body["messages"][0]["html"]
    assert not StepLog.objects.filter(workflow=workflow).exists()  # nothing happened for real


# --- 9. autocomplete ------------------------------------------------------------------------


def test_autocomplete_lists_received_events_by_frequency_with_their_properties(
    api, outsider_api, ws, tenant, django_capture_on_commit_callbacks
):
    from analytics.rollups import rollups_refresh

    with django_capture_on_commit_callbacks(execute=True):  # the ingestion pipeline runs
        for index in range(3):
            track(tenant, "Order Completed", f"u{index}", {"revenue": 10, "currency": "EUR"})
        track(tenant, "Opened App", "u1", {"screen": "home"})
    rollups_refresh()  # as beat does every few seconds
    events = api.get("/api/v1/workflows/autocomplete/events/").json()["results"]
    assert [(e["name"], e["count"]) for e in events] == [("Order Completed", 3), ("Opened App", 1)]
    prefixed = api.get("/api/v1/workflows/autocomplete/events/?q=op").json()["results"]
    assert [e["name"] for e in prefixed] == ["Opened App"]
    props = api.get("/api/v1/workflows/autocomplete/properties/?event=Order Completed").json()
    assert [p["name"] for p in props["results"]] == ["currency", "revenue"]
    assert api.get("/api/v1/workflows/autocomplete/properties/").status_code == 400
    fields = api.get("/api/v1/workflows/autocomplete/fields/?q=lead").json()["results"]
    score = next(f for f in fields if f["name"] == "score")
    assert (score["label"], score["type"]) == ("Lead score", "number")
    # The segments builder's operators for the field's type, so the canvas offers the same.
    assert score["operators"] == ["eq", "neq", "gt", "gte", "lt", "lte", "between", "in", "not_in"]
    stage = api.get("/api/v1/workflows/autocomplete/fields/?q=lifecycle").json()["results"][0]
    assert stage["operators"] == ["eq", "neq", "in", "not_in"] and "customer" in stage["choices"]
    # Another workspace sees none of it.
    assert outsider_api.get("/api/v1/workflows/autocomplete/events/").json()["results"] == []
    assert (
        outsider_api.get("/api/v1/workflows/autocomplete/properties/?event=Order Completed").json()[
            "results"
        ]
        == []
    )


# --- 10/11. gallery and import ------------------------------------------------------------------


def test_without_analytics_counts_the_event_picker_still_lists_received_events(
    api, tenant, monkeypatch, django_capture_on_commit_callbacks
):
    """Workflows asks analytics (the layer above it) for event counts only through
    workflows.hooks: with no provider registered the picker lists the events, counted 0."""
    from workflows import hooks

    monkeypatch.setattr(hooks, "_event_counts", [])
    with django_capture_on_commit_callbacks(execute=True):
        track(tenant, "Order Completed", "u1")
    events = api.get("/api/v1/workflows/autocomplete/events/").json()["results"]
    assert [(e["name"], e["count"]) for e in events] == [("Order Completed", 0)]


def test_the_gallery_gives_each_ready_made_workflow_its_graph_and_summaries(api):
    results = api.get("/api/v1/workflows/library/").json()["results"]
    cart = next(r for r in results if r["slug"] == "abandoned-cart")
    assert cart["graph"]["nodes"] and set(cart["summaries"]) == {
        n["id"] for n in cart["graph"]["nodes"]
    }
    assert any(s.startswith("Wait ") for s in cart["summaries"].values())


def test_an_imported_document_brings_its_templates_and_publishes(api, ws):
    """#16: a document's `templates` section is created and its $template: references
    resolved, whether it comes from the library or is posted as a document."""
    document = api.get("/api/v1/workflows/library/").json()["results"][0]["document"]
    assert "templates" in document
    response = api.post("/api/v1/workflows/import/", {"document": document}, format="json")
    assert response.status_code == 201, response.json()
    graph = json.dumps(response.json()["draft"]["graph"])
    assert "$template:" not in graph and "$list:" not in graph
    published = api.post(
        f"/api/v1/workflows/{response.json()['id']}/publish/",
        {"confirm_warnings": True},
        format="json",
    )
    assert published.status_code == 200, published.json()


def test_a_document_referring_to_a_template_it_does_not_bring_is_a_400(api, ws):
    from messaging.models import EmailTemplate

    document = {
        "name": "Dangling",
        "templates": {"known": {"channel": "email", "name": "K", "subject": "S",
                                "html": "<p>{{ workspace.physical_address }} {{ unsubscribe_url }}</p>"}},
        "graph": chain(("start", "trigger.api", {}), ("send", "action.email", {"template": "$template:nope"})),
    }  # fmt: skip
    response = api.post("/api/v1/workflows/import/", {"document": document}, format="json")
    assert response.status_code == 400
    assert "$template:nope" in response.json()["error"]["message"]
    assert not Workflow.objects.exists() and not EmailTemplate.objects.filter(workspace=ws).exists()


# --- isolation ------------------------------------------------------------------------------------


def test_another_workspace_gets_404_on_every_builder_endpoint(outsider_api, api, ws):
    workflow = make_workflow(ws, API_GRAPH)
    version = workflow.current_version.pk
    for method, path, body in [
        ("get", "draft/", {}),
        ("put", "draft/", {"graph": API_GRAPH}),
        ("post", "validate/", {}),
        ("get", "publish-summary/", {}),
        ("get", f"versions/{version}/", {}),
        ("post", f"versions/{version}/restore/", {}),
        ("get", "overlay/", {}),
        ("get", "nodes/wait/contacts/", {}),
        ("post", "publish/", {"confirm_warnings": True}),
    ]:
        response = getattr(outsider_api, method)(url(workflow, path), body, format="json")
        assert response.status_code == 404, (method, path, response.status_code)
    assert WorkflowVersion.objects.filter(workflow=workflow).count() == 1
    assert api.get(url(workflow, "draft/")).status_code == 200


# --- 8. preview on history ----------------------------------------------------------------------


def _cart_history(ws, now):
    people = {}
    for name in ("a", "b", "c", "d"):
        people[name] = Contact.objects.create(workspace=ws, email=f"{name}@example.test")
    for name, ago in (
        ("a", days_(10)),
        ("b", days_(5)),
        ("c", timedelta(hours=3)),
        ("d", days_(40)),
    ):
        event_record(workspace=ws, contact=people[name], name="Cart Abandoned", timestamp=now - ago)
    # b bought two hours after leaving the cart; the order comes back in the replay's wait
    event_record(workspace=ws, contact=people["b"], name="Order Completed",
                 timestamp=now - days_(5) + timedelta(hours=2))  # fmt: skip
    return people


def days_(n):
    return timedelta(days=n)


CART_GRAPH = {
    "nodes": [
        {"id": "start", "type": "trigger.event", "config": {"event": "Cart Abandoned"}},
        {"id": "wait", "type": "wait.until_event",
         "config": {"event": "Order Completed", "timeout": {"days": 1}}},
        {"id": "remind", "type": "action.email", "config": {"template": 0}},
    ],
    "edges": [
        {"source": "start", "target": "wait"},
        {"source": "wait", "target": "remind", "port": "timeout"},
    ],
}  # fmt: skip


def test_preview_replays_the_windows_events_through_the_draft(api, ws, outsider_api):
    from workflows.localtime import contact_zone

    now = timezone.now()
    _cart_history(ws, now)
    graph = json.loads(json.dumps(CART_GRAPH))
    graph["nodes"][2]["config"]["template"] = email_template(ws)
    workflow = Workflow.objects.create(workspace=ws, name="Cart", reentry="always")
    api.put(url(workflow, "draft/"), {"graph": graph}, format="json")
    body = api.post(url(workflow, "preview/"), {"days": 30}, format="json").json()
    assert body["matched"] == {"contacts": 3, "events": 3}  # d's cart is 40 days old
    assert body["sample"] == {"size": 3, "scale": 1.0, "exact": True}
    nodes = body["nodes"]
    assert [nodes[n]["entered"] for n in ("start", "wait", "remind")] == [3, 3, 1]
    assert nodes["wait"]["waiting_at_end"] == 1  # c's day is not over yet
    assert body["totals"] == {"email": 1, "sms": 0}
    zone = contact_zone(None, ws.timezone)
    sent_on = (now - days_(9)).astimezone(zone).date().isoformat()
    assert [d for d in body["messages"]["email"] if d["count"]] == [{"date": sent_on, "count": 1}]
    assert len(body["messages"]["email"]) in (30, 31)  # every day of the window, zeros too
    # Read-only: nothing ran, nothing was queued.
    assert not WorkflowRun.objects.exists() and not StepLog.objects.exists()
    # A smaller sample is scaled up to the matched population, and says so.
    sampled = api.post(url(workflow, "preview/"), {"days": 30, "sample": 2}, format="json").json()
    assert sampled["sample"] == {"size": 2, "scale": 1.5, "exact": False}
    assert sampled["nodes"]["start"]["entered"] == 3
    assert api.post(url(workflow, "preview/"), {"days": 0}, format="json").status_code == 400
    assert outsider_api.post(url(workflow, "preview/"), {}, format="json").status_code == 404


LOYAL_GRAPH = {
    "nodes": [
        {"id": "start", "type": "trigger.event", "config": {"event": "Cart Abandoned"}},
        {"id": "loyal", "type": "branch.condition", "config": {"filter": {
            "event": "Order Completed", "count": {"op": "gte", "value": 2}, "within_days": 30}}},
        {"id": "vip", "type": "action.tag_add", "config": {"tags": ["vip"]}},
        {"id": "new", "type": "action.tag_add", "config": {"tags": ["new"]}},
    ],
    "edges": [
        {"source": "start", "target": "loyal"},
        {"source": "loyal", "target": "vip", "port": "yes"},
        {"source": "loyal", "target": "new", "port": "no"},
    ],
}  # fmt: skip


def test_preview_evaluates_a_branchs_event_condition_at_each_moment_without_a_query_per_contact(
    api, ws
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    now = timezone.now()
    workflow = Workflow.objects.create(workspace=ws, name="Loyal", reentry="always")
    api.put(url(workflow, "draft/"), {"graph": LOYAL_GRAPH}, format="json")

    def shopper(name, orders_ago):
        contact = Contact.objects.create(workspace=ws, email=f"{name}@example.test")
        for ago in orders_ago:
            event_record(workspace=ws, contact=contact, name="Order Completed", timestamp=now - ago)
        event_record(
            workspace=ws, contact=contact, name="Cart Abandoned", timestamp=now - days_(10)
        )

    shopper("two-orders", [days_(20), days_(21)])
    shopper("one-order", [days_(20)])
    # Orders before the window (35 days ago) still count for a cart 10 days ago: the
    # branch looks 30 days back from the moment the contact reaches it.
    shopper("before-the-window", [days_(35), days_(36)])

    def preview():
        with CaptureQueriesContext(connection) as queries:
            body = api.post(url(workflow, "preview/"), {"days": 30}, format="json").json()
        return body, len(queries.captured_queries)

    preview()  # once first, so one-off lookups (caches, settings) are not counted below
    body, queries = preview()
    assert [body["nodes"][n]["entered"] for n in ("loyal", "vip", "new")] == [3, 2, 1]
    for i in range(4):
        shopper(f"more-{i}", [days_(1)])
    body, more_queries = preview()
    assert [body["nodes"][n]["entered"] for n in ("loyal", "vip", "new")] == [7, 2, 5]
    assert more_queries == queries  # the sample's events are loaded once, not per contact


def test_preview_of_an_unfinished_draft_names_what_is_missing(api, ws):
    workflow = Workflow.objects.create(workspace=ws, name="Unfinished")
    api.put(url(workflow, "draft/"), {"graph": {"nodes": [], "edges": []}}, format="json")
    response = api.post(url(workflow, "preview/"), {}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["problems"][0]["code"] == "no_trigger"
