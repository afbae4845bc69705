"""Back in stock, price drop and browse abandonment: each signal reaches each interested
contact exactly once, and starts the workflows that listen for it once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from commerce.models import Product
from commerce.selectors import BACK_IN_STOCK, BROWSE_ABANDONED, PRICE_DROPPED
from commerce.services import ProductRow, browse_abandonment_scan, products_upsert
from contacts.models import Event
from tests.workflows.conftest import chain, drain, make_workflow
from workflows.models import WorkflowRun

from .conftest import added, ordered, shopper, viewed

pytestmark = pytest.mark.django_db


def feed(ws, pid: str, **fields) -> None:
    products_upsert(
        workspace=ws, rows=[ProductRow(product_id=pid, at=timezone.now(), **fields)], source="feed"
    )


def signals(ws, name: str) -> list[tuple[str, dict]]:
    return [
        (e.contact.first_name.lower(), e.properties)
        for e in Event.objects.filter(workspace=ws, name=name)
        .select_related("contact")
        .order_by("contact__first_name", "id")
    ]


def test_back_in_stock_reaches_each_interested_contact_once_per_restock(
    ws, django_capture_on_commit_callbacks
):
    now = timezone.now()
    feed(ws, "A", in_stock=False, price=Decimal("10"))
    ada, bob, cy, dee = (shopper(ws, n) for n in ("ada", "bob", "cy", "dee"))
    viewed(ws, ada, "A", now - timedelta(days=2))
    added(ws, bob, "A", now - timedelta(days=1))
    viewed(ws, cy, "A", now - timedelta(days=3))
    ordered(ws, cy, ["A"], now - timedelta(days=1))  # bought it since: not told
    viewed(ws, dee, "A", now - timedelta(days=45))  # too long ago
    workflow = make_workflow(
        ws,
        chain(
            ("start", "trigger.back_in_stock", {"product": "A"}),
            ("tag", "action.tag_add", {"tags": ["restock"]}),
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        feed(ws, "A", in_stock=True)
    with django_capture_on_commit_callbacks(execute=True):
        feed(ws, "A", in_stock=True)  # the same feed again: no flip, nothing new
    drain()
    told = signals(ws, BACK_IN_STOCK)
    assert [who for who, _ in told] == ["ada", "bob"]
    assert told[0][1]["product_id"] == "A" and told[0][1]["url"] == "https://shop.test/p/A"
    assert WorkflowRun.objects.filter(workflow=workflow).count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        feed(ws, "A", in_stock=False)
        feed(ws, "A", in_stock=True)  # a second restock is news again
    assert [who for who, _ in signals(ws, BACK_IN_STOCK)] == ["ada", "ada", "bob", "bob"]


def test_a_price_drop_is_told_once_and_the_trigger_wants_its_percentage(
    ws, django_capture_on_commit_callbacks
):
    now = timezone.now()
    feed(ws, "A", price=Decimal("100"))
    ada = shopper(ws, "ada")
    viewed(ws, ada, "A", now - timedelta(days=1))
    ten = make_workflow(
        ws,
        chain(
            ("start", "trigger.price_drop", {"min_percent": 10}),
            ("tag", "action.tag_add", {"tags": ["drop"]}),
        ),
        name="10%",
    )
    with django_capture_on_commit_callbacks(execute=True):
        feed(ws, "A", price=Decimal("95"))  # 5 %: told, but below the workflow's 10 %
    with django_capture_on_commit_callbacks(execute=True):
        feed(ws, "A", price=Decimal("95"))  # unchanged: nothing
        feed(ws, "A", price=Decimal("99"))  # up: nothing
    with django_capture_on_commit_callbacks(execute=True):
        feed(ws, "A", price=Decimal("79.20"))  # 20 % below 99
    drain()
    told = signals(ws, PRICE_DROPPED)
    assert [(p["old_price"], p["new_price"], p["drop_percent"]) for _, p in told] == [
        (100.0, 95.0, 5.0),
        (99.0, 79.2, 20.0),
    ]
    (run,) = WorkflowRun.objects.filter(workflow=ten)
    assert run.context["trigger"]["properties"]["drop_percent"] == 20.0  # not the 5 % one


def test_browse_abandonment_is_signalled_once_per_session_and_not_after_an_add(
    ws, settings, django_capture_on_commit_callbacks
):
    settings.COMMERCE_BROWSE_ABANDON_HOURS = 1
    now = timezone.now()
    ada, bob, cy = (shopper(ws, n) for n in ("ada", "bob", "cy"))
    viewed(ws, ada, "A", now - timedelta(minutes=150), category="Shoes")
    viewed(ws, ada, "B", now - timedelta(minutes=90), category="Shoes")
    viewed(ws, bob, "A", now - timedelta(minutes=120))
    added(ws, bob, "B", now - timedelta(minutes=100))  # put something in the cart: not abandoned
    viewed(ws, cy, "A", now - timedelta(minutes=100))
    viewed(ws, cy, "B", now - timedelta(minutes=20))  # still browsing
    workflow = make_workflow(
        ws,
        chain(
            ("start", "trigger.browse_abandoned", {"category": "shoes"}),
            ("tag", "action.tag_add", {"tags": ["browsed"]}),
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert browse_abandonment_scan(workspace=ws, now=now) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert browse_abandonment_scan(workspace=ws, now=now + timedelta(minutes=5)) == 0
    drain()
    ((who, properties),) = signals(ws, BROWSE_ABANDONED)
    assert who == "ada"
    assert [p["product_id"] for p in properties["products"]] == ["B", "A"]  # latest first
    assert WorkflowRun.objects.filter(workflow=workflow).count() == 1
    with django_capture_on_commit_callbacks(execute=True):  # cy's session ends later
        assert browse_abandonment_scan(workspace=ws, now=now + timedelta(minutes=50)) == 1
    assert [who for who, _ in signals(ws, BROWSE_ABANDONED)] == ["ada", "cy"]


def test_signals_stay_in_their_workspace(ws, other_ws, django_capture_on_commit_callbacks):
    now = timezone.now()
    feed(other_ws, "A", in_stock=False)
    viewed(other_ws, shopper(other_ws, "eve"), "A", now - timedelta(days=1))
    feed(ws, "A", in_stock=False)
    with django_capture_on_commit_callbacks(execute=True):
        feed(ws, "A", in_stock=True)
    assert not Event.objects.filter(name=BACK_IN_STOCK).exists()
    assert Product.objects.get(workspace=other_ws, product_id="A").in_stock is False
