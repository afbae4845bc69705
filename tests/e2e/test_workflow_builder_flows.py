"""The abandoned-cart flow built in a real browser (Debian Chromium) from an empty workflow,
and the builder's lifecycle screens: preview on history, version history, deleting a step
that still holds contacts. Screenshots go to artifacts/builder/ (git-ignored)."""

from __future__ import annotations

import pytest

from contacts.models import Contact
from messaging.models import EmailTemplate
from tests.support.ingest import post_batch
from tests.support.worker import running_worker, wait_for
from tests.support.workflow_builder import (
    graph_of,
    node,
    open_new_workflow,
    pick,
    publish_through_dialog,
    shot,
    wait_saved,
)
from workflows.models import Workflow, WorkflowRun

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_build_the_abandoned_cart_flow_from_an_empty_workflow_and_a_shopper_enters(page, tenant):
    workflow_id = open_new_workflow(page, tenant)
    # Trigger: a checkout was started.
    page.get_by_role("button", name="Choose a trigger").click()
    pick(page, "event", "trigger.event")
    node(page, "trigger_1").wait_for()
    page.get_by_label("Event name").fill("Checkout Started")

    # Wait one hour.
    page.click('[data-add="trigger_1:default"]')
    pick(page, "wait", "wait.duration")
    node(page, "wait_1").wait_for()
    page.get_by_label("Wait for unit").select_option("hours")
    page.get_by_label("Wait for", exact=True).fill("1")
    assert "wait 1 hour" in node(page, "wait_1").inner_text()

    # If / else: did they complete an order since (in the last day)? Built in the side panel.
    page.click('[data-add="wait_1:default"]')
    pick(page, "if", "branch.condition")
    node(page, "if_1").wait_for()
    assert node(page, "if_1").locator(".wb-badge").count() == 1  # no condition yet
    page.get_by_label("Add a condition").select_option("event")
    step = page.locator(".wb-step")
    step.get_by_label("Event name").fill("Order Completed")
    step.get_by_label("Within days").fill("1")
    assert "did Order Completed in the last 1 days" in node(page, "if_1").inner_text()

    # No order: send the reminder, with a template created right here in the side panel.
    page.click('[data-add="if_1:no"]')
    pick(page, "send email", "action.email")
    node(page, "email_1").wait_for()
    page.get_by_role("button", name="+ New template here").click()
    page.get_by_label("Template name").fill("Cart reminder")
    page.get_by_label("Subject").fill("You left something behind")
    page.get_by_label("Message").fill("Hi {{ contact.first_name }},\n\nYour cart is waiting.")
    page.get_by_role("button", name="Create template").click()
    page.wait_for_selector('[data-testid="template-subject"]:text-is("You left something behind")')
    assert "Cart reminder" in node(page, "email_1").inner_text()
    # They bought: leave the workflow (the yes arm is beside the no arm: fit the view first).
    page.get_by_role("button", name="Fit View").click()
    page.click('[data-add="if_1:yes"]')
    pick(page, "exit", "action.exit")
    node(page, "exit_1").wait_for()
    wait_saved(page)
    page.wait_for_function("!document.querySelector('.wb-node.has-warning')")
    shot(page, "10-abandoned-cart")

    publish_through_dialog(page, expect_warning="Checkout Started")
    shot(page, "11-abandoned-cart-published")

    template = EmailTemplate.objects.get(workspace=tenant.workspace, name="Cart reminder")
    assert "{{ unsubscribe_url }}" in template.current_version.html
    graph = graph_of(tenant, workflow_id)
    assert [(n["id"], n["type"], n["config"]) for n in graph["nodes"]] == [
        ("trigger_1", "trigger.event", {"event": "Checkout Started"}),
        ("wait_1", "wait.duration", {"hours": 1}),
        (
            "if_1",
            "branch.condition",
            {"filter": {"all": [{"event": "Order Completed", "within_days": 1}]}},
        ),
        ("email_1", "action.email", {"template": template.pk}),
        ("exit_1", "action.exit", {}),
    ]
    assert sorted((e["source"], e["target"], e.get("port")) for e in graph["edges"]) == [
        ("if_1", "email_1", "no"),
        ("if_1", "exit_1", "yes"),
        ("trigger_1", "wait_1", None),
        ("wait_1", "if_1", None),
    ]

    # A shopper starts a checkout: the real pipeline (a Celery worker) enrols them, and
    # they wait at the one-hour wait.
    with running_worker():
        post_batch(
            tenant.write_key,
            [
                {
                    "type": "identify",
                    "userId": "shopper-1",
                    "traits": {"email": "shopper@example.test", "firstName": "Sam"},
                    "messageId": "id-1",
                },
                {
                    "type": "track",
                    "userId": "shopper-1",
                    "event": "Checkout Started",
                    "properties": {"total": 120},
                    "messageId": "ev-1",
                },
            ],
        )
        run = wait_for(
            lambda: WorkflowRun.objects.filter(
                workflow_id=workflow_id, contact__email="shopper@example.test"
            ).first(),
            message="the shopper entered the abandoned-cart workflow",
        )
        wait_for(
            lambda: WorkflowRun.objects.filter(pk=run.pk, current_node="wait_1").exists(),
            message="the run waits at the one-hour wait",
        )
    assert Workflow.objects.get(pk=workflow_id).status == "active"
    assert Contact.objects.get(email="shopper@example.test").first_name == "Sam"
