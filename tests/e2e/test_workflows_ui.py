"""A marketer imports a ready-made workflow, sees its graph and publishes it, in a real browser."""

import pytest

from tests.conftest import browser_login
from workflows.models import Workflow

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_import_view_the_graph_and_publish(page, tenant):
    browser_login(page, tenant.owner)
    page.click(".nav-item:has-text('Workflows')")
    page.wait_for_selector("text=Start from a ready-made workflow")
    page.locator(".wf-gallery-item", has_text="Abandoned cart").locator(
        "button", has_text="Use"
    ).click()
    page.wait_for_selector(".wb-node")  # the gallery opens it in the builder
    page.click("text=Runs & details")
    page.wait_for_selector("#workflow-graph svg")
    assert page.locator(".wf-node").count() == 10
    assert page.locator(".wf-port", has_text="timeout").count() == 3
    page.click("button:has-text('Publish v1')")
    page.wait_for_selector("text=Published")
    assert Workflow.objects.get().status == "active"
    page.click("button:has-text('Pause')")
    page.wait_for_selector(".badge:has-text('Paused')")
