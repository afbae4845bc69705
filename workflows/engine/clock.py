"""The engine's clock. Everything in workflows asks `clock.now()`, never `timezone.now()`.

In production it is the wall clock. Tests (and demos) can shift it forward so that a
"wait 2 days" is due without sleeping: the offset lives in the cache, so a real worker
subprocess sees the same shifted time as the test — but only when the process was started
with WORKFLOWS_SHIFTABLE_CLOCK=1 (settings.WORKFLOWS_SHIFTABLE_CLOCK), so a stray cache
key can never move production time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

OFFSET_KEY = "workflows:clock-offset-seconds"


def shiftable() -> bool:
    return bool(settings.WORKFLOWS_SHIFTABLE_CLOCK)


def offset() -> timedelta:
    if not shiftable():
        return timedelta(0)
    return timedelta(seconds=float(cache.get(OFFSET_KEY) or 0))


def now() -> datetime:
    return timezone.now() + offset()


def shift(delta: timedelta) -> datetime:
    """Move the clock forward (tests). Returns the new now()."""
    if not shiftable():
        raise RuntimeError("The workflow clock is not shiftable in this process.")
    cache.set(OFFSET_KEY, (offset() + delta).total_seconds(), timeout=None)
    return now()


def reset() -> None:
    cache.delete(OFFSET_KEY)
