"""Scenario `commerce`: the recommendations + reorder-dates batch job, and recommendations
computed on read for one send batch.

    .venv/bin/python -m bench commerce [--contacts 200000] [--products 5000] [--orders 3]
                                       [--reuse]

1. Fresh database `tendril_bench_commerce` (or, with --reuse, the previous run's data), one
   workspace, contacts from bench.generator (few events: commerce reads its own tables), then
   a shop's history written with COPY: `--products` products in 50 categories (popularity
   Zipf-like), each contact with about `--orders` orders of 1–4 products, mostly from one
   favourite category, a third of contacts rebuying a staple every ~30 days; the
   activity rows (one per contact and product) and each product's purchase counter, as the
   pipeline would have left them. VACUUM (ANALYZE).
2. Timed:
   - the batch job (`commerce_run_execute`: product reorder intervals, co-purchases once,
     then recommendations and reorder dates for every active contact in chunks of 1,000),
     once — contacts per second; against a baseline measured in the same run: reading the
     whole purchase history grouped by contact (the floor of any per-contact computation
     over it, median of 3);
   - recommendations on read for 100 contacts (a send batch, nothing stored; median of 5),
     against reading those 100 contacts' purchases.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta

from bench import harness

DATABASE = "tendril_bench_commerce"
REDIS_DB = 11
SEED = 18
CATEGORIES = 50


def _history(ws_id: int, contact_ids: list[int], products: int, orders: float, now: datetime):
    """(product rows, purchase rows, activity rows) as COPY text."""
    rng = random.Random(SEED)
    by_category: list[list[int]] = [[] for _ in range(CATEGORIES)]
    weights: list[float] = []
    for n in range(products):
        by_category[n % CATEGORIES].append(n)
        weights.append(1 / (1 + n) ** 0.8)
    purchases, counts = [], [0] * products
    activity: dict[tuple[int, int], list] = {}
    event_id = 0
    for contact in contact_ids:
        if rng.random() < 0.3:
            continue  # no commerce activity
        favourite = by_category[rng.randrange(CATEGORIES)]
        fav_weights = [weights[p] for p in favourite]
        staple = rng.choice(favourite) if rng.random() < 0.33 else None
        day = rng.uniform(0, 300)
        for _ in range(max(1, int(rng.expovariate(1 / orders)))):
            event_id += 1
            at = now - timedelta(days=day)
            lines = {
                rng.choices(favourite, fav_weights)[0]
                if rng.random() < 0.7
                else rng.choices(range(products), weights)[0]
                for _ in range(rng.randint(1, 4))
            }
            if staple is not None:
                lines.add(staple)
            for p in lines:
                purchases.append((contact, p, event_id, at))
                counts[p] += 1
                row = activity.setdefault((contact, p), [at, 0])
                row[0], row[1] = max(row[0], at), row[1] + 1
            day = max(0.0, day - rng.gauss(30, 5))
    stamp = now.isoformat()
    product_rows = (
        f"{ws_id}\tP{p}\tP{p}\tProduct {p}\thttps://shop.test/p/{p}\thttps://shop.test/i/{p}.png\t"
        f"{10 + p % 90}.00\t\\N\tEUR\tC{p % CATEGORIES}\tt\tevents\tf\t0\t0\t{counts[p]}\t0\t0\t\\N\t0\t0\t0\t{stamp}\t{stamp}\n"
        for p in range(products)
    )
    return product_rows, purchases, activity


PRODUCT_COLUMNS = [
    "workspace_id", "product_id", "sku", "name", "url", "image_url", "price", "price_at",
    "currency", "category", "in_stock", "source", "managed", "views", "adds", "purchases",
    "price_changes", "restocks", "reorder_days", "reorder_sample", "reorder_checked",
    "reorder_error_days", "created_at", "updated_at",
]  # fmt: skip


def _load(ws_id: int, contacts: int, products: int, orders: float) -> int:
    from django.db import connection

    from bench.generator import _copy, _django_connection, generate

    made = generate(ws_id, contacts=contacts, events=contacts, days=30, seed=SEED)
    now = datetime.now(UTC)
    product_rows, purchases, activity = _history(ws_id, made.contact_ids, products, orders, now)
    with connection.owner_role():  # type: ignore[attr-defined]
        conn = _django_connection()
        _copy(conn, "commerce_product", PRODUCT_COLUMNS, product_rows, 20_000)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT product_id, id FROM commerce_product WHERE workspace_id = %s", [ws_id]
            )
            pk = {int(code[1:]): i for code, i in cursor.fetchall()}
        stamp = now.isoformat()
        _copy(
            conn,
            "commerce_purchase",
            ["workspace_id", "contact_id", "product_id", "event_id", "order_id", "ordered_at",
             "quantity", "price", "created_at", "updated_at"],
            (f"{ws_id}\t{c}\t{pk[p]}\t{e}\to{e}\t{at.isoformat()}\t1\t\\N\t{stamp}\t{stamp}\n"
             for c, p, e, at in purchases),
            50_000,
        )  # fmt: skip
        _copy(
            conn,
            "commerce_productactivity",
            ["workspace_id", "contact_id", "product_id", "last_viewed_at", "last_added_at",
             "last_purchased_at", "view_count", "purchase_count", "abandoned_view_at",
             "counted_event_id", "created_at", "updated_at"],
            (f"{ws_id}\t{c}\t{pk[p]}\t\\N\t{at.isoformat()}\t{at.isoformat()}\t0\t{n}\t\\N\t0\t{stamp}\t{stamp}\n"
             for (c, p), (at, n) in activity.items()),
            50_000,
        )  # fmt: skip
    return len(purchases)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench commerce")
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--orders", type=float, default=3.0)
    parser.add_argument("--reuse", action="store_true", help="keep the previous run's data")
    args = parser.parse_args(argv)
    print(harness.machine_note())
    harness.setup_django(database=DATABASE, redis_db=REDIS_DB, fresh=not args.reuse)

    from django.db import connection

    from commerce.models import CommerceRun, Recommendation
    from commerce.recommend import recommendations_compute
    from commerce.services import commerce_run_execute
    from workspaces.models import Workspace

    if args.reuse and Workspace.objects.filter(name="Bench commerce").exists():
        workspace = Workspace.objects.get(name="Bench commerce")
        print("reusing the previous run's data")
    else:
        workspace_id, _ = harness.workspace("Bench commerce")
        workspace = Workspace.objects.get(pk=workspace_id)
        started = time.perf_counter()
        lines = _load(workspace.pk, args.contacts, args.products, args.orders)
        print(f"generated {lines:,} purchase lines in {time.perf_counter() - started:.0f} s")
        harness.analyze("commerce_purchase", "commerce_productactivity", "commerce_product", vacuum=True)  # fmt: skip

    def history_read() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT contact_id, array_agg(product_id) FROM commerce_purchase "
                "WHERE workspace_id = %s GROUP BY contact_id",
                [workspace.pk],
            )
            return len(cursor.fetchall())

    baseline_s, buyers = harness.timed(history_read)
    run = CommerceRun.objects.create(workspace=workspace, trigger="bench")
    started = time.perf_counter()
    run = commerce_run_execute(workspace=workspace, run_id=run.pk)
    batch_s = time.perf_counter() - started
    assert run is not None and run.status == "completed", run and run.failure

    rng = random.Random(SEED)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT contact_id FROM commerce_purchase WHERE workspace_id = %s",
            [workspace.pk],
        )
        active = [row[0] for row in cursor.fetchall()]
    batch = rng.sample(active, min(100, len(active)))

    def own_purchases() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT contact_id, product_id FROM commerce_purchase "
                "WHERE workspace_id = %s AND contact_id = ANY(%s)",
                [workspace.pk, batch],
            )
            return len(cursor.fetchall())

    def on_read() -> int:
        return len(recommendations_compute(workspace_id=workspace.pk, contact_ids=batch))

    read_base_s, _ = harness.timed(own_purchases, runs=5)
    read_s, _ = harness.timed(on_read, runs=5)
    stored = Recommendation.objects.filter(workspace=workspace).count()
    harness.report(
        f"commerce — {run.contacts_total:,} active contacts, {buyers:,} buyers, "
        f"{args.products:,} products",
        [
            ("baseline: read the purchase history grouped by contact (median of 3)", f"{baseline_s:.2f} s"),
            ("batch job: recommendations + reorder dates for everyone", f"{batch_s:.1f} s"),
            ("  contacts per second", f"{run.contacts_total / batch_s:,.0f}"),
            ("  ratio batch / baseline", f"{batch_s / baseline_s:.1f}×"),
            ("  recommendations stored / reorder predictions", f"{stored:,} / {run.predictions:,}"),
            ("on read: 100 contacts' purchases (baseline, median of 5)", f"{read_base_s * 1000:.1f} ms"),
            ("on read: 100 contacts' recommendations (median of 5)", f"{read_s * 1000:.0f} ms"),
            ("  ratio on read / baseline", f"{read_s / read_base_s:.0f}×"),
        ],
    )  # fmt: skip
