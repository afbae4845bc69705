"""Real server processes for fault tests: a private redis-server (to kill and restart without
touching the machine's shared one) and gunicorn serving the app against the test database.

Both run in their own session; tests stop them with `stop` (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .worker import ROOT, _database_url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(proc: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    """SIGTERM (or SIGKILL with `kill`) the process group, and reap it."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _wait(ready, proc: subprocess.Popen[bytes], what: str, timeout: float = 90) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with contextlib.suppress(OSError):
            if ready():
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up in {timeout:.0f} s")


class PrivateRedis:
    """redis-server on a free loopback port, without persistence: a restart empties it, as
    a crashed Redis without AOF/RDB would come back."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> PrivateRedis:
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        cmd += ["--save", "", "--appendonly", "no", "--loglevel", "warning"]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, start_new_session=True, cwd="/tmp"
        )
        _wait(self.ping, self.proc, "redis-server")
        return self

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=1).ping())
        except redis.exceptions.ConnectionError:
            return False

    def kill(self) -> None:
        """kill -9: the server and everything it held (queues, unacked tasks) are gone."""
        assert self.proc is not None
        stop(self.proc, kill=True)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)


@contextmanager
def running_web(*, extra_env: dict[str, str] | None = None, workers: int = 2) -> Iterator[str]:
    """gunicorn (gthread) serving config.wsgi with the development settings (the database
    pool on, DEBUG off) against the test database; yields its base URL."""
    from django.conf import settings

    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DEBUG": "false",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "ALLOWED_HOSTS": "*",
        **(extra_env or {}),
    }
    cmd = [sys.executable, "-m", "gunicorn", "config.wsgi:application"]
    cmd += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    cmd += ["--worker-class", "gthread", "--threads", "2", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        with urllib.request.urlopen(url + "/healthz", timeout=2):  # noqa: S310 — our server
            return True

    try:
        _wait(healthy, proc, "gunicorn")
        yield url
    finally:
        stop(proc)


@contextmanager
def running_beat(*, extra_env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """celery beat with the project's schedule (the recovery sweeps), a fresh schedule file."""
    import tempfile

    from django.conf import settings

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _database_url(),
        "TEST_WORKER_USES_DB": "1",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        **(extra_env or {}),
    }
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "celery", "-A", "config", "beat", "-l", "warning"]
        cmd += ["-s", f"{tmp}/celerybeat-schedule"]
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True)
        try:
            yield proc
        finally:
            stop(proc)


@dataclass
class BatchPoster:
    """Posts /v1/batch in a loop (unique messageIds and users), recording each answer:
    (when, status, body, the batch's messageIds)."""

    url: str
    write_key: str
    answers: list[tuple[float, int, bytes, list[str]]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    sent: int = 0
    per_batch: int = 5

    def start(self) -> BatchPoster:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _post(self) -> tuple[int, bytes, list[str]]:
        ids = [f"m-{self.sent}-{i}" for i in range(self.per_batch)]
        self.sent += 1
        batch = [
            {"type": "track", "event": "Fault Probe", "userId": f"u-{mid}", "messageId": mid}
            for mid in ids
        ]
        auth = base64.b64encode(f"{self.write_key}:".encode()).decode()
        request = urllib.request.Request(  # noqa: S310 — our own server
            self.url + "/v1/batch",
            data=json.dumps({"batch": batch}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Basic {auth}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status, response.read(), ids
        except urllib.error.HTTPError as error:
            return error.code, error.read(), ids
        except OSError as error:  # no HTTP answer at all (connection reset, timeout): status 0
            return 0, repr(error).encode(), ids

    def _run(self) -> None:
        while not self.stop.is_set():
            status, body, ids = self._post()
            self.answers.append((time.monotonic(), status, body, ids))

    def answered_since(self, moment: float) -> int:
        return sum(1 for answer in self.answers if answer[0] > moment)

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(timeout=60)
