"""Scenario `load`: everything at once — ingestion, the UI, the management API and the workers.

    .venv/bin/python -m bench load [--minutes 10] [--scale 1.0]

1. Fresh database `tendril_bench_load`, a workspace with an owner (password login), its
   write and secret keys; real processes on loopback: gunicorn (2 gthread workers x 4
   threads), one Celery worker (concurrency 2) and Celery beat (the scheduler tick,
   rollups, decay … as in production). A segment "did Order Completed" is created through
   the API, so the pipeline keeps real-time membership busy.
2. Baseline: each route alone, one request at a time, before the load (p50 unloaded).
3. Load for --minutes, paced (open loop: each client keeps its own schedule and catches up
   when late, so a slow server sees a backlog, not politely fewer requests):
   - /v1/batch: 50 messages per request (page/track/identify), 3 requests/s;
   - /v1/track: 30 requests/s;
   - UI: a logged-in session loading home, contacts, segments, workflows, analytics, leads,
     messages (one page a second per client, 2 clients);
   - API: secret-key reads (contacts, events, segments, workflows, members) and a tag
     write, 8 requests/s.
   `--scale` multiplies every rate. Default limits stay on (rate limits, lockout): the
   bench also shows that normal traffic never meets them.
4. Then the pipeline drains (the Celery queue empties) and the events in PostgreSQL are
   counted: every event a 200 accepted must be stored, exactly once (message ids are
   unique per run).

Prints, per route: requests, errors (anything but the expected status), p50/p99 and the
ratio p99 under load / p50 unloaded; the overall error rate (target 0); events accepted
vs stored.
"""

from __future__ import annotations

import argparse
import re
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import requests

from bench import harness

DATABASE = "tendril_bench_load"
PORT = 18140
REDIS_DB = 4
PASSWORD = "load-bench-password-1"  # noqa: S105
UI_PAGES = ["/", "/contacts/", "/segments/", "/workflows/", "/analytics/", "/leads/", "/messages/"]
API_READS = [
    "/api/v1/contacts/?limit=20",
    "/api/v1/events/?limit=20",
    "/api/v1/segments/",
    "/api/v1/workflows/",
    "/api/v1/members/",
]
EVENTS = ["Product Viewed", "Added to Cart", "Order Completed"]


