"""Recommendations: what to show a contact next (docs/commerce.md, "Recommendations").

Three sources, in this order, each excluding what the contact bought and what is out of stock:

1. **bought together** — for each product the contact bought, the products bought by the
   same other contacts: a candidate's score is the sum, over the contact's products, of how
   many contacts bought both (co-purchases within COMMERCE_LEARN_DAYS; a basket of more
   than MAX_BASKET products is left out of the counting, and each product keeps its
   PARTNERS_PER_PRODUCT best partners);
2. **popular in the contact's categories** — the categories of what they bought or viewed,
   most purchased first;
3. **popular** — the most purchased products, to fill up to COMMERCE_RECOMMENDATIONS.

Ties go to the more purchased product, then the older one (lower id), so results are
deterministic. `rank` is pure; `inputs_load` reads what it needs for a set of contacts in five
queries, whatever their number (the batch job calls it per chunk, a send per batch).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

MAX_BASKET = 50
PARTNERS_PER_PRODUCT = 50

BOUGHT_TOGETHER = "bought_together"
CATEGORY = "category"
POPULAR = "popular"


@dataclass(frozen=True)
class Candidate:
    category: str
    in_stock: bool
    purchases: int


@dataclass
class Inputs:
    bought: dict[int, set[int]] = field(default_factory=dict)  # contact → products
    categories: dict[int, set[str]] = field(default_factory=dict)  # contact → categories
    partners: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # p → [(q, n)]
    by_category: dict[str, list[int]] = field(default_factory=dict)  # most purchased first
    popular: list[int] = field(default_factory=list)  # most purchased first
    products: dict[int, Candidate] = field(default_factory=dict)


def rank(inputs: Inputs, contact_id: int, limit: int) -> list[dict[str, object]]:
    """The contact's recommendations, best first: [{"product", "score", "reason"}]."""
    bought = inputs.bought.get(contact_id, set())
    products = inputs.products
    chosen: list[dict[str, object]] = []
    seen: set[int] = set(bought)

    def usable(pid: int) -> bool:
        candidate = products.get(pid)
        return pid not in seen and candidate is not None and candidate.in_stock

    scores: dict[int, int] = defaultdict(int)
    for pid in bought:
        for partner, together in inputs.partners.get(pid, ()):
            if usable(partner):
                scores[partner] += together
    for pid, score in sorted(
        scores.items(), key=lambda item: (-item[1], -products[item[0]].purchases, item[0])
    )[:limit]:
        chosen.append({"product": pid, "score": score, "reason": BOUGHT_TOGETHER})
        seen.add(pid)
    if len(chosen) < limit:
        in_categories = {
            pid
            for category in inputs.categories.get(contact_id, ())
            for pid in inputs.by_category.get(category, ())
            if usable(pid)
        }
        for pid in sorted(in_categories, key=lambda p: (-products[p].purchases, p)):
            if len(chosen) >= limit:
                break
            chosen.append({"product": pid, "score": products[pid].purchases, "reason": CATEGORY})
            seen.add(pid)
    for pid in inputs.popular:
        if len(chosen) >= limit:
            break
        if usable(pid):
            chosen.append({"product": pid, "score": products[pid].purchases, "reason": POPULAR})
            seen.add(pid)
    return chosen


# --- Loading ---------------------------------------------------------------------------------

_BOUGHT_SQL = """
SELECT contact_id, array_agg(DISTINCT product_id) FROM commerce_purchase
WHERE workspace_id = %(ws)s AND contact_id IN (SELECT unnest(%(contacts)s::bigint[]))
GROUP BY contact_id
"""
_CATEGORIES_SQL = """
SELECT a.contact_id, array_agg(DISTINCT p.category) FROM commerce_productactivity a
JOIN commerce_product p ON p.id = a.product_id AND p.workspace_id = a.workspace_id
WHERE a.workspace_id = %(ws)s AND a.contact_id IN (SELECT unnest(%(contacts)s::bigint[]))
  AND p.category <> ''
GROUP BY a.contact_id
"""
# Co-purchases among the contacts who bought any of `products` (within the window): for
# each of those products, its partners and how many contacts bought both.
_PARTNERS_SQL = """
WITH buyers AS (
    SELECT DISTINCT contact_id FROM commerce_purchase
    WHERE workspace_id = %(ws)s AND product_id = ANY(%(products)s) AND ordered_at >= %(since)s
), bought AS (
    SELECT DISTINCT u.contact_id, u.product_id FROM commerce_purchase u
    JOIN buyers USING (contact_id)
    WHERE u.workspace_id = %(ws)s AND u.ordered_at >= %(since)s
), baskets AS (
    SELECT contact_id FROM bought GROUP BY contact_id HAVING count(*) BETWEEN 2 AND %(basket)s
), pairs AS (
    SELECT a.product_id AS p, b.product_id AS q, count(*) AS n
    FROM bought a JOIN baskets k ON k.contact_id = a.contact_id
    JOIN bought b ON b.contact_id = a.contact_id AND b.product_id <> a.product_id
    WHERE a.product_id = ANY(%(products)s)
    GROUP BY 1, 2
)
SELECT p, q, n FROM (
    SELECT p, q, n, row_number() OVER (PARTITION BY p ORDER BY n DESC, q) AS r FROM pairs
) ranked WHERE r <= %(per_product)s
"""
_CATEGORY_TOPS_SQL = """
SELECT id, category FROM (
    SELECT id, category,
           row_number() OVER (PARTITION BY category ORDER BY purchases DESC, id) AS r
    FROM commerce_product
    WHERE workspace_id = %(ws)s AND in_stock AND category = ANY(%(categories)s)
) tops WHERE r <= %(per_category)s
"""
_POPULAR_SQL = """
SELECT id FROM commerce_product WHERE workspace_id = %(ws)s AND in_stock AND purchases > 0
ORDER BY purchases DESC, id LIMIT %(limit)s
"""
_PRODUCTS_SQL = """
SELECT id, category, in_stock, purchases FROM commerce_product
WHERE workspace_id = %(ws)s AND id = ANY(%(ids)s)
"""


