"""What every scenario needs: its own database, the real server and worker, and a report.

    from bench import harness
    harness.setup_django(database="tendril_bench_x", redis_db=1)  # fresh DB, migrated
    with harness.server(port=18100, workers=3), harness.worker():
        ...
    harness.report("ingest", [("events/s", 5234.0), ...])

The scenario process itself runs Django against the bench database (settings
config.settings.local with DEBUG off), so it can create workspaces, generate data and
count rows. Servers are real processes: gunicorn for the web, a Celery worker.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
ENV: dict[str, str] = {}


def _namespaced(database: str, redis_db: int) -> tuple[str, int]:
    """Several people benching on one machine must not share a database or a broker.

    BENCH_NAMESPACE (or, in a shell set up for tests, the suffix of TEST_DATABASE_NAME)
    suffixes the database; BENCH_REDIS_DB (or the db of REDIS_URL) replaces the Redis db,
    which the scenario purges. Without either, the scenario's own defaults hold.
    """
    namespace = os.environ.get("BENCH_NAMESPACE") or os.environ.get(
        "TEST_DATABASE_NAME", ""
    ).removeprefix("test_tendril").strip("_")
    if namespace:
        database = f"{database}_{namespace}"
    redis_override = os.environ.get("BENCH_REDIS_DB")
    if redis_override is None and namespace and "REDIS_URL" in os.environ:
        redis_override = os.environ["REDIS_URL"].rstrip("/").rsplit("/", 1)[-1]
    if redis_override and redis_override.isdigit():
        redis_db = int(redis_override)
    return database, redis_db


def setup_django(*, database: str, redis_db: int, fresh: bool = True) -> dict[str, str]:
    """Point this process (and the servers it starts) at `database`, recreate and migrate it."""
    import psycopg

    database, redis_db = _namespaced(database, redis_db)

    if fresh:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{database}"')
    redis = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")
    ENV.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DATABASE_URL": f"{PG}/{database}",
            "REDIS_URL": f"{redis}/{redis_db}",
            "CELERY_BROKER_URL": f"{redis}/{redis_db}",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "ALLOWED_HOSTS": "*",
            "CELERY_TASK_ALWAYS_EAGER": "false",
            # marketing email is refused without a postal address (messaging compliance)
            "MESSAGING_DEFAULT_PHYSICAL_ADDRESS": "1 Bench Street, Testville",
        }
    )
    # The servers measured run as the settings say (TENANT_RLS on unless this process was
    # started with TENANT_RLS=false); this process generates and counts every workspace's
    # rows as the owner — the baselines, and COPY, which PostgreSQL refuses under RLS.
    ENV["TENANT_RLS"] = os.environ.get("TENANT_RLS", "true")
    os.environ.update(ENV)
    os.environ["TENANT_RLS"] = "false"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from workspaces import scope_state

    # The bench process generates and counts every workspace's rows; the web and worker
    # processes it measures start clean and run under Row Level Security (TENANT_RLS).
    # Same as `with dangerously_all_workspaces(reason=…)`, held for the whole process (and
    # what a scenario measures in this process under RLS it runs in a workspace's scope).
    scope_state.enter(scope_state.ALL_WORKSPACES)
    from config.celery_app import app
    from config.fair_queue import fair_purge
    from contacts.tasks import process_events

    app.control.purge()
    fair_purge(process_events)
    return dict(ENV)


def workspace(name: str = "Bench") -> tuple[int, str]:
    """A new workspace; returns (id, raw write key)."""
    from workspaces.services import user_get_or_create, workspace_create

    owner, _ = user_get_or_create(email=f"bench-{time.time_ns()}@tendril.test", password=None)
    created = workspace_create(name=name, owner=owner)
    return created.workspace.pk, created.write_key.raw


def _spawn(cmd: list[str], log: str, cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    out = open(ROOT / ".data" / log, "wb")  # noqa: SIM115 — closed with the process
    return subprocess.Popen(
        cmd,
        cwd=cwd,
        env={**os.environ, **ENV},
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextmanager
def server(*, port: int, workers: int = 3, threads: int = 1, root: Path = ROOT) -> Iterator[str]:
    """gunicorn serving config.wsgi on 127.0.0.1:`port`; yields its base URL. `root`: the
    checkout whose code it serves (another one to compare two versions of the code)."""
    (ROOT / ".data").mkdir(exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread" if threads > 1 else "sync",
        "--threads",
        str(threads),
        "--keep-alive",
        "5",
        "--backlog",
        "2048",
        "--log-level",
        "warning",
    ]
    proc = _spawn(cmd, f"bench-gunicorn-{port}.log", cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(url + "/healthz", proc)
        yield url
    finally:
        _stop(proc)


@contextmanager
def worker(
    *, concurrency: int = 1, queues: str | None = None, name: str = "bench"
) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker; `queues` (e.g. "pipeline"): only those, as deployed per queue."""
    cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "-l",
        "warning",
        "--concurrency",
        str(concurrency),
        "--pool",
        "prefork" if concurrency > 1 else "solo",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        f"{name}-{os.getpid()}@%h",
        *(["-Q", queues] if queues else []),
    ]
    proc = _spawn(cmd, f"{name}-celery.log")
    from config.celery_app import app

    deadline = time.monotonic() + 120  # a loaded machine takes a while to start Django
    me = [f"{name}-{os.getpid()}@{socket.gethostname()}"]
    while not app.control.ping(destination=me, timeout=0.5):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the celery worker did not start; see .data/{name}-celery.log")
    try:
        yield proc
    finally:
        _stop(proc)


