"""The home page's plug-in points: each app says what a new workspace should do next and
which figures tell how it is going. Workspaces never imports those apps; each registers a
provider in its AppConfig.ready():

    from workspaces.hooks import HomeFigure, HomeStep, on_home

    @on_home
    def segments_home(workspace: Workspace) -> Iterable[HomeStep | HomeFigure]:
        yield HomeStep(order=30, title="Build a segment", ..., done=...)

A provider answers from a few cheap queries (EXISTS, COUNT on an index): the home page is
the first thing everyone sees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .roles import Capability

if TYPE_CHECKING:
    from .models import Workspace


@dataclass(frozen=True)
class HomeStep:
    """One "Get started" step: a link, done or not yet."""

    order: int
    title: str
    detail: str
    url: str
    done: bool
    # What the link's page needs to be opened; without it the step shows, but not as a link.
    capability: Capability = Capability.VIEW


@dataclass(frozen=True)
class HomeFigure:
    """One key figure of the workspace, linking to where it comes from."""

    order: int
    label: str
    value: int
    url: str
    hint: str = ""


HomeProvider = Callable[["Workspace"], Iterable[HomeStep | HomeFigure]]
_providers: list[HomeProvider] = []


def on_home(provider: HomeProvider) -> HomeProvider:
    if provider not in _providers:
        _providers.append(provider)
    return provider


def home_items(*, workspace: Workspace) -> tuple[list[HomeStep], list[HomeFigure]]:
    steps: list[HomeStep] = []
    figures: list[HomeFigure] = []
    for provider in _providers:
        for item in provider(workspace):
            (steps if isinstance(item, HomeStep) else figures).append(item)
    return sorted(steps, key=lambda s: s.order), sorted(figures, key=lambda f: f.order)