def _rows(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def partners_load(
    *,
    workspace_id: int,
    products: list[int],
    per_product: int = PARTNERS_PER_PRODUCT,
    now: datetime | None = None,
) -> dict[int, list[tuple[int, int]]]:
    """{product: [(partner, contacts who bought both)], most first} for these products."""
    since = (now or timezone.now()) - timedelta(days=settings.COMMERCE_LEARN_DAYS)
    partners: dict[int, list[tuple[int, int]]] = {}
    params = {
        "ws": workspace_id,
        "products": products,
        "since": since,
        "basket": MAX_BASKET,
        "per_product": per_product,
    }
    for p, q, n in _rows(_PARTNERS_SQL, params):
        partners.setdefault(p, []).append((q, n))
    for found in partners.values():
        found.sort(key=lambda item: (-item[1], item[0]))
    return partners


_STORED_PARTNERS_SQL = """
SELECT product_id, partner_id, together FROM commerce_productpartner
WHERE workspace_id = %(ws)s AND product_id IN (SELECT unnest(%(products)s::bigint[]))
ORDER BY product_id, together DESC, partner_id
"""
_HAS_RUN_SQL = """
SELECT EXISTS (SELECT 1 FROM commerce_commercerun WHERE workspace_id = %(ws)s AND status = 'completed')
"""


def partners_stored(
    *, workspace_id: int, products: list[int]
) -> dict[int, list[tuple[int, int]]] | None:
    """The partners the last completed batch job stored for these products; None before the
    first run (then they are counted live)."""
    if not _rows(_HAS_RUN_SQL, {"ws": workspace_id})[0][0]:
        return None
    partners: dict[int, list[tuple[int, int]]] = {}
    for p, q, n in _rows(_STORED_PARTNERS_SQL, {"ws": workspace_id, "products": products}):
        partners.setdefault(p, []).append((q, n))
    return partners


def inputs_load(
    *,
    workspace_id: int,
    contact_ids: Iterable[int],
    limit: int,
    now: datetime | None = None,
    partners: dict[int, list[tuple[int, int]]] | None = None,
) -> Inputs:
    """What `rank` needs for these contacts. `partners`: the whole workspace's, computed once
    by the batch job for all its chunks; else those the last run stored for these contacts'
    products (co-purchases as of that run), or, before any run, counted now."""
    contacts = sorted(set(contact_ids))
    inputs = Inputs()
    base = {"ws": workspace_id, "contacts": contacts}
    for contact_id, products in _rows(_BOUGHT_SQL, base):
        inputs.bought[contact_id] = set(products)
    for contact_id, categories in _rows(_CATEGORIES_SQL, base):
        inputs.categories[contact_id] = set(categories)
    all_bought = sorted({p for products in inputs.bought.values() for p in products})
    spare = limit + MAX_BASKET  # room for the contacts' own purchases, which are left out
    if partners is not None:
        inputs.partners = {p: partners[p] for p in all_bought if p in partners}
    elif all_bought:
        stored = partners_stored(workspace_id=workspace_id, products=all_bought)
        inputs.partners = (
            stored
            if stored is not None
            else partners_load(workspace_id=workspace_id, products=all_bought, now=now)
        )
    categories = sorted({c for cats in inputs.categories.values() for c in cats})
    if categories:
        tops = _rows(
            _CATEGORY_TOPS_SQL,
            {"ws": workspace_id, "categories": categories, "per_category": spare},
        )
        for pid, category in tops:
            inputs.by_category.setdefault(category, []).append(pid)
    inputs.popular = [row[0] for row in _rows(_POPULAR_SQL, {"ws": workspace_id, "limit": spare})]
    wanted = set(inputs.popular) | {q for partners in inputs.partners.values() for q, _ in partners}
    wanted |= {pid for pids in inputs.by_category.values() for pid in pids}
    for pid, category, in_stock, purchases in _rows(
        _PRODUCTS_SQL, {"ws": workspace_id, "ids": sorted(wanted)}
    ):
        inputs.products[pid] = Candidate(category, in_stock, purchases)
    return inputs


def purchased_products(*, workspace_id: int) -> list[int]:
    """Every product bought within the learning window (the batch job's partners)."""
    since = timezone.now() - timedelta(days=settings.COMMERCE_LEARN_DAYS)
    rows = _rows(
        "SELECT DISTINCT product_id FROM commerce_purchase "
        "WHERE workspace_id = %(ws)s AND ordered_at >= %(since)s",
        {"ws": workspace_id, "since": since},
    )
    return sorted(row[0] for row in rows)


def recommendations_compute(
    *,
    workspace_id: int,
    contact_ids: Iterable[int],
    limit: int | None = None,
    partners: dict[int, list[tuple[int, int]]] | None = None,
) -> dict[int, list[dict[str, object]]]:
    """{contact id: ranked items} for these contacts, computed now."""
    limit = limit or settings.COMMERCE_RECOMMENDATIONS
    contacts = list(contact_ids)
    inputs = inputs_load(
        workspace_id=workspace_id, contact_ids=contacts, limit=limit, partners=partners
    )
    return {contact_id: rank(inputs, contact_id, limit) for contact_id in contacts}
