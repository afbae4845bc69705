"""The reorder wait: a run waits until some days before the contact's predicted reorder date,
waits longer when the contact reorders meanwhile, and a contact without a prediction takes the
"No prediction" path at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Contact
from tests.workflows.conftest import drain, make_workflow
from workflows.models import RunStatus
from workflows.nodes import registry

from .conftest import ordered, shopper

pytestmark = pytest.mark.django_db

GRAPH = {
    "nodes": [
        {"id": "start", "type": "trigger.api"},
        {"id": "wait", "type": "wait.until_reorder", "config": {"days_before": 3}},
        {"id": "due", "type": "action.tag_add", "config": {"tags": ["reorder-soon"]}},
        {"id": "none", "type": "action.tag_add", "config": {"tags": ["no-prediction"]}},
    ],
    "edges": [
        {"source": "start", "target": "wait"},
        {"source": "wait", "target": "due"},
        {"source": "wait", "target": "none", "port": "no_prediction"},
    ],
}


def tags(contact: Contact) -> list[str]:
    return list(Contact.objects.get(pk=contact.pk).tags)


def test_the_wait_ends_three_days_before_the_predicted_reorder(ws, clock, api_enrol):
    now = timezone.now()
    ada = shopper(ws, "ada")
    ordered(ws, ada, ["P"], now - timedelta(days=20))
    ordered(ws, ada, ["P"], now - timedelta(days=2))  # every 18 days: next in 16, wait ends in 13
    workflow = make_workflow(ws, GRAPH)
    run = api_enrol(workflow, ada)
    run.refresh_from_db()
    assert run.status == RunStatus.WAITING and run.current_node == "wait"
    assert abs(run.next_step_at - (now + timedelta(days=13))) < timedelta(minutes=5)
    clock.shift(timedelta(days=12))
    drain()
    assert tags(ada) == []
    clock.shift(timedelta(days=1, hours=1))
    drain()
    assert tags(ada) == ["reorder-soon"]


def test_a_reorder_while_waiting_moves_the_end_of_the_wait(ws, clock, api_enrol):
    now = timezone.now()
    ada = shopper(ws, "ada")
    ordered(ws, ada, ["P"], now - timedelta(days=25))
    ordered(ws, ada, ["P"], now - timedelta(days=5))  # every 20 days: next in 15, wait ends in 12
    run = api_enrol(make_workflow(ws, GRAPH), ada)
    ordered(ws, ada, ["P"], now + timedelta(days=5))  # again: intervals 20 and 10, median 15
    clock.shift(timedelta(days=12, hours=1))
    drain()
    run.refresh_from_db()
    assert tags(ada) == [] and run.status == RunStatus.WAITING
    assert abs(run.next_step_at - (now + timedelta(days=17))) < timedelta(minutes=5)
    clock.shift(timedelta(days=5))
    drain()
    assert tags(ada) == ["reorder-soon"]


def test_without_a_prediction_the_contact_takes_the_no_prediction_path(ws, api_enrol):
    bob = shopper(ws, "bob")
    api_enrol(make_workflow(ws, GRAPH), bob)
    assert tags(bob) == ["no-prediction"]


def test_the_commerce_node_types_are_listed_for_the_builder():
    types = registry()
    assert {
        "trigger.browse_abandoned",
        "trigger.back_in_stock",
        "trigger.price_drop",
        "wait.until_reorder",
    } <= set(types)
    assert types["wait.until_reorder"].ports == ("default", "no_prediction")
