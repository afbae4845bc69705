"""What workflows asks of the app above it (analytics), without importing it.

Workflows sits below analytics (docs/architecture.md): it never imports analytics. Where the
builder wants a figure analytics keeps, analytics registers a provider here in its
AppConfig.ready():

    from workflows.hooks import on_event_counts

    @on_event_counts
    def hourly_event_counts(*, workspace, names, since) -> dict[str, int]: ...

Without a provider (analytics not installed) the builder simply shows no counts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workspaces.models import Workspace

EventCounts = Callable[..., dict[str, int]]

_event_counts: list[EventCounts] = []


def on_event_counts(provider: EventCounts) -> EventCounts:
    """Register the provider of "events per name since" (the last one registered answers)."""
    if provider not in _event_counts:
        _event_counts.append(provider)
    return provider


def event_counts(*, workspace: Workspace, names: list[str], since: datetime) -> dict[str, int]:
    """Events per name since `since`, from the registered provider ({} without one)."""
    if not names or not _event_counts:
        return {}
    return _event_counts[-1](workspace=workspace, names=names, since=since)
