"""Debian's Chromium driven by Playwright (no browser download is possible here)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"{CHROMIUM} is missing: run `make chromium` (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def htmx_settled(page) -> None:  # noqa: ANN001
    """Wait until htmx has swapped and processed what it was loading (handlers attached)."""
    page.wait_for_function(
        "!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )


def csp_safe_wait_for_function(page: Any) -> None:
    """Make `page.wait_for_function` work under the app's Content-Security-Policy.

    Playwright polls a string predicate by `eval` inside the page, which the CSP refuses
    (as it should: no 'unsafe-eval'). This polls the same predicate through the DevTools
    protocol (`page.evaluate`, which page policies do not govern) until it is truthy, within
    the page's default timeout (or `timeout` ms)."""
    import time

    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    def wait_for_function(
        expression: str, *, arg: Any = None, timeout: float | None = None, polling: Any = None
    ) -> Any:
        limit = (timeout if timeout is not None else page._tendril_timeout) / 1000
        deadline = time.monotonic() + limit
        while True:
            value = page.evaluate(expression, arg)
            if value:
                return value
            if time.monotonic() > deadline:
                raise PlaywrightTimeout(
                    f"wait_for_function: {expression!r} not true in {limit:.0f} s"
                )
            page.wait_for_timeout(50)  # the poll interval, not a wait for an outcome

    page.wait_for_function = wait_for_function