@contextmanager
def beat(*, name: str = "bench") -> Iterator[subprocess.Popen[bytes]]:
    """Real celery beat with the project's schedule, from a fresh schedule file."""
    schedule = ROOT / ".data" / f"{name}-celerybeat-schedule"
    schedule.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "celery", "-A", "config", "beat", "-l", "warning"]
    proc = _spawn([*cmd, "-s", str(schedule)], f"{name}-celery-beat.log")
    try:
        yield proc
    finally:
        _stop(proc)


def _wait_http(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120  # a loaded machine takes a while to start Django
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}); see .data/bench-gunicorn-*.log")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 — our own local server
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in 120 s")


def queue_length(queue: str | None = None) -> int:
    """Messages waiting in `queue`; without one, in every queue (CELERY_TASK_ROUTES) plus the
    pipeline items waiting their turn on the fair queue (config/fair_queue.py)."""
    from django.conf import settings

    from config.celery_app import app
    from config.fair_queue import fair_waiting
    from contacts.tasks import process_events

    names = [queue] if queue else list(settings.CELERY_QUEUES_BY_CONCERN.values())
    with app.connection_for_write() as conn:
        client = conn.default_channel.client
        waiting = sum(int(client.llen(name)) for name in names)
    if queue is None:
        waiting += sum(fair_waiting(process_events).values())
    return waiting


def wait_queue_empty(timeout: float = 300) -> float:
    """Seconds until the queues are empty (the workers caught up), at most `timeout`."""
    started = time.monotonic()
    while queue_length() and time.monotonic() - started < timeout:
        time.sleep(0.2)
    return time.monotonic() - started


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(func: Callable[[], Any], runs: int = 3) -> tuple[float, Any]:
    """Median seconds of `runs` calls of `func`, and the last call's result."""
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def report(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in rows)
    print(f"\n== {title} ==")
    for label, value in rows:
        print(f"  {label.ljust(width)}  {value}")
    sys.stdout.flush()


def machine_note() -> str:
    load = os.getloadavg()[0]
    return f"{os.cpu_count()} cores, load average {load:.2f} at start (shared with other work)"


def analyze(*tables: str, vacuum: bool = False) -> None:
    """ANALYZE (with `vacuum`, VACUUM (ANALYZE)) `tables`, or the whole bench database:
    the planner statistics and cleared row versions autovacuum keeps on a server in service
    (this development server runs with autovacuum off)."""
    from django.db import connection

    command = "VACUUM (ANALYZE)" if vacuum else "ANALYZE"
    with connection.cursor() as cursor:
        for table in tables or ("",):
            cursor.execute(f"{command} {table}".strip())


# --- where the CPU went --------------------------------------------------------------------

_CPU_GROUPS = (
    ("gunicorn", "web (gunicorn)"),
    ("celery", "worker (celery)"),
    ("postgres", "postgres"),
    ("redis-server", "redis"),
)
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_by_process() -> dict[str, float]:
    """CPU seconds used so far by the processes of each part (web, worker, postgres, redis,
    this scenario's own load clients, everything else), read from /proc."""
    me = os.getpid()
    totals: dict[str, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat_file:
                stat = stat_file.read().decode(errors="replace")
            with open(f"/proc/{entry}/cmdline", "rb") as cmd_file:
                cmdline = cmd_file.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # gone meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        if int(entry) == me:
            group = "load clients (this scenario)"
        else:
            group = next(
                (name for key, name in _CPU_GROUPS if key in cmdline or key in comm), "other"
            )
        totals[group] = totals.get(group, 0.0) + seconds
    return totals


def cpu_report(before: dict[str, float], after: dict[str, float], per: int, unit: str) -> str:
    """'web 1.2 ms, postgres 0.9 ms, …' — CPU per `unit` between two cpu_by_process()."""
    used = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    parts = [
        f"{name} {seconds / max(per, 1) * 1000:.2f} ms"
        for name, seconds in sorted(used.items(), key=lambda item: -item[1])
        if seconds > 0
    ]
    return f"CPU per {unit}: " + ", ".join(parts)
