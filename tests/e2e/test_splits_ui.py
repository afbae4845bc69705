"""Split decisions and the global control group in a real browser (issues #17, #18): the
builder's A/B split panel with each variant's numbers and the call, the marketer's "send all
future traffic to the winner", the workflow page's splits card, and the control group's
lift report. Screenshots go to artifacts/decisions/ (git-ignored) for the reviewer."""

from __future__ import annotations

import pytest

from tests.analytics.test_control_group import control_group_data
from tests.conftest import browser_login
from tests.e2e.test_decisions_ui import _shot
from tests.support.workflow_builder import node, open_builder
from tests.workflows.conftest import make_workflow
from tests.workflows.test_splits import split_graph, through
from workflows.models import Workflow

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_marketer_reads_a_splits_call_in_the_builder_and_sends_all_traffic_to_the_winner(
    page, tenant
):
    ws = tenant.workspace
    workflow = make_workflow(ws, split_graph(), name="Onboarding split")
    through(ws, workflow, "a", 600, 60)  # 10 %
    through(ws, workflow, "b", 600, 96)  # 16 %: B wins

    open_builder(page, tenant, workflow.pk, "ab")
    node(page, "ab").click()
    call = page.get_by_test_id("split-call")
    call.wait_for()
    assert call.inner_text().startswith("B wins: best with 100% probability")
    panel = page.get_by_test_id("split-decision")
    assert "600" in panel.locator('tr[data-variant="a"]').inner_text()
    assert "96" in panel.locator('tr[data-variant="b"]').inner_text()
    panel.scroll_into_view_if_needed()
    _shot(page, "builder-split-call")

    page.get_by_role("button", name="Send all future traffic to B").click()
    dialog = page.get_by_role("alertdialog")
    dialog.wait_for()
    assert Workflow.objects.get(pk=workflow.pk).split_winners == {}  # nothing until asked
    dialog.get_by_role("button", name="Send all to B").click()
    page.wait_for_selector('[data-testid="split-call"]:has-text("All traffic goes to B")')
    assert Workflow.objects.get(pk=workflow.pk).split_winners == {"ab": "b"}
    page.get_by_role("button", name="Stats", exact=True).first.click()  # the call on the node
    page.wait_for_selector('[data-testid="split-short"]:has-text("all to B")')
    page.get_by_role("tab", name="Step").click()
    panel.scroll_into_view_if_needed()
    _shot(page, "builder-split-all-to-b")

    page.get_by_role("button", name="Resume the split").click()
    page.wait_for_selector('[data-testid="split-call"]:has-text("B wins")')
    assert Workflow.objects.get(pk=workflow.pk).split_winners == {}


def test_the_workflow_page_says_what_a_split_still_needs(page, tenant):
    ws = tenant.workspace
    workflow = make_workflow(ws, split_graph(), name="Too early to tell")
    through(ws, workflow, "a", 300, 30)
    through(ws, workflow, "b", 300, 36)

    open_builder(page, tenant, workflow.pk, "ab")
    node(page, "ab").click()
    page.wait_for_selector('[data-testid="split-call"]:has-text("need 7,078 more")')
    assert page.get_by_role("button", name="Send all future traffic to B").count() == 0

    page.goto(f"/workflows/{workflow.pk}/")
    card = page.locator("#splits")
    assert "No winner yet — need 7,078 more contacts through the split." in card.inner_text()
    _shot(page, "workflow-page-splits")


def test_a_marketer_reads_the_global_control_groups_lift(page, tenant):
    control_group_data(tenant.workspace)  # 30 % of 100 treated convert, 10 % of 100 held back
    browser_login(page, tenant.owner)
    page.goto("/analytics/")
    page.click("#control-group-link")
    page.wait_for_selector("#lift-conversion")
    assert "Conversion: +20% points" in page.inner_text("#lift-conversion")
    assert "not significant" not in page.inner_text("#lift-conversion")
    assert "control group (10 %)" in page.inner_text("#control-group").lower()
    _shot(page, "control-group")

    page.set_viewport_size({"width": 375, "height": 800})
    page.wait_for_function("document.documentElement.scrollWidth <= window.innerWidth")
    _shot(page, "control-group-phone")
