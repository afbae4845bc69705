"""The builder page: what it embeds for the island, who may open it, the gallery and the
fixtures the island's unit tests use."""

import json
from pathlib import Path

import pytest
from django.urls import reverse

from tests.conftest import add_member, login_client
from workflows import library
from workflows.nodes import forms, registry
from workspaces.roles import Role

from .conftest import chain, make_workflow

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[2] / "frontend" / "builder" / "fixtures"
GRAPH = chain(
    ("start", "trigger.api", {}),
    ("tag", "action.tag_add", {"tags": ["x"]}),
)


def _boot(response) -> dict:  # noqa: ANN001
    html = response.content.decode()
    start = html.index('<script id="builder-boot" type="application/json">') + len(
        '<script id="builder-boot" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def test_the_builder_embeds_the_draft_the_registry_and_the_links(
    member_client, ws, django_assert_max_num_queries
):
    workflow = make_workflow(ws, GRAPH, name="Onboarding", publish=False)
    # 13: two of them read the attribute names and the received events' property keys for the
    # block email editor's merge tags
    with django_assert_max_num_queries(13):
        response = member_client.get(reverse("workflows:builder", args=[workflow.pk]))
    assert response.status_code == 200
    boot = _boot(response)
    assert boot["workflow"]["id"] == workflow.pk
    assert [n["id"] for n in boot["graph"]["nodes"]] == ["start", "tag"]
    assert {t["type"] for t in boot["nodeTypes"]} == set(registry())
    assert boot["canEdit"] is True
    assert boot["urls"]["detail"] == reverse("workflows:detail", args=[workflow.pk])
    assert 'src="/static/dist/builder.js"' in response.content.decode()
    # the send-email panel's block editor dialog: the workspace's merge tags
    assert boot["emailEditor"]["mergeTags"][0] == {
        "group": "Contact",
        "label": "First name",
        "tag": '{{ first_name | default("there") }}',
    }


def test_the_embedded_revision_saves_the_draft_and_is_refused_after_another_save(member_client, ws):
    """The page carries the draft's revision (the island's first save sends it), read with
    the graph: a save made by someone else after the page was opened is a conflict."""
    workflow = make_workflow(ws, GRAPH, name="Onboarding", publish=False)
    page = reverse("workflows:builder", args=[workflow.pk])
    draft = f"/api/v1/workflows/{workflow.pk}/draft/"
    revision = _boot(member_client.get(page))["revision"]
    assert revision == member_client.get(draft).json()["revision"]
    graph = {"nodes": GRAPH["nodes"], "edges": GRAPH["edges"]}
    saved = member_client.put(
        draft, {"graph": graph, "revision": revision}, content_type="application/json"
    )
    assert saved.status_code == 200
    stale = member_client.put(
        draft, {"graph": graph, "revision": revision}, content_type="application/json"
    )
    assert stale.status_code == 409
    assert _boot(member_client.get(page))["revision"] == saved.json()["revision"]


def test_a_new_workflow_opens_on_an_empty_graph(member_client, ws):
    from workflows.models import Workflow

    workflow = Workflow.objects.create(workspace=ws, name="Untitled workflow")
    boot = _boot(member_client.get(reverse("workflows:builder", args=[workflow.pk])))
    assert boot["graph"] == {"nodes": [], "edges": []}
    assert boot["workflow"]["draft"] is None


def test_a_viewer_opens_the_builder_read_only(ws):
    workflow = make_workflow(ws, GRAPH)
    viewer = login_client(add_member(ws, "viewer@acme.test", Role.VIEWER))
    response = viewer.get(reverse("workflows:builder", args=[workflow.pk]))
    assert response.status_code == 200
    assert _boot(response)["canEdit"] is False
    assert 'id="new-workflow"' not in viewer.get(reverse("workflows:list")).content.decode()


def test_another_workspaces_builder_is_a_404(outsider_client, ws):
    workflow = make_workflow(ws, GRAPH)
    response = outsider_client.get(reverse("workflows:builder", args=[workflow.pk]))
    assert response.status_code == 404


def test_the_gallery_embeds_each_ready_made_graph_and_opens_it_in_the_builder(member_client, ws):
    html = member_client.get(reverse("workflows:list")).content.decode()
    assert 'id="new-workflow"' in html
    for item in library.catalogue():
        assert f'data-thumbnail="{item["slug"]}"' in html
    response = member_client.post(
        reverse("workflows:import"), {"library": "welcome-series", "open": "builder"}
    )
    from workflows.models import Workflow

    workflow = Workflow.objects.get(workspace=ws)
    assert response.status_code == 302
    assert response.url == reverse("workflows:builder", args=[workflow.pk])


def _shape(types: list[dict]) -> dict[str, tuple]:
    return {
        t["type"]: (t["kind"], tuple(t["ports"]), tuple(sorted(t["schema"].get("required", []))))
        for t in types
    }


def test_the_islands_fixtures_match_the_servers_registry_and_library():
    """frontend/builder/fixtures feed the Vitest suite: the node types, kinds, ports and
    required keys, and the library's graphs, must be the server's. (Regenerate them with
    the two json.dump lines in docs/workflows.md § Builder, tests.)"""
    types = json.loads((FIXTURES / "node-types.json").read_text())
    assert _shape(types) == _shape([forms.describe(spec) for spec in registry().values()])
    graphs = json.loads((FIXTURES / "library-graphs.json").read_text())
    assert graphs == {item["slug"]: item["document"]["graph"] for item in library.catalogue()}
