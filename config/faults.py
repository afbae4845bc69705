"""Fault points: named places in the send and workflow paths where a test can make the
worker die with SIGKILL, deterministically (tests/messaging/test_fault_sends.py …).

TENDRIL_FAULT_POINTS (settings, empty in production) lists `name` or `name:N` entries; the
process kills itself the N-th time (default: the first) it passes `name`. A prefork pool
child kills its parent — the worker's main process, which holds the prefetched messages —
and then itself, as kill -9 of the whole worker would; the solo pool is one process.
"""

from __future__ import annotations

import os
import signal

from billiard.process import current_process
from django.conf import settings
from django.db import transaction

_passes: dict[str, int] = {}


def _armed() -> dict[str, int]:
    armed: dict[str, int] = {}
    for entry in settings.TENDRIL_FAULT_POINTS:
        name, _, nth = entry.partition(":")
        armed[name.strip()] = int(nth) if nth.strip() else 1
    return armed


def fault_point(name: str) -> None:
    """Die here if a test armed this point (no-op otherwise)."""
    if not settings.TENDRIL_FAULT_POINTS:
        return
    nth = _armed().get(name)
    if nth is None:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] != nth:
        return
    if current_process().name.startswith("ForkPoolWorker"):
        os.kill(os.getppid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


def fault_point_on_commit(name: str) -> None:
    """Die at `name` right after the current transaction commits, before the callbacks
    registered after this one (the publishes of what the transaction wrote)."""
    if settings.TENDRIL_FAULT_POINTS:
        transaction.on_commit(lambda: fault_point(name))
