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
    open_builder,
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

    # If / else: did they complete an order since entering the workflow? Built in the side
    # panel with the one condition editor (the window is the run's own, not N days).
    page.click('[data-add="wait_1:default"]')
    pick(page, "if", "branch.condition")
    node(page, "if_1").wait_for()
    assert node(page, "if_1").locator(".wb-badge").count() == 1  # no condition yet
    page.get_by_label("Add a condition").select_option("event")
    step = page.locator(".wb-step")
    step.get_by_label("Event name").fill("Order Completed")
    step.get_by_label("When").select_option("entry")
    assert "did Order Completed since entering" in node(page, "if_1").inner_text()

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
            {"filter": {"all": [{"event": "Order Completed", "since_entry": True}]}},
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


def test_preview_on_history_shows_per_step_numbers_and_the_sample_size(page, tenant):
    from datetime import timedelta

    from django.utils import timezone

    from contacts.services.events import event_record
    from tests.workflows.conftest import chain, email_template, make_workflow

    now = timezone.now()
    for index, ago in enumerate((1, 3, 5)):
        shopper = Contact.objects.create(
            workspace=tenant.workspace, email=f"cart{index}@example.test"
        )
        event_record(
            workspace=tenant.workspace,
            contact=shopper,
            name="Checkout Started",
            timestamp=now - timedelta(days=ago),
        )
    template = email_template(tenant.workspace, name="Cart reminder")
    workflow = make_workflow(
        tenant.workspace,
        chain(
            ("start", "trigger.event", {"event": "Checkout Started"}),
            ("remind", "action.email", {"template": template}),
        ),
        publish=False,
    )
    open_builder(page, tenant, workflow.pk, "remind")
    page.get_by_role("tab", name="Preview").click()
    page.get_by_label("Days of history").select_option("7")
    page.get_by_role("button", name="Run preview").click()
    sample = page.get_by_test_id("preview-sample")
    sample.wait_for()
    assert "3 contacts would have entered" in sample.inner_text()
    assert "replayed all of them" in sample.inner_text()
    assert "would have sent 3 emails" in page.get_by_test_id("preview-totals").inner_text()
    for step in ("start", "remind"):
        assert node(page, step).get_by_test_id("node-preview").inner_text() == "would enter: 3"
    shot(page, "12-preview-on-history")
    assert not WorkflowRun.objects.filter(workflow=workflow).exists()  # read-only


def test_an_old_version_opens_read_only_and_is_restored_as_the_draft(page, tenant):
    from tests.workflows.conftest import chain, make_workflow

    workflow = make_workflow(
        tenant.workspace,
        chain(("start", "trigger.api", {}), ("wait", "wait.duration", {"days": 1})),
    )
    open_builder(page, tenant, workflow.pk, "wait")
    node(page, "wait").click()
    page.get_by_label("Wait for", exact=True).fill("3")
    wait_saved(page)
    publish_through_dialog(page)
    assert graph_of(tenant, workflow.pk)["nodes"][1]["config"] == {"days": 3}

    page.get_by_role("tab", name="Versions").click()
    page.get_by_role("button", name="Open version 1 read-only").click()
    page.wait_for_selector("text=Viewing version 1 (read-only).")
    assert "wait 1 day" in node(page, "wait").inner_text()
    assert page.locator(".wb-add-btn, .wb-plus, .wb-palette").count() == 0  # nothing to edit
    shot(page, "13-old-version")
    page.locator(".wb-banner").get_by_role("button", name="Restore as draft").click()
    page.wait_for_selector("text=Viewing version 1 (read-only).", state="detached")
    assert "wait 1 day" in node(page, "wait").inner_text()
    wait_saved(page)
    assert graph_of(tenant, workflow.pk, "draft")["nodes"][1]["config"] == {"days": 1}
    assert graph_of(tenant, workflow.pk)["nodes"][1]["config"] == {"days": 3}  # live: v2
    # The restored draft is editable again.
    page.click('[data-add="wait:default"]')
    pick(page, "tag", "action.tag_add")
    node(page, "tag_add_1").wait_for()


def test_deleting_a_step_where_contacts_wait_says_the_count_and_asks_where_they_go(page, tenant):
    from tests.workflows.conftest import chain, drain, make_workflow
    from workflows.runs.enrolment import enrol_contact

    workflow = make_workflow(
        tenant.workspace,
        chain(
            ("start", "trigger.api", {}),
            ("wait", "wait.duration", {"days": 3}),
            ("tag", "action.tag_add", {"tags": ["done"]}),
        ),
    )
    for index in range(2):
        contact = Contact.objects.create(workspace=tenant.workspace, email=f"w{index}@example.test")
        enrol_contact(
            workspace=tenant.workspace, workflow_id=workflow.pk, contact=contact, key="e2e"
        )
    drain()
    open_builder(page, tenant, workflow.pk, "wait")
    node(page, "wait").click()
    page.keyboard.press("Delete")
    dialog = page.get_by_role("alertdialog")
    dialog.wait_for()
    dialog.get_by_text("2 contacts wait here in the live version").wait_for()
    shot(page, "14-delete-step-with-contacts")
    dialog.get_by_role("button", name="Delete").click()
    node(page, "wait").wait_for(state="detached")
    wait_saved(page)

    page.click("button:has-text('Publish')")
    publish = page.get_by_role("dialog", name="Publish this workflow?")
    publish.wait_for()
    move = publish.locator(".wb-move")
    assert "2 waiting at wait" in move.inner_text()
    assert publish.get_by_role("button", name="Publish now").is_disabled()
    move.locator("select").select_option("tag")
    shot(page, "15-move-waiting-contacts")
    publish.get_by_role("button", name="Publish now").click()
    publish.wait_for(state="detached")
    page.wait_for_selector('[data-testid="workflow-status"]:text-is("active")')
    drain()
    runs = WorkflowRun.objects.filter(workflow=workflow)
    assert {(r.version.number, r.current_node, r.status) for r in runs} == {(2, "tag", "completed")}
    assert all("done" in r.contact.tags for r in runs)


def test_lists_and_people_are_picked_by_search_and_conditions_say_what_is_wrong(page, tenant):
    from segments.services import segment_create
    from tests.conftest import add_member
    from tests.workflows.conftest import chain, make_workflow
    from workspaces.roles import Role

    newsletter = segment_create(workspace=tenant.workspace, name="Newsletter", kind="static")
    segment_create(workspace=tenant.workspace, name="News readers (dynamic)", filter={"all": []})
    rep = add_member(tenant.workspace, "rita.rep@acme.test", Role.SALES)
    workflow = make_workflow(tenant.workspace, chain(("start", "trigger.api", {})), publish=False)
    open_builder(page, tenant, workflow.pk, "start")

    page.click('[data-add="start:default"]')
    pick(page, "add to list", "action.list_add")
    lists = page.get_by_role("combobox", name="Static list")
    lists.fill("news")
    options = page.get_by_role("option")
    assert options.all_inner_texts() == ["Newsletter 0 contacts"]  # static lists only
    lists.press("Enter")
    assert "to Newsletter" in node(page, "list_add_1").inner_text()

    page.click('[data-add="list_add_1:default"]')
    pick(page, "assign owner", "action.assign_owner")
    people = page.get_by_role("combobox", name="Owner")
    people.fill("rita")
    page.get_by_role("option", name="rita.rep@acme.test").click()
    assert "to rita.rep@acme.test" in node(page, "assign_owner_1").inner_text()

    page.click('[data-add="assign_owner_1:default"]')
    pick(page, "if", "branch.condition")
    step = page.locator(".wb-step")
    page.get_by_label("Add a condition").select_option("field")
    step.get_by_label("Field").fill("score")
    step.get_by_label("Operator").select_option(label="is between")
    step.get_by_label("Value from").fill("50")
    step.get_by_text("Lead score: give both ends of the range").wait_for()
    step.get_by_label("Value to").fill("10")
    step.get_by_text("Lead score: the range starts after it ends").wait_for()
    assert node(page, "if_1").locator(".wb-badge").count() == 1
    shot(page, "16-condition-in-words")
    step.get_by_label("Value to").fill("80")
    page.wait_for_function("!document.querySelector('.wb-step .cb-error')")
    wait_saved(page)
    graph = graph_of(tenant, workflow.pk, "draft")
    configs = {n["id"]: n["config"] for n in graph["nodes"]}
    assert configs["list_add_1"] == {"list": newsletter.pk}
    assert configs["assign_owner_1"] == {"owner": rep.pk}
    assert configs["if_1"] == {
        "filter": {"all": [{"field": "score", "op": "between", "value": [50, 80]}]}
    }
