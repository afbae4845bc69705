"""Reorder dates on a small hand-made history, answers worked out by hand.

Product P (intervals between one contact's repeat purchases):
  c1 buys on days 0, 10, 20  → 10, 10       own median 10 → next day 30
  c2 buys on days 0, 14      → 14           own median 14 → next day 28
  c3 buys on days 0, 30, 36  → 30, 6        own median 18 → next day 54
  c4 buys on day 50 only                    the product's median → next day 60
P's intervals 10, 10, 14, 30, 6: median 10, sample 5 (the minimum by default).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from commerce.models import Product, ReorderPrediction
from commerce.services import product_intervals_refresh, reorder_predict
from contacts.models import Contact
from segments.filters import compile_filter

from .conftest import day, ordered, shopper

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyers(ws):
    people = {name: shopper(ws, name) for name in ("c1", "c2", "c3", "c4")}
    for name, days in (("c1", (0, 10, 20)), ("c2", (0, 14)), ("c3", (0, 30, 36)), ("c4", (50,))):
        for d in days:
            ordered(ws, people[name], ["P"], day(d))
    return people


def predictions(ws) -> dict[str, tuple]:
    return {
        p.contact.first_name.lower(): (p.predicted_at, p.basis, round(p.interval_days, 3))
        for p in ReorderPrediction.objects.filter(workspace=ws).select_related("contact")
    }


def test_reorder_dates_match_the_hand_computed_answers(ws, buyers):
    assert product_intervals_refresh(workspace=ws) == 1
    p = Product.objects.get(workspace=ws, product_id="P")
    assert (p.reorder_days, p.reorder_sample) == (10.0, 5)
    reorder_predict(workspace=ws, contact_ids=[c.pk for c in buyers.values()])
    assert predictions(ws) == {
        "c1": (day(30), "own", 10.0),
        "c2": (day(28), "own", 14.0),
        "c3": (day(54), "own", 18.0),
        "c4": (day(60), "product", 10.0),
    }


def test_below_the_minimum_sample_only_contacts_own_intervals_count(ws, buyers, settings):
    settings.COMMERCE_REORDER_MIN_SAMPLE = 6
    product_intervals_refresh(workspace=ws)
    assert Product.objects.get(workspace=ws, product_id="P").reorder_days is None
    reorder_predict(workspace=ws, contact_ids=[c.pk for c in buyers.values()])
    assert set(predictions(ws)) == {"c1", "c2", "c3"}  # c4 bought once: nothing to go on


def test_two_orders_on_the_same_day_are_not_a_reorder(ws):
    ada = shopper(ws, "ada")
    ordered(ws, ada, ["Q"], day(0))
    ordered(ws, ada, ["Q"], day(0) + timedelta(hours=3))
    ordered(ws, ada, ["Q"], day(8))
    reorder_predict(workspace=ws, contact_ids=[ada.pk])
    only = ReorderPrediction.objects.get(workspace=ws, contact=ada)
    assert (only.interval_days, only.predicted_at) == (8.0, day(16))


def test_the_earliest_date_is_a_contact_attribute_segments_filter_on(ws, buyers):
    """An order recomputes the buyer's dates in the pipeline (the product interval comes from
    the nightly refresh); `predicted_reorder_at` holds the earliest."""
    product_intervals_refresh(workspace=ws)
    ordered(ws, buyers["c4"], ["Z"], day(51))  # c4's own purchase: predictions recomputed
    c4 = Contact.objects.get(pk=buyers["c4"].pk)
    assert c4.attributes["predicted_reorder_at"] == day(60).isoformat()
    reorder_predict(workspace=ws, contact_ids=[c.pk for c in buyers.values()])
    due = compile_filter(
        workspace=ws,
        tree={"field": "predicted_reorder_at", "op": "within_next_days", "value": 3},
        now=day(27.5),
    )
    assert {c.first_name for c in due} == {"C1", "C2"}  # days 30 and 28; not 54 or 60


def test_another_workspaces_purchases_do_not_make_this_products_interval(ws, other_ws):
    for n in range(5):
        other = shopper(other_ws, f"o{n}")
        ordered(other_ws, other, ["P"], day(0))
        ordered(other_ws, other, ["P"], day(7))
    ada = shopper(ws, "ada")
    ordered(ws, ada, ["P"], day(0))
    product_intervals_refresh(workspace=ws)
    assert Product.objects.get(workspace=ws, product_id="P").reorder_sample == 0


def test_a_segment_on_the_reorder_date_follows_an_order_in_the_same_pipeline_pass(
    ws, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    from segments.models import SegmentMembership
    from segments.services import segment_create

    now = timezone.now()
    ada = shopper(ws, "ada")
    ordered(ws, ada, ["P"], now - timedelta(days=40))  # once: no date yet
    with django_capture_on_commit_callbacks(execute=True):
        due = segment_create(
            workspace=ws,
            name="Reorders within a week",
            filter={"field": "predicted_reorder_at", "op": "within_next_days", "value": 7},
        )
    assert not SegmentMembership.objects.filter(segment=due, contact=ada).exists()
    ordered(ws, ada, ["P"], now - timedelta(days=35))  # every 5 days: due 30 days ago
    ordered(ws, ada, ["P"], now - timedelta(days=3))  # intervals 5 and 32: median 18.5 → in 15.5
    assert not SegmentMembership.objects.filter(segment=due, contact=ada).exists()
    ordered(ws, ada, ["P"], now - timedelta(days=1))  # intervals 5, 32, 2: median 5 → in 4 days
    assert SegmentMembership.objects.filter(segment=due, contact=ada).exists()


def test_each_prediction_is_checked_once_against_the_reorder_that_replaced_it(ws, owner_client):
    ada, bob = shopper(ws, "ada"), shopper(ws, "bob")
    ordered(ws, ada, ["Q"], day(0))
    ordered(ws, ada, ["Q"], day(10))  # predicted: day 20
    ordered(ws, ada, ["Q"], day(23))  # 3 days late → checked; new prediction day 34.5
    ordered(ws, bob, ["Q"], day(0))
    ordered(ws, bob, ["Q"], day(8))  # predicted: day 16
    ordered(ws, bob, ["Q"], day(15))  # 1 day early
    reorder_predict(workspace=ws, contact_ids=[ada.pk, bob.pk])  # the nightly job: no new check
    q = Product.objects.get(workspace=ws, product_id="Q")
    assert (q.reorder_checked, q.reorder_mean_error) == (2, 2.0)
    html = owner_client.get(f"/products/{q.pk}/").content.decode()
    assert "off by 2.0 days on average (2 reorders checked)" in html
