"""Helpers for commerce tests: e-commerce events through the real pipeline, on a chosen day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest

from commerce.models import Product
from commerce.services import ProductRow, products_upsert
from contacts.models import Contact
from contacts.services import NewEvent, events_process, events_record
from tests.messaging.conftest import smtp_settings  # noqa: F401  (fixtures used here too)
from tests.workflows.conftest import api_enrol, clock  # noqa: F401

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
_ids = count(1)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def shopper(ws, name: str) -> Contact:
    return Contact.objects.create(
        workspace=ws,
        email=f"{name}@example.com",
        first_name=name.title(),
        email_consent="subscribed",
    )


def product(pid: str, **fields: Any) -> dict[str, Any]:
    """What a shop says about a product in an event (no category unless given)."""
    return {
        "product_id": pid,
        "name": fields.pop("name", f"Product {pid}"),
        "price": fields.pop("price", 10),
        "url": fields.pop("url", f"https://shop.test/p/{pid}"),
        "image_url": fields.pop("image_url", f"https://shop.test/i/{pid}.png"),
        **fields,
    }


def track(
    ws,
    contact: Contact,
    name: str,
    properties: dict[str, Any],
    at: datetime,
    *,
    message_id: str | None = None,
) -> list[int]:
    """Record one event and run the pipeline on it, as the ingestion task does."""
    ids = events_record(
        workspace=ws,
        events=[
            NewEvent(
                contact.pk,
                name,
                properties,
                message_id=message_id or f"t-{next(_ids)}",
                timestamp=at,
            )
        ],
        existing=True,
    )
    events_process(workspace=ws, event_ids=[i for i in ids if i], changed_fields={})
    return [i for i in ids if i]


def viewed(ws, contact: Contact, pid: str, at: datetime, **fields: Any) -> list[int]:
    return track(ws, contact, "Product Viewed", product(pid, **fields), at)


def added(ws, contact: Contact, pid: str, at: datetime, **fields: Any) -> list[int]:
    return track(ws, contact, "Product Added", product(pid, **fields), at)


def ordered(ws, contact: Contact, pids: list[str], at: datetime, **fields: Any) -> list[int]:
    return track(
        ws,
        contact,
        "Order Completed",
        {
            "order_id": f"o-{next(_ids)}",
            "currency": "EUR",
            "products": [product(pid, **fields) for pid in pids],
        },
        at,
    )


def pk(ws, pid: str) -> int:
    return Product.objects.get(workspace=ws, product_id=pid).pk


@pytest.fixture
def history(ws):
    """The hand-made history of test_recommendations.py (its docstring has the answers)."""
    for pid, category in (("A", "X"), ("B", "X"), ("C", "X"), ("D", "Y"), ("E", "Y")):
        products_upsert(
            workspace=ws,
            rows=[ProductRow(product_id=pid, name=pid, category=category)],
            source="feed",
        )
    people = {name: shopper(ws, name) for name in ("c1", "c2", "c3", "c4", "t", "v")}
    ordered(ws, people["c1"], ["A", "B"], day(0))
    ordered(ws, people["c2"], ["A", "B", "C"], day(1))
    ordered(ws, people["c3"], ["A", "C"], day(2))
    ordered(ws, people["c4"], ["D"], day(3))
    ordered(ws, people["t"], ["A"], day(4))
    viewed(ws, people["v"], "E", day(5))
    return people
