"""The catalogue kept from e-commerce events: products upserted from what events say, views,
adds and purchases counted once (a retried batch counts nothing twice), order lines stored."""

from __future__ import annotations

from decimal import Decimal

import pytest

from commerce.models import Product, ProductActivity, Purchase
from commerce.services import ProductRow, products_upsert
from contacts.services import events_process

from .conftest import added, day, ordered, shopper, track, viewed

pytestmark = pytest.mark.django_db


def test_events_build_the_catalogue_and_count_views_adds_and_purchases(ws):
    ada, bob = shopper(ws, "ada"), shopper(ws, "bob")
    viewed(ws, ada, "A", day(0), name="Mug", price="12.50", category="Kitchen")
    viewed(ws, bob, "A", day(0.1))
    added(ws, ada, "A", day(0.2))
    ordered(ws, ada, ["A", "B"], day(0.3))
    a = Product.objects.get(workspace=ws, product_id="A")
    assert (a.name, a.price, a.category, a.url) == (
        "Product A",
        Decimal("10.00"),
        "Kitchen",
        "https://shop.test/p/A",
    )
    assert (a.views, a.adds, a.purchases) == (2, 1, 1)
    b = Product.objects.get(workspace=ws, product_id="B")
    assert (b.views, b.adds, b.purchases, b.currency) == (0, 0, 1, "EUR")
    activity = ProductActivity.objects.get(workspace=ws, contact=ada, product=a)
    assert (activity.view_count, activity.purchase_count) == (1, 1)
    assert activity.last_viewed_at == day(0) and activity.last_purchased_at == day(0.3)
    assert Purchase.objects.filter(workspace=ws, contact=ada).count() == 2


def test_a_retried_batch_counts_nothing_twice(ws):
    ada = shopper(ws, "ada")
    view = viewed(ws, ada, "A", day(0))
    order = ordered(ws, ada, ["A"], day(1))
    events_process(workspace=ws, event_ids=view + order, changed_fields={})  # the retry
    a = Product.objects.get(workspace=ws, product_id="A")
    assert (a.views, a.purchases) == (1, 1)
    assert Purchase.objects.filter(workspace=ws).count() == 1
    assert ProductActivity.objects.get(workspace=ws, product=a).view_count == 1


def test_an_event_without_a_product_id_is_ignored_and_sku_stands_in_for_it(ws):
    ada = shopper(ws, "ada")
    track(ws, ada, "Product Viewed", {"name": "No id"}, day(0))
    track(ws, ada, "Product Viewed", {"sku": "SKU-9", "name": "By sku", "price": "lots"}, day(0))
    assert list(Product.objects.filter(workspace=ws).values_list("product_id", "price")) == [
        ("SKU-9", None)  # a price that is not one is left out, the event is not refused
    ]


def test_an_older_event_does_not_set_an_older_price(ws):
    ada = shopper(ws, "ada")
    viewed(ws, ada, "A", day(2), price=8)
    viewed(ws, ada, "A", day(1), price=12)  # arrives late
    assert Product.objects.get(workspace=ws, product_id="A").price == Decimal("8.00")


def test_a_feed_owns_price_and_stock_events_only_fill_in(ws):
    products_upsert(
        workspace=ws,
        rows=[
            ProductRow(
                product_id="A", name="Feed name", price=Decimal("20"), in_stock=False, at=day(0)
            )
        ],
        source="feed",
    )
    viewed(ws, shopper(ws, "ada"), "A", day(5), price=3, name="Event name")
    a = Product.objects.get(workspace=ws, product_id="A")
    assert (a.price, a.in_stock, a.managed) == (Decimal("20.00"), False, True)
    assert a.name == "Event name"  # descriptive fields follow the latest statement


def test_products_beyond_the_catalogue_limit_are_not_created(ws, settings):
    settings.COMMERCE_MAX_PRODUCTS = 2
    outcome = products_upsert(
        workspace=ws, rows=[ProductRow(product_id=p) for p in "ABC"], source="feed"
    )
    assert (outcome.created, outcome.skipped_over_limit) == (2, 1)
    assert Product.objects.filter(workspace=ws).count() == 2


def test_another_workspaces_events_do_not_touch_this_catalogue(ws, other_ws):
    viewed(other_ws, shopper(other_ws, "eve"), "A", day(0))
    assert not Product.objects.filter(workspace=ws).exists()