class Stats:
    """Latencies and errors per route, and the events the server accepted."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.accepted = 0

    def record(
        self, route: str, seconds: float, error: str | None = None, accepted: int = 0
    ) -> None:
        with self.lock:
            self.latency[route].append(seconds)
            if error:
                self.errors[route].append(error)
            self.accepted += accepted


def _message(run: str, n: int, kind: str, user: int) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": kind,
        "messageId": f"load-{run}-{n}",
        "userId": f"user-{user}",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "context": {"library": {"name": "bench-load"}},
    }
    if kind == "track":
        event = EVENTS[n % len(EVENTS)]
        base["event"] = event
        base["properties"] = (
            {"revenue": 42.0} if event == "Order Completed" else {"sku": f"p{n % 97}"}
        )
    elif kind == "page":
        base["name"] = "Pricing"
        base["properties"] = {"path": "/pricing"}
    else:
        base["traits"] = {"email": f"user-{user}@load.test", "plan": ["free", "pro"][n % 2]}
    return base


class Ids:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.n = 0
        self.run = uuid.uuid4().hex[:8]

    def take(self, count: int) -> list[int]:
        with self.lock:
            first = self.n
            self.n += count
        return list(range(first, first + count))


def _paced(rate: float, stop: threading.Event, action: Callable[[], None]) -> None:
    """Call `action` `rate` times a second on a fixed schedule until `stop`."""
    interval = 1.0 / rate
    due = time.monotonic()
    while not stop.is_set():
        action()
        due += interval
        delay = due - time.monotonic()
        if delay > 0:
            stop.wait(delay)


def _timed(
    stats: Stats, route: str, send: Callable[[], requests.Response], expect: int = 200
) -> requests.Response | None:
    started = time.perf_counter()
    try:
        response = send()
    except requests.RequestException as error:
        stats.record(route, time.perf_counter() - started, f"{error.__class__.__name__}")
        return None
    error = None if response.status_code == expect else f"HTTP {response.status_code}"
    stats.record(route, time.perf_counter() - started, error)
    return response


def ingest_batch(url: str, write_key: str, ids: Ids, stats: Stats) -> Callable[[], None]:
    session = requests.Session()
    session.auth = (write_key, "")

    def send() -> None:
        numbers = ids.take(50)
        kinds = ["page", "track", "track", "page", "identify"]
        batch = [_message(ids.run, n, kinds[n % 5], n % 2000) for n in numbers]
        response = _timed(
            stats,
            "POST /v1/batch",
            lambda: session.post(f"{url}/v1/batch", json={"batch": batch}, timeout=30),
        )
        if response is not None and response.status_code == 200:
            with stats.lock:
                stats.accepted += int(response.json().get("stored", 0))

    return send


def ingest_single(url: str, write_key: str, ids: Ids, stats: Stats) -> Callable[[], None]:
    session = requests.Session()
    session.auth = (write_key, "")

    def send() -> None:
        (n,) = ids.take(1)
        body = _message(ids.run, n, "track", n % 2000)
        response = _timed(
            stats, "POST /v1/track", lambda: session.post(f"{url}/v1/track", json=body, timeout=30)
        )
        if response is not None and response.status_code == 200:
            with stats.lock:
                stats.accepted += 1

    return send


def ui_session(url: str, email: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{url}/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the login page"
    response = session.post(
        f"{url}/login/",
        data={"username": email, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": f"{url}/login/"},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, f"login answered {response.status_code}"
    return session


def ui_pages(url: str, email: str, stats: Stats, offset: int) -> Callable[[], None]:
    session = ui_session(url, email)
    position = [offset]

    def send() -> None:
        path = UI_PAGES[position[0] % len(UI_PAGES)]
        position[0] += 1
        _timed(stats, f"GET {path}", lambda: session.get(f"{url}{path}", timeout=30))

    return send


def api_calls(url: str, secret_key: str, stats: Stats) -> Callable[[], None]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {secret_key}"
    position = [0]

    def send() -> None:
        i = position[0]
        position[0] += 1
        if i % 10 == 9:  # a write now and then: tag a known contact
            _timed(
                stats,
                "POST /api/v1/contacts/{id}/tags/",
                lambda: session.post(
                    f"{url}/api/v1/contacts/{_some_contact(session, url)}/tags/",
                    json={"tags": ["load"]},
                    timeout=30,
                ),
            )
            return
        path = API_READS[i % len(API_READS)]
        _timed(stats, f"GET {path.split('?')[0]}", lambda: session.get(f"{url}{path}", timeout=30))

    return send


_contact_ids: list[str] = []


def _some_contact(session: requests.Session, url: str) -> str:
    if not _contact_ids:
        page = session.get(f"{url}/api/v1/contacts/?limit=50", timeout=30).json()
        _contact_ids.extend(str(c["id"]) for c in page.get("results", []))
    return _contact_ids[int(time.monotonic() * 1000) % len(_contact_ids)] if _contact_ids else "0"


def baseline(url: str, write_key: str, secret_key: str, email: str, ids: Ids) -> dict[str, float]:
    """p50 of each route alone, one request at a time (no other load)."""
    stats = Stats()
    senders = [ingest_batch(url, write_key, ids, stats), ingest_single(url, write_key, ids, stats)]
    ui = [ui_pages(url, email, stats, 0)]
    api = [api_calls(url, secret_key, stats)]
    for _ in range(10):
        for send in senders:
            send()
    for _ in range(5 * len(UI_PAGES)):
        ui[0]()
    for _ in range(5 * 10):
        api[0]()
    unloaded = {route: harness.percentile(values, 0.5) for route, values in stats.latency.items()}
    return unloaded | {"_accepted": float(stats.accepted)}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench load")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every request rate")
    args = parser.parse_args(argv)
    note = harness.machine_note()
    harness.setup_django(database=DATABASE, redis_db=REDIS_DB)
    from contacts.models import Event
    from workspaces import throttling
    from workspaces.services import user_get_or_create, workspace_create

    throttling.reset()
    email = "owner@load.test"
    owner, _ = user_get_or_create(email=email, password=PASSWORD)
    created = workspace_create(name="Bench load", owner=owner)
    workspace = created.workspace
    write_key, secret_key = created.write_key.raw, created.secret_key.raw
    ids = Ids()
    stats = Stats()
    rates = {
        "batch": 3 * args.scale,
        "single": 30 * args.scale,
        "ui": 1 * args.scale,
        "api": 8 * args.scale,
    }

    with (
        harness.server(port=PORT, workers=2, threads=4) as url,
        harness.worker(concurrency=2),
        harness.beat(name="bench-load"),
    ):
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {secret_key}"
        made = api.post(
            f"{url}/api/v1/segments/",
            json={"name": "Buyers", "filter": {"all": [{"event": "Order Completed"}]}},
            timeout=30,
        )
        if made.status_code >= 300:
            print(f"segment not created ({made.status_code}): {made.text[:200]}")
        unloaded = baseline(url, write_key, secret_key, email, ids)
        accepted_before = int(unloaded.pop("_accepted"))
        stop = threading.Event()
        actions = [
            (rates["batch"], ingest_batch(url, write_key, ids, stats)),
            (rates["single"] / 2, ingest_single(url, write_key, ids, stats)),
            (rates["single"] / 2, ingest_single(url, write_key, ids, stats)),
            (rates["ui"], ui_pages(url, email, stats, 0)),
            (rates["ui"], ui_pages(url, email, stats, 3)),
            (rates["api"], api_calls(url, secret_key, stats)),
        ]
        threads = [
            threading.Thread(target=_paced, args=(rate, stop, action), daemon=True)
            for rate, action in actions
        ]
        cpu_before = harness.cpu_by_process()
        started = time.monotonic()
        print(f"load for {args.minutes:g} min: {rates} requests/s …", flush=True)
        for thread in threads:
            thread.start()
        deadline = started + args.minutes * 60
        while time.monotonic() < deadline:
            time.sleep(min(30.0, max(0.0, deadline - time.monotonic())))
            done = sum(len(v) for v in stats.latency.values())
            errors = sum(len(v) for v in stats.errors.values())
            print(
                f"  {time.monotonic() - started:5.0f} s: {done} requests, {errors} errors, {stats.accepted} events accepted",
                flush=True,
            )
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        elapsed = time.monotonic() - started
        cpu = harness.cpu_report(
            cpu_before, harness.cpu_by_process(), max(1, stats.accepted // 1000), "1,000 events"
        )
        drain = harness.wait_queue_empty(timeout=900)
        # The last tasks may still run after the queue empties: wait for the count to settle.
        stored = -1
        settle = time.monotonic() + 120
        while time.monotonic() < settle:
            now = Event.objects.filter(
                workspace=workspace, message_id__startswith=f"load-{ids.run}-"
            ).count()
            if now == stored:
                break
            stored = now
            time.sleep(2)

    accepted = stats.accepted + accepted_before
    total = sum(len(v) for v in stats.latency.values())
    errors = sum(len(v) for v in stats.errors.values())
    rows: list[tuple[str, str]] = [
        ("machine", note),
        (
            "setup",
            f"gunicorn 2 x 4 threads, celery worker x2 + beat, {args.minutes:g} min, rates {rates}",
        ),
        ("requests", f"{total:,} in {elapsed:.0f} s ({total / elapsed:,.1f}/s)"),
        ("error rate", f"{errors / max(1, total):.4%} ({errors} errors)"),
        ("events accepted", f"{accepted:,}"),
        ("events stored", f"{stored:,} ({'equal' if stored == accepted else 'MISMATCH'})"),
        ("pipeline drained", f"{drain:.1f} s after the load stopped"),
        ("where the CPU went", cpu),
    ]
    for route in sorted(stats.latency):
        values = stats.latency[route]
        p99 = harness.percentile(values, 0.99)
        base = unloaded.get(route)
        ratio = f", x{p99 / base:.1f} of p50 unloaded ({base * 1000:.0f} ms)" if base else ""
        errs = stats.errors.get(route, [])
        rows.append(
            (
                f"  {route}",
                f"{len(values):,} req, {len(errs)} err, p50 {harness.percentile(values, 0.5) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms{ratio}",
            )
        )
        if errs:
            rows.append(("    first errors", ", ".join(sorted(set(errs))[:3])))
    harness.report("load", rows)
