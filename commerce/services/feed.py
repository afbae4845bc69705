"""Catalogue feeds: a CSV or JSON file of products (id, name, url, image, price, category,
in stock), imported in chunks by a Celery task with progress and an error per rejected row
(the same shape as contacts' CSV import: the file on the row, chunked transactions that
advance the counters, so a restarted worker resumes after the last committed chunk).

CSV: a header row; columns are recognised by name (`id`/`product_id`, `title`/`name`,
`link`/`url`, `image`/`image_link`/`image_url`, `price`, `category`/`product_type`,
`in_stock`/`availability`, `sku`, `currency`), unknown columns are ignored.
JSON: a list of objects with the same keys, or {"products": [...]}.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from commerce.models import Product, ProductImport
from contacts.services.imports import csv_rows, upload_decode
from workspaces.errors import ValidationFailed
from workspaces.models import User, Workspace

from .catalogue import ProductRow, products_upsert, row_from_mapping

CHUNK_ROWS = 1000
MAX_STORED_ERRORS = 5000
COLUMNS: dict[str, str] = {
    **dict.fromkeys(("id", "product_id", "productid", "item_id", "itemid"), "id"),
    **dict.fromkeys(("name", "title", "product_name"), "name"),
    **dict.fromkeys(("url", "link", "product_url", "product_link"), "url"),
    **dict.fromkeys(("image", "image_url", "image_link", "imageurl", "picture"), "image_url"),
    **dict.fromkeys(("price", "unit_price"), "price"),
    **dict.fromkeys(("category", "product_type", "product_category", "categories"), "category"),
    **dict.fromkeys(("in_stock", "instock", "stock", "availability", "available"), "in_stock"),
    "sku": "sku",
    "currency": "currency",
}
PRICE_WITH_CURRENCY = re.compile(r"^\s*([0-9][0-9.,]*)\s+([A-Za-z]{3})\s*$")


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed(f"file: {message}", fields={"file": [message]})


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")


def _format_of(filename: str, text: str) -> str:
    if filename.lower().endswith(".json") or text.lstrip()[:1] in ("[", "{"):
        return "json"
    return "csv"


def _json_rows(text: str) -> list[Any]:
    try:
        document = json.loads(text)
    except ValueError as error:
        raise _invalid(f"this is not valid JSON ({error}).")
    if isinstance(document, dict) and isinstance(document.get("products"), list):
        document = document["products"]
    if not isinstance(document, list):
        raise _invalid('JSON must be a list of products, or {"products": [...]}.')
    return document


def _csv_headers(text: str) -> tuple[list[str], Iterator[list[str]]]:
    rows = csv_rows(text)
    try:
        headers = [_key(h) for h in next(rows)]
    except (StopIteration, csv.Error) as error:
        raise _invalid(f"this does not read as CSV ({error or 'no rows'}).")
    known = [COLUMNS.get(h, "") for h in headers]
    if "id" not in known and "sku" not in known:
        raise _invalid(
            "no product id column: the first row must name the columns, one of them id "
            "(or product_id, or sku)."
        )
    return known, rows


def feed_rows(data: bytes, fmt: str) -> Iterator[tuple[int, Any]]:
    """(row number, a mapping or what the JSON holds there) for every non-blank row: CSV rows
    are numbered as in a spreadsheet (the header is row 1), JSON items from 1."""
    text = upload_decode(data)
    if fmt == "json":
        yield from enumerate(_json_rows(text), start=1)
        return
    known, rows = _csv_headers(text)
    for number, cells in enumerate(rows, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        item: dict[str, str] = {}
        for target, cell in zip(known, cells, strict=False):
            if target and cell.strip():
                item[target] = cell.strip()
        if "id" not in item and "sku" in item:
            item["id"] = item["sku"]
        yield number, item


@transaction.atomic
def feed_import_create(
    *, workspace: Workspace, upload: IO[bytes], filename: str, created_by: User | None = None
) -> ProductImport:
    """Store a feed after checking it reads (its rows are checked by the task). Queued."""
    limit = int(settings.TENDRIL_IMPORT_MAX_BYTES)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise _invalid(f"the file is larger than {limit // (1024 * 1024)} MB; split it.")
    if not data.strip():
        raise _invalid("the file is empty.")
    if b"\x00" in data:
        raise _invalid("the file contains NUL characters: save it as CSV (UTF-8) or JSON.")
    fmt = _format_of(filename, upload_decode(data[:4096]))
    try:
        total = sum(1 for _ in feed_rows(data, fmt))
    except csv.Error as error:
        raise _invalid(f"this does not read as CSV: {error}.")
    if not total:
        raise _invalid("the file has no products.")
    imp = ProductImport.objects.create(
        workspace=workspace,
        filename=filename[:255],
        size_bytes=len(data),
        data=data,
        format=fmt,
        total_rows=total,
        created_by=created_by,
    )
    from commerce.tasks import feed_import_task

    transaction.on_commit(lambda: feed_import_task.delay(workspace.pk, imp.pk))
    return imp


def feed_row_parse(item: Any) -> ProductRow:
    """One feed row as a ProductRow; ValidationFailed says which column and what."""
    if not isinstance(item, dict):
        raise ValidationFailed("a product must be an object with an id")
    item = {COLUMNS.get(_key(str(k)), _key(str(k))): v for k, v in item.items()}
    price = item.get("price")
    if isinstance(price, str) and (match := PRICE_WITH_CURRENCY.match(price)):
        item["price"] = match.group(1)
        item.setdefault("currency", match.group(2))
    return row_from_mapping(item)


def feed_import_run(*, workspace: Workspace, import_id: int) -> ProductImport | None:
    imp = ProductImport.objects.for_workspace(workspace).filter(pk=import_id).first()
    if imp is None or imp.is_finished:
        return imp
    ProductImport.objects.for_workspace(workspace).filter(pk=imp.pk).update(
        status=ProductImport.Status.RUNNING
    )
    try:
        rows = feed_rows(bytes(imp.data), imp.format)
        done = 0
        chunk: list[tuple[int, Any]] = []
        for numbered in rows:
            done += 1
            if done <= imp.processed_rows:
                continue  # committed by an earlier attempt
            chunk.append(numbered)
            if len(chunk) >= CHUNK_ROWS:
                _chunk_import(workspace, imp, chunk)
                chunk = []
        if chunk:
            _chunk_import(workspace, imp, chunk)
        imp.status, imp.finished_at = ProductImport.Status.COMPLETED, timezone.now()
        imp.save(update_fields=["status", "finished_at", "updated_at"])
    except Exception as error:
        imp.status, imp.finished_at = ProductImport.Status.FAILED, timezone.now()
        imp.failure = f"the import stopped: {type(error).__name__}: {error}"[:2000]
        imp.save(update_fields=["status", "finished_at", "failure", "updated_at"])
        raise
    return imp


@transaction.atomic
def _chunk_import(workspace: Workspace, imp: ProductImport, chunk: list[tuple[int, Any]]) -> None:
    good: list[ProductRow] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, item in chunk:
        try:
            row = feed_row_parse(item)
        except ValidationFailed as error:
            errors.append({"row": number, "error": error.message})
            continue
        if row.product_id in seen:
            errors.append(
                {"row": number, "error": f"product_id: {row.product_id!r} is repeated in the file"}
            )
            continue
        seen.add(row.product_id)
        good.append(row)
    outcome = products_upsert(workspace=workspace, rows=good, source=Product.Source.FEED)
    if outcome.skipped_over_limit:
        errors.append(
            {
                "row": chunk[-1][0],
                "error": f"{outcome.skipped_over_limit} new products not added: the catalogue "
                f"holds at most {settings.COMMERCE_MAX_PRODUCTS:,} products",
            }
        )
    imp.processed_rows += len(chunk)
    imp.created_count += outcome.created
    imp.updated_count += outcome.updated
    imp.error_count += sum(1 for e in errors if "new products not added" not in e["error"])
    imp.error_count += outcome.skipped_over_limit
    room = MAX_STORED_ERRORS - len(imp.errors)
    if room > 0:
        imp.errors = [*imp.errors, *errors[:room]]
    imp.save(
        update_fields=[
            "processed_rows",
            "created_count",
            "updated_count",
            "error_count",
            "errors",
            "updated_at",
        ]
    )
