"""Synthetic contacts and events, streamed into PostgreSQL with COPY (no ORM per row).

    from bench.generator import generate
    result = generate(workspace_id, contacts=1_000_000, events=10_000_000, days=30, seed=7)
    result.contact_ids   # range-like list of the new contacts' ids
    result.events        # rows written
    result.seconds

What it writes, for `contacts` people over the last `days` days (deterministic per seed):

* contacts: names, a unique email `<first>.<last>.<seed>.<n>@<domain>`, external id
  `gen-<seed>-<n>` (Segment userId), company, job title, country/city/timezone,
  lifecycle stage (mostly subscribers and leads, a few MQL/SQL/customers), tags, custom
  attributes (`plan`, `seats`, `signup_source`), email consent, `last_seen_at`;
  every other column gets the model field's default, so new columns need no change here;
* events (activity is skewed: a few contacts do a lot, most a little), per contact in time
  order ending at its `last_seen_at`:
  - `page` views (≈60%) of /, /pricing, /features, /blog/…, /signup, /docs/… with
    properties {path, url, title, referrer} and, on landing pages, `context.campaign` (UTM);
  - `track` "Signed Up" (once, for ≈35% of contacts), "Product Viewed", "Added to Cart",
    "Order Completed" with `revenue` and `currency` (≈6% of events), "Trial Started";
  - the platform's email events `email.delivered` / `email.opened` / `email.clicked`.
  `message_id` is `gen-<seed>-<n>`, so two runs with the same seed in the same workspace
  collide (use another seed).

Speed: rows are formatted as COPY text in Python and sent in chunks of ~`chunk_rows`;
roughly 150–250k events/s on a 2-core machine, dominated by PostgreSQL's index upkeep.
Pass `connection` (a psycopg 3 connection) to use one outside Django; by default it uses
Django's connection (and therefore its current transaction), as the owner (owner_role).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

FIRST = [
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Ken",
    "Barbara",
    "Edsger",
    "Margaret",
    "Dennis",
    "Frances",
    "Tim",
    "Radia",
    "Guido",
    "Sophie",
    "John",
    "Katherine",
    "Donald",
    "Hedy",
    "Niklaus",
    "Anita",
]
LAST = [
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Thompson",
    "Liskov",
    "Dijkstra",
    "Hamilton",
    "Ritchie",
    "Allen",
    "Berners-Lee",
    "Perlman",
    "Rossum",
    "Wilson",
    "Backus",
    "Johnson",
    "Knuth",
    "Lamarr",
    "Wirth",
    "Borg",
]
DOMAINS = [
    "example.com",
    "example.org",
    "acme.test",
    "globex.test",
    "initech.test",
    "umbrella.test",
    "hooli.test",
]
COMPANIES = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Stark",
    "Wayne",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
]
TITLES = ["Engineer", "Marketing Manager", "CTO", "Founder", "Sales Lead", "Designer", "Analyst"]
PLACES = [
    ("DE", "Berlin", "Europe/Berlin"),
    ("FR", "Paris", "Europe/Paris"),
    ("GB", "London", "Europe/London"),
    ("US", "New York", "America/New_York"),
    ("US", "San Francisco", "America/Los_Angeles"),
    ("NL", "Amsterdam", "Europe/Amsterdam"),
    ("ES", "Madrid", "Europe/Madrid"),
    ("JP", "Tokyo", "Asia/Tokyo"),
]
STAGES = ["subscriber"] * 50 + ["lead"] * 30 + ["mql"] * 10 + ["sql"] * 5 + ["customer"] * 5
PLANS = ["free"] * 6 + ["starter"] * 3 + ["pro"] * 2 + ["enterprise"]
TAGS = ["newsletter", "webinar", "vip", "beta", "partner", "churn-risk"]
PAGES = [
    ("/", "Home"),
    ("/pricing", "Pricing"),
    ("/features", "Features"),
    ("/blog/segments-that-move", "Segments that move"),
    ("/blog/lead-scoring-101", "Lead scoring 101"),
    ("/signup", "Sign up"),
    ("/docs/ingestion", "Docs: ingestion"),
    ("/customers", "Customers"),
]
CAMPAIGNS = [
    {"source": "google", "medium": "cpc", "name": "brand"},
    {"source": "newsletter", "medium": "email", "name": "spring"},
    {"source": "linkedin", "medium": "social", "name": "launch"},
]
PRODUCTS = ["starter-kit", "pro-seat", "addon-sms", "addon-ai", "onboarding"]
SITE = "https://www.example.com"

CONTACT_COLUMNS = [
    "id",
    "workspace_id",
    "created_at",
    "updated_at",
    "email",
    "phone",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "country",
    "city",
    "timezone",
    "lifecycle_stage",
    "tags",
    "attributes",
    "email_consent",
    "email_consent_source",
    "email_consent_at",
    "external_id",
    "anonymous_ids",
    "score",
    "last_seen_at",
]
EVENT_COLUMNS = [
    "workspace_id",
    "contact_id",
    "type",
    "name",
    "properties",
    "context",
    "timestamp",
    "received_at",
    "message_id",
    "source",
]


@dataclass
class Generated:
    contact_ids: list[int]
    events: int
    seconds: float


def generate(
    workspace_id: int,
    *,
    contacts: int,
    events: int,
    days: int = 30,
    seed: int = 0,
    now: datetime | None = None,
    connection: Any = None,
    chunk_rows: int = 20_000,
) -> Generated:
    """Write `contacts` contacts and exactly `events` events for them. See the module doc."""
    if connection is None:
        from django.db import connection as django_connection

        # A bulk load is the owner's: PostgreSQL refuses COPY into tables under Row Level
        # Security (docs/security.md), and the generator writes for any workspace it is given.
        with django_connection.owner_role():  # type: ignore[attr-defined]
            return generate(
                workspace_id, contacts=contacts, events=events, days=days, seed=seed, now=now,
                connection=_django_connection(), chunk_rows=chunk_rows,
            )  # fmt: skip
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    rng = random.Random(seed)
    conn = connection
    ids = _reserve_ids(conn, "contacts_contact", contacts)
    window = timedelta(days=days).total_seconds()
    last_seen = [now.timestamp() - window * (rng.random() ** 2) for _ in range(contacts)]
    _copy(
        conn,
        "contacts_contact",
        _contact_columns(),
        _contact_rows(workspace_id, ids, last_seen, now, window, seed, rng),
        chunk_rows,
    )
    counts = _activity(contacts, events, rng)
    _copy(
        conn,
        "contacts_event",
        EVENT_COLUMNS,
        _event_rows(workspace_id, ids, last_seen, counts, now, window, seed, rng),
        chunk_rows,
    )
    return Generated(contact_ids=ids, events=events, seconds=time.perf_counter() - started)


# --- plumbing -----------------------------------------------------------------------------


def _django_connection() -> Any:
    from django.db import connection

    connection.ensure_connection()
    return connection.connection


def _reserve_ids(conn: Any, table: str, count: int) -> list[int]:
    if count == 0:
        return []
    with conn.cursor() as cursor:
        cursor.execute(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)",
            [count],
        )
        return [row[0] for row in cursor.fetchall()]


def _copy(conn: Any, table: str, columns: list[str], rows: Iterator[str], chunk_rows: int) -> None:
    with (
        conn.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        buffer: list[str] = []
        for line in rows:
            buffer.append(line)
            if len(buffer) >= chunk_rows:
                copy.write("".join(buffer))
                buffer.clear()
        if buffer:
            copy.write("".join(buffer))


def _text(value: Any) -> str:
    """A Python value as a COPY text field."""
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict):
        return _escape(json.dumps(value, separators=(",", ":")))
    if isinstance(value, list | tuple):
        return "{" + ",".join(json.dumps(str(v)) for v in value) + "}"
    if isinstance(value, datetime):
        return value.isoformat()
    return _escape(str(value))


def _escape(text: str) -> str:
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


def _ts(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def _contact_columns() -> list[str]:
    return CONTACT_COLUMNS + [name for name, _ in _other_contact_defaults()]


def _other_contact_defaults() -> list[tuple[str, str]]:
    """Columns added to Contact by later work, filled with their model defaults."""
    from contacts.models import Contact

    extra = []
    for field in Contact._meta.concrete_fields:
        if field.column in CONTACT_COLUMNS:
            continue
        if field.column in ("owner_id",) or field.null:
            continue  # NULL is fine
        extra.append((field.column, _text(field.get_default())))
    return extra


def _contact_rows(
    workspace_id: int,
    ids: list[int],
    last_seen: list[float],
    now: datetime,
    window: float,
    seed: int,
    rng: random.Random,
) -> Iterator[str]:
    defaults = "".join("\t" + value for _, value in _other_contact_defaults())
    now_text = now.isoformat()
    for n, contact_id in enumerate(ids):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        domain = rng.choice(DOMAINS)
        country, city, tz = rng.choice(PLACES)
        created = min(last_seen[n], now.timestamp() - window * rng.random())
        plan = rng.choice(PLANS)
        attributes = {
            "plan": plan,
            "seats": rng.randint(1, 50),
            "signup_source": rng.choice(["organic", "ads", "referral", "event"]),
        }
        tags = rng.sample(TAGS, rng.choice((0, 0, 1, 1, 2)))
        subscribed = rng.random() < 0.7
        yield (
            "\t".join(
                (
                    str(contact_id),
                    str(workspace_id),
                    _ts(created),
                    now_text,
                    f"{first.lower()}.{last.lower()}.{seed}.{n}@{domain}",
                    "",
                    first,
                    last,
                    rng.choice(COMPANIES),
                    rng.choice(TITLES),
                    country,
                    city,
                    tz,
                    rng.choice(STAGES),
                    "{" + ",".join(tags) + "}",
                    _escape(json.dumps(attributes, separators=(",", ":"))),
                    "subscribed" if subscribed else "unknown",
                    "import" if subscribed else "",
                    _ts(created) if subscribed else r"\N",
                    f"gen-{seed}-{n}",
                    "{}",
                    "0",
                    _ts(last_seen[n]),
                )
            )
            + defaults
            + "\n"
        )


def _activity(contacts: int, events: int, rng: random.Random) -> list[int]:
    """Events per contact, summing to exactly `events`; a long tail of very active people."""
    if contacts == 0:
        return []
    weights = [rng.paretovariate(1.5) for _ in range(contacts)]
    total = sum(weights)
    counts = [int(events * w / total) for w in weights]
    for i in range(events - sum(counts)):  # rounding left fewer than `contacts` over
        counts[i % contacts] += 1
    return counts


def _event_rows(
    workspace_id: int,
    ids: list[int],
    last_seen: list[float],
    counts: list[int],
    now: datetime,
    window: float,
    seed: int,
    rng: random.Random,
) -> Iterator[str]:
    received = now.isoformat()
    start = now.timestamp() - window
    n = 0
    page_props = [
        _escape(
            json.dumps(
                {"path": p, "url": SITE + p, "title": t, "referrer": ""}, separators=(",", ":")
            )
        )
        for p, t in PAGES
    ]
    page_context = [
        _escape(json.dumps({"page": {"path": p, "url": SITE + p}}, separators=(",", ":")))
        for p, _ in PAGES
    ]
    campaign_context = [
        _escape(
            json.dumps(
                {"page": {"path": "/", "url": SITE + "/"}, "campaign": c}, separators=(",", ":")
            )
        )
        for c in CAMPAIGNS
    ]
    for contact_id, seen, count in zip(ids, last_seen, counts, strict=True):
        if not count:
            continue
        stamps = sorted(start + (seen - start) * rng.random() for _ in range(count - 1))
        stamps.append(seen)
        signed_up = rng.random() < 0.35
        head = f"{workspace_id}\t{contact_id}\t"
        for k, stamp in enumerate(stamps):
            roll = rng.random()
            if signed_up and k == 0:
                kind, name, props, context = "track", "Signed Up", '{"plan":"free"}', "{}"
            elif roll < 0.6:
                page = rng.randrange(len(PAGES))
                kind, name, props = "page", PAGES[page][1], page_props[page]
                context = (
                    rng.choice(campaign_context)
                    if page == 0 and rng.random() < 0.3
                    else page_context[page]
                )
            elif roll < 0.66:
                revenue = round(rng.uniform(9, 900), 2)
                kind, name, context = "track", "Order Completed", "{}"
                props = (
                    f'{{"revenue":{revenue},"currency":"EUR","product":"{rng.choice(PRODUCTS)}"}}'
                )
            elif roll < 0.78:
                kind, name, context = (
                    "track",
                    rng.choice(("Product Viewed", "Added to Cart", "Trial Started")),
                    "{}",
                )
                props = f'{{"product":"{rng.choice(PRODUCTS)}"}}'
            else:
                kind, context = "track", "{}"
                name = rng.choice(
                    ("email.delivered", "email.delivered", "email.opened", "email.clicked")
                )
                props = '{"message_id":"gen"}'
            yield f"{head}{kind}\t{name}\t{props}\t{context}\t{_ts(stamp)}\t{received}\tgen-{seed}-{n}\tgenerator\n"
            n += 1
