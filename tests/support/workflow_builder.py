"""The workflow builder page driven like a marketer would (tests/e2e): open a new workflow,
pick steps, wait for the autosave, read the saved graph back through the API.

Screenshots go to artifacts/builder/ (git-ignored) for the reviewer."""

from __future__ import annotations

from pathlib import Path

from rest_framework.test import APIClient

from tests.conftest import browser_login

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "builder"


def shot(page, name: str) -> None:  # noqa: ANN001
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def api_for(tenant) -> APIClient:  # noqa: ANN001
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tenant.secret_key}")
    return client


def open_new_workflow(page, tenant) -> int:  # noqa: ANN001
    browser_login(page, tenant.owner)
    page.goto("/workflows/")
    page.click("#new-workflow")
    page.wait_for_url("**/builder/")
    page.wait_for_selector("text=How do contacts enter this workflow?")
    return int(page.url.rstrip("/").split("/")[-2])


def pick(page, query: str, type_name: str) -> None:  # noqa: ANN001
    """In the open picker: search, then choose the step type."""
    picker = page.locator(".wb-picker")
    picker.wait_for()
    picker.get_by_label("Search steps").fill(query)
    picker.locator(f'[data-type="{type_name}"]').click()
    picker.wait_for(state="detached")


def node(page, node_id: str):  # noqa: ANN001, ANN201
    return page.locator(f'.wb-node[data-node="{node_id}"]')


def wait_then_email(page, after: str, wait_id: str, days: int, template: str) -> None:  # noqa: ANN001
    """ "+ Add step" under `after` → a wait through the picker; then "Send email" dragged
    from the palette onto the empty arm under the wait; each configured in the side panel."""
    page.click(f'[data-add="{after}:default"]')
    pick(page, "wait", "wait.duration")
    node(page, wait_id).wait_for()
    page.get_by_label("Wait for", exact=True).fill(str(days))
    page.drag_and_drop('[data-palette="action.email"]', f'[data-add="{wait_id}:default"]')
    page.wait_for_selector(".wb-step h2:has-text('Send email')")
    page.get_by_label("Email template").select_option(label=template)


def wait_saved(page) -> None:  # noqa: ANN001
    page.wait_for_selector('[data-testid="save-state"]:text-is("Saved")')


def graph_of(tenant, workflow_id: int, which: str = "current") -> dict:  # noqa: ANN001
    versions = api_for(tenant).get(f"/api/v1/workflows/{workflow_id}/versions/").json()["results"]
    if which == "current":
        versions = [v for v in versions if v["is_published"]]
    else:
        versions = [v for v in versions if not v["is_published"]]
    return max(versions, key=lambda v: v["number"])["graph"]


def publish_through_dialog(page, *, expect_warning: str | None = None) -> None:  # noqa: ANN001
    """Publish → the dialog (summary, warnings to acknowledge) → Publish now → active."""
    page.click("button:has-text('Publish')")
    dialog = page.get_by_role("dialog", name="Publish this workflow?")
    dialog.wait_for()
    if expect_warning is not None:
        assert expect_warning in dialog.inner_text()
    if dialog.get_by_role("checkbox").count():  # warnings (e.g. an event never received)
        dialog.get_by_role("checkbox").check()
    dialog.get_by_role("button", name="Publish now").click()
    dialog.wait_for(state="detached")  # closes once published (a live workflow was active before)
    page.wait_for_selector('[data-testid="workflow-status"]:text-is("active")')


def open_builder(page, tenant, workflow_id: int, first_node: str) -> None:  # noqa: ANN001
    browser_login(page, tenant.owner)
    page.goto(f"/workflows/{workflow_id}/builder/")
    node(page, first_node).wait_for()
