"""Messaging's limits, counted by the project's one limiter (workspaces.throttling, the
`limits` library's sliding-window counters in Redis): the workspace send rate, the
per-sender SMS rate, and the failure burst that auto-pauses a workspace.

A batch of 100 messages takes its permits in one call, not 100.
"""

from __future__ import annotations

from django.conf import settings
from limits import RateLimitItem

from workspaces import throttling


def acquire(key: str, requested: int, *, limit: int, window_seconds: int) -> int:
    """Take up to `requested` permits from the window; returns how many were granted."""
    if limit <= 0:
        return max(requested, 0)  # no limit configured
    item = throttling.per_second(limit, seconds=window_seconds)
    return throttling.hit_up_to(item, "send", key, requested=requested)


def _failure_burst() -> RateLimitItem:
    return throttling.per_second(
        settings.MESSAGING_PAUSE_AFTER_FAILURES, seconds=settings.MESSAGING_PAUSE_WINDOW
    )


def failure_burst_reached(workspace_id: int) -> bool:
    """Count one delivery failure; True once MESSAGING_PAUSE_AFTER_FAILURES of them fell in
    the last MESSAGING_PAUSE_WINDOW seconds."""
    return throttling.hit_fills(_failure_burst(), "send-failures", str(workspace_id))


def failure_burst_clear(workspace_id: int) -> None:
    throttling.clear(_failure_burst(), "send-failures", str(workspace_id))
