"""Threads for concurrency tests: each has its own database connection (closed at the end),
runs in the starting test's scope, and reports what it raised, so the test can assert on
it instead of losing it."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable

from django.db import connection


def start(target: Callable[[], None], errors: list[BaseException]) -> threading.Thread:
    # The test's own code, in another thread: with the test's scope (tests/conftest.py).
    context = contextvars.copy_context()

    def run() -> None:
        try:
            context.run(target)
        except Exception as error:  # noqa: BLE001 — handed to the test
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread
