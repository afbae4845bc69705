"""Recommendations on a small hand-made history, answers worked out by hand.

Products A, B, C in category X, D and E in Y (created in that order: A has the lowest id).
  c1 bought A, B · c2 bought A, B, C · c3 bought A, C · c4 bought D · t bought A · v viewed E.
Co-purchases: A–B by c1, c2 (2); A–C by c2, c3 (2); B–C by c2 (1).
Purchase lines: A 4, B 2, C 2, D 1, E 0.

- t (bought A): bought together B (2), C (2) — a tie, B first (as purchased, older);
  its category X has nothing else; popular fills: D (A is bought, B and C are taken).
- v (bought nothing, viewed E): category Y by purchases D (1), E (0); then popular A, B, C.
- c1 (bought A, B): C together (A–C 2 + B–C 1 = 3); then popular D.
"""

from __future__ import annotations

import pytest

from commerce import selectors
from commerce.models import Product, Recommendation
from commerce.recommend import recommendations_compute
from commerce.services import commerce_run_start

from .conftest import day, ordered, shopper

pytestmark = pytest.mark.django_db


def names(ws, items) -> list[tuple[str, str]]:
    products = Product.objects.filter(workspace=ws).in_bulk([i["product"] for i in items])
    return [(products[i["product"]].product_id, i["reason"]) for i in items]


def test_recommendations_match_the_hand_computed_answers(ws, history):
    found = recommendations_compute(
        workspace_id=ws.pk, contact_ids=[history[n].pk for n in ("t", "v", "c1")]
    )
    assert names(ws, found[history["t"].pk]) == [
        ("B", "bought_together"),
        ("C", "bought_together"),
        ("D", "popular"),
    ]
    assert [i["score"] for i in found[history["t"].pk][:2]] == [2, 2]
    assert names(ws, found[history["v"].pk]) == [
        ("D", "category"),
        ("E", "category"),
        ("A", "popular"),
        ("B", "popular"),
        ("C", "popular"),
    ]
    assert names(ws, found[history["c1"].pk]) == [("C", "bought_together"), ("D", "popular")]
    assert found[history["c1"].pk][0]["score"] == 3


def test_what_is_out_of_stock_is_never_recommended(ws, history):
    Product.objects.filter(workspace=ws, product_id="C").update(in_stock=False)
    found = recommendations_compute(workspace_id=ws.pk, contact_ids=[history["t"].pk])
    assert names(ws, found[history["t"].pk]) == [("B", "bought_together"), ("D", "popular")]


def test_the_batch_job_stores_what_a_read_computes_and_a_purchase_forgets_it(
    ws, history, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = commerce_run_start(workspace=ws)
    run.refresh_from_db()
    assert (run.status, run.contacts_total, run.contacts_done) == ("completed", 6, 6)
    stored = Recommendation.objects.get(workspace=ws, contact=history["t"])
    assert names(ws, stored.items) == [
        ("B", "bought_together"),
        ("C", "bought_together"),
        ("D", "popular"),
    ]
    ordered(ws, history["t"], ["B"], day(6))
    assert not Recommendation.objects.filter(workspace=ws, contact=history["t"]).exists()
    shown = selectors.recommendations_for_contacts(workspace=ws, contact_ids=[history["t"].pk])
    assert [p["product_id"] for p in shown[history["t"].pk]] == ["C", "D"]  # computed on read
    assert (
        shown[history["t"].pk][0]["name"] == "Product C"
        and shown[history["t"].pk][0]["url"] == "https://shop.test/p/C"
    )


def test_recommendations_read_for_many_contacts_in_a_bounded_number_of_queries(
    ws, history, django_assert_max_num_queries
):
    contacts = [c.pk for c in history.values()]
    with django_assert_max_num_queries(9):
        selectors.recommendations_for_contacts(workspace=ws, contact_ids=contacts)


def test_another_workspaces_purchases_do_not_count(ws, other_ws, history):
    for n in range(3):
        ordered(other_ws, shopper(other_ws, f"o{n}"), ["A", "E"], day(1))
    found = recommendations_compute(workspace_id=ws.pk, contact_ids=[history["t"].pk])
    assert names(ws, found[history["t"].pk])[:2] == [
        ("B", "bought_together"),
        ("C", "bought_together"),
    ]


def test_between_runs_reads_use_the_last_runs_co_purchases(
    ws, history, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        commerce_run_start(workspace=ws)
    for n in ("x", "y", "z"):  # A–D bought together 3 times now: more than A–B or A–C
        ordered(ws, shopper(ws, n), ["A", "D"], day(7))
    found = recommendations_compute(workspace_id=ws.pk, contact_ids=[history["t"].pk])
    assert names(ws, found[history["t"].pk])[:2] == [
        ("B", "bought_together"),
        ("C", "bought_together"),
    ]  # as of the last run: a send reads stored counts, it does not count again
    with django_capture_on_commit_callbacks(execute=True):
        commerce_run_start(workspace=ws)
    stored = Recommendation.objects.get(workspace=ws, contact=history["t"])
    assert names(ws, stored.items) == [
        ("D", "bought_together"),
        ("B", "bought_together"),
        ("C", "bought_together"),
    ]
