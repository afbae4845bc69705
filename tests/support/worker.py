"""A real Celery worker in a subprocess, against the test database and a test Redis DB.

Tests that use it must see committed data: use `transactional_db` or `live_server`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from celery import Celery
from django.conf import settings
from django.db import connection
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[2]

# Short leases and rescues, so that a fault test sees the recovery of a killed worker within
# seconds; tests add their own time limits on top.
FAST_RECOVERY_ENV = {
    "CELERY_BROKER_VISIBILITY_TIMEOUT": "3",
    "CELERY_BROKER_LEASE_RENEW": "1",
    "MESSAGING_SEND_LEASE": "2",
    "MESSAGING_QUEUED_RESCUE": "3",
}


def smtp_env(sink: Any, **extra: str) -> dict[str, str]:
    """A worker's environment sending real SMTP to `sink` (tests.messaging.smtp_sink)."""
    return {
        "TEST_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}",
        **extra,
    }


def _database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{connection.settings_dict['NAME']}"


@contextmanager
def running_worker(
    *,
    concurrency: int = 1,
    queues: str | None = None,
    extra_env: dict[str, str] | None = None,
    pool: str | None = None,
    purge: bool = True,
    broker_url: str | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """A worker subprocess in its own session (kill_worker kills it with its pool children).
    `purge=False` keeps what is queued — a replacement worker must find the dead one's tasks.
    `broker_url`: a Redis of the test's own (broker and cache), instead of the test Redis."""
    from config.celery_app import app

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _database_url(),
        "TEST_WORKER_USES_DB": "1",
        "REDIS_URL": broker_url or settings.REDIS_URL,
        "CELERY_BROKER_URL": broker_url or settings.CELERY_BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        **(extra_env or {}),
    }
    # The control commands (purge, ping) go through an app on the worker's broker: Celery's
    # mailbox publishes through the app's own producer pool, whatever connection it is given.
    control = (
        Celery("tendril-test-control", broker=broker_url, set_as_current=False).control
        if broker_url
        else None
    )
    control = control or app.control
    if purge:
        control.purge()
        from config.fair_queue import fair_purge
        from contacts.tasks import process_events

        fair_purge(process_events, broker_url=broker_url)
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
        pool or ("prefork" if concurrency > 1 else "solo"),
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
    ]
    if queues:
        cmd += ["-Q", queues]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True)
    # Tasks this process sends must go to the worker. Not `app.conf.task_always_eager = False`:
    # the app reads Django settings with the CELERY namespace, and Celery then looks up
    # CELERY_TASK_ALWAYS_EAGER (True in the test settings) before its own unprefixed changes,
    # so that assignment was shadowed and every task ran eagerly here, in the test process.
    eager_off = override_settings(CELERY_TASK_ALWAYS_EAGER=False)
    eager_off.enable()
    try:
        if app.conf.task_always_eager:
            raise RuntimeError("tasks would still run eagerly in the test process")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"celery worker exited with {proc.returncode}")
            if control.ping(timeout=0.5):
                break
        else:
            raise RuntimeError("celery worker did not come up in 30 s")
        yield proc
    finally:
        eager_off.disable()
        if proc.poll() is not None:
            kill_worker(proc)  # its pool children, if it died alone
        else:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                kill_worker(proc)


def kill_worker(proc: subprocess.Popen[bytes]) -> None:
    """kill -9 the worker and its pool children (its whole process group), and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def wait_for(
    predicate, *, timeout: float = 20.0, interval: float = 0.1, message: str = "condition"
):  # type: ignore[no-untyped-def]
    """Poll until predicate() is truthy; return its value. Fails the test on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
