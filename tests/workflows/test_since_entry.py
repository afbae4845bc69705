"""An event condition "since entering the workflow": a branch asks whether the contact did
something during this run (did Order Completed since entering), not ever or in N days."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.services import event_record, events_enqueue_processing
from workflows.conditions import since_entry_errors, since_entry_resolve
from workflows.graph.graph import graph_validate
from workflows.graph.words import filter_words
from workflows.models import RunStatus
from workflows.nodes.checks import filter_errors
from workspaces.errors import ValidationFailed

from .conftest import chain, days, drain, make_workflow, run_of

pytestmark = pytest.mark.django_db

BOUGHT = {"all": [{"event": "Order Completed", "since_entry": True}]}


def abandoned_cart() -> dict:
    graph = chain(
        ("start", "trigger.event", {"event": "Cart Abandoned"}),
        ("wait", "wait.duration", {"days": 1}),
        ("bought", "branch.condition", {"filter": BOUGHT}),
    )
    graph["nodes"] += [
        {"id": "thanks", "type": "action.tag_add", "config": {"tags": ["bought"]}},
        {"id": "remind", "type": "action.tag_add", "config": {"tags": ["reminded"]}},
    ]
    graph["edges"] += [
        {"source": "bought", "target": "thanks", "port": "yes"},
        {"source": "bought", "target": "remind", "port": "no"},
    ]
    return graph


def fire(ws, contact, name, capture, **kwargs):
    event = event_record(workspace=ws, contact=contact, name=name, source="api", **kwargs)
    with capture(execute=True):
        events_enqueue_processing(workspace=ws, event_ids=[event.pk])


def test_an_order_before_entering_does_not_count_one_after_does(
    ws, clock, django_capture_on_commit_callbacks
):
    from contacts.models import Contact

    workflow = make_workflow(ws, abandoned_cart())
    earlier = Contact.objects.create(workspace=ws, email="earlier@example.test")
    during = Contact.objects.create(workspace=ws, email="during@example.test")
    # An order two days ago: "in the last 30 days" would say yes; since entering says no.
    two_days_ago = timezone.now() - timedelta(days=2)
    fire(ws, earlier, "Order Completed", django_capture_on_commit_callbacks, timestamp=two_days_ago)
    for contact in (earlier, during):
        fire(ws, contact, "Cart Abandoned", django_capture_on_commit_callbacks)
    drain()
    assert run_of(workflow, during).status == RunStatus.WAITING
    fire(ws, during, "Order Completed", django_capture_on_commit_callbacks)

    clock.shift(days(1))
    drain()
    for contact in (earlier, during):
        contact.refresh_from_db()
        assert run_of(workflow, contact).status == RunStatus.COMPLETED
    assert (earlier.tags, during.tags) == (["reminded"], ["bought"])


def test_it_is_said_in_words_on_the_node():
    assert filter_words(BOUGHT) == "performed “Order Completed” since entering"


def test_it_resolves_to_the_runs_own_window_and_leaves_other_trees_alone():
    entered, now = timezone.now() - timedelta(hours=3), timezone.now()
    resolved = since_entry_resolve(BOUGHT, entered_at=entered, now=now)
    assert resolved == {
        "all": [{"event": "Order Completed", "between": [entered.isoformat(), now.isoformat()]}]
    }
    plain = {"all": [{"event": "Order Completed", "within_days": 3}]}
    assert since_entry_resolve(plain, entered_at=entered, now=now) is plain


@pytest.mark.parametrize(
    ("tree", "in_run", "path"),
    [
        (BOUGHT, False, "all[0].since_entry"),  # a trigger's filter: nobody has entered yet
        ({"all": [{"event": "x", "since_entry": "yes"}]}, True, "all[0].since_entry"),
        (
            {"all": [{"event": "x", "since_entry": True, "within_days": 3}]},
            True,
            "all[0].since_entry",
        ),
        ({"any": [{"not": {"tag": "vip", "since_entry": True}}]}, True, "any[0].not.since_entry"),
    ],
)
def test_a_misplaced_since_entry_is_named_by_its_path(tree, in_run, path):
    assert list(since_entry_errors(tree, allowed=in_run)) == [path]


def test_branches_take_it_and_triggers_refuse_it_when_the_graph_is_checked(ws):
    assert filter_errors(BOUGHT, ws, in_run=True) == []
    graph_validate(abandoned_cart(), workspace=ws)
    refused = chain(
        ("start", "trigger.event", {"event": "Cart Abandoned", "filter": BOUGHT}),
        ("tag", "action.tag_add", {"tags": ["x"]}),
    )
    with pytest.raises(ValidationFailed) as error:
        graph_validate(refused, workspace=ws)
    assert "since entering the workflow" in str(error.value.fields)


def test_preview_on_history_looks_from_each_replayed_entry(ws):
    from contacts.models import Contact
    from workflows.models import Workflow
    from workflows.preview.history import preview_on_history

    now = timezone.now()
    workflow = Workflow.objects.create(workspace=ws, name="Carts", reentry="always")

    def shopper(name, order_after_cart_hours):
        contact = Contact.objects.create(workspace=ws, email=f"{name}@example.test")
        cart = now - timedelta(days=5)
        event_record(
            workspace=ws, contact=contact, name="Cart Abandoned", timestamp=cart, source="api"
        )
        event_record(
            workspace=ws,
            contact=contact,
            name="Order Completed",
            timestamp=cart + timedelta(hours=order_after_cart_hours),
            source="api",
        )

    shopper("after", 3)  # ordered during the day's wait: bought
    shopper("before", -48)  # ordered two days before the cart: reminded
    body = preview_on_history(workspace=ws, workflow=workflow, graph_data=abandoned_cart())
    assert [body["nodes"][n]["entered"] for n in ("bought", "thanks", "remind")] == [2, 1, 1]
