"""Ready-made workflows import as drafts (with their templates and lists) and publish."""

import pytest

from workflows import library
from workflows.models import Workflow

pytestmark = pytest.mark.django_db

SLUGS = [
    "abandoned-cart",
    "lead-nurture",
    "mql-handoff",
    "post-purchase",
    "predicted-win-back",
    "welcome-series",
    "win-back",
]


def test_the_library_lists_seven_workflows(api):
    results = api.get("/api/v1/workflows/library/").json()["results"]
    assert sorted(r["slug"] for r in results) == SLUGS


@pytest.mark.parametrize("slug", SLUGS)
def test_each_ready_made_workflow_imports_and_publishes(api, ws, slug):
    response = api.post("/api/v1/workflows/import/", {"library": slug}, format="json")
    assert response.status_code == 201, response.json()
    workflow_id = response.json()["id"]
    # A new workspace has received none of the events these listen for: publishing asks
    # to confirm that warning first.
    published = api.post(
        f"/api/v1/workflows/{workflow_id}/publish/", {"confirm_warnings": True}, format="json"
    )
    assert published.status_code == 200, published.json()
    assert Workflow.objects.get(pk=workflow_id).status == "active"


def test_an_exported_workflow_imports_again(api, ws):
    workflow = library.library_import(workspace=ws, slug="welcome-series")
    document = api.get(f"/api/v1/workflows/{workflow.pk}/export/").json()
    response = api.post(
        "/api/v1/workflows/import/", {"document": document, "name": "Copy"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["draft"]["graph"] == workflow.versions.get().graph


def test_importing_an_unknown_library_entry_is_a_404(api):
    assert (
        api.post("/api/v1/workflows/import/", {"library": "nope"}, format="json").status_code == 404
    )
