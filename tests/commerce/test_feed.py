"""Catalogue feeds (CSV / JSON): each rejected row named with the column and the problem, the
rest imported, progress counted; a file that cannot be read is refused before anything."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest

from commerce.models import Product, ProductImport
from commerce.services import feed_import_create
from workspaces.errors import ValidationFailed

pytestmark = pytest.mark.django_db

CSV = """id,title,link,image_link,price,product_type,availability
A,Mug,https://shop.test/a,https://shop.test/a.png,12.50,Kitchen,in stock
B,Tote,https://shop.test/b,,18.5 EUR,Bags,out of stock
C,Bad price,https://shop.test/c,,cheap,Kitchen,in stock
D,Bad link,shop.test/d,,3,Kitchen,in stock
,No id,https://shop.test/e,,3,Kitchen,in stock
F,Bad stock,https://shop.test/f,,3,Kitchen,maybe
A,Again,https://shop.test/a2,,1,Kitchen,in stock
"""


def run(ws, data: bytes, name: str, capture) -> ProductImport:
    with capture(execute=True):
        imp = feed_import_create(workspace=ws, upload=io.BytesIO(data), filename=name)
    imp.refresh_from_db()
    return imp


def test_a_csv_feed_imports_good_rows_and_names_each_bad_one(
    ws, django_capture_on_commit_callbacks
):
    imp = run(ws, CSV.encode(), "feed.csv", django_capture_on_commit_callbacks)
    assert (imp.status, imp.total_rows, imp.processed_rows) == ("completed", 7, 7)
    assert (imp.created_count, imp.updated_count, imp.error_count) == (2, 0, 5)
    assert imp.errors == [
        {"row": 4, "error": "price: 'cheap' is not a price (a number such as 19.99)"},
        {"row": 5, "error": "url: must be a full address starting with https://"},
        {"row": 6, "error": "product_id: the product id is empty"},
        {
            "row": 7,
            "error": "in_stock: 'maybe' is not a stock status (use yes/no, in stock/out of stock)",
        },
        {"row": 8, "error": "product_id: 'A' is repeated in the file"},
    ]
    a, b = Product.objects.filter(workspace=ws).order_by("product_id")
    assert (a.name, a.price, a.category, a.in_stock, a.image_url) == (
        "Mug",
        Decimal("12.50"),
        "Kitchen",
        True,
        "https://shop.test/a.png",
    )
    assert (b.price, b.currency, b.in_stock, b.source, b.managed) == (
        Decimal("18.50"),
        "EUR",
        False,
        "feed",
        True,
    )


def test_a_json_feed_updates_what_exists(ws, django_capture_on_commit_callbacks):
    run(ws, CSV.encode(), "feed.csv", django_capture_on_commit_callbacks)
    document = {
        "products": [
            {"id": "A", "price": 9.99},
            {"id": "Z", "name": "New", "in_stock": True},
            "nope",
        ]
    }
    imp = run(ws, json.dumps(document).encode(), "feed.json", django_capture_on_commit_callbacks)
    assert (imp.format, imp.created_count, imp.updated_count, imp.error_count) == ("json", 1, 1, 1)
    assert imp.errors == [{"row": 3, "error": "a product must be an object with an id"}]
    a = Product.objects.get(workspace=ws, product_id="A")
    assert (a.price, a.name) == (Decimal("9.99"), "Mug")  # what the row does not say stays


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "f.csv", "file: the file is empty."),
        (b"name,price\nMug,3\n", "f.csv", "file: no product id column"),
        (b'[{"id": 1,}]', "f.json", "file: this is not valid JSON"),
        (
            b'{"items": []}',
            "f.json",
            'file: JSON must be a list of products, or {"products": [...]}.',
        ),
        (b"id,name\n", "f.csv", "file: the file has no products."),
        (b"id\x00,name\n1,a\n", "f.csv", "file: the file contains NUL characters"),
    ],
)
def test_a_feed_that_cannot_be_read_is_refused_with_the_reason(ws, data, name, message):
    with pytest.raises(ValidationFailed) as error:
        feed_import_create(workspace=ws, upload=io.BytesIO(data), filename=name)
    assert error.value.message.startswith(message)
    assert not ProductImport.objects.filter(workspace=ws).exists()
