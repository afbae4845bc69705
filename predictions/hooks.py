"""The `predictions_scored` hook: how apps above predictions learn that a model's stored
probabilities and tiers changed (a training run was published and scored the contacts).

Predictions never imports those apps. Segments registers in its processors module (imported
from its AppConfig.ready()) and recomputes, set-based, the segments whose filters read the
model's fields:

    from predictions.hooks import on_predictions_scored

    @on_predictions_scored(name="segments")
    def segments_on_predictions(scored: PredictionsScored) -> None: ...

Listeners run after the scores committed, in the training task.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workspaces.models import Workspace

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PredictionsScored:
    workspace: Workspace
    model_id: int
    key: str
    fields: tuple[str, ...]  # the filter fields whose values changed
    contacts: int


Listener = Callable[[PredictionsScored], None]
_listeners: list[tuple[str, Listener]] = []


def on_predictions_scored(*, name: str) -> Callable[[Listener], Listener]:
    def register(func: Listener) -> Listener:
        if not any(existing == name for existing, _ in _listeners):
            _listeners.append((name, func))
        return func

    return register


def registered_listeners() -> list[str]:
    return [name for name, _ in _listeners]


def predictions_scored(scored: PredictionsScored) -> None:
    """Tell every listener. One that fails is logged; the others still run (the scores are
    stored either way, and the next nightly run tells them again)."""
    for name, func in list(_listeners):
        try:
            func(scored)
        except Exception:
            logger.exception("predictions_scored listener %s failed", name)
