"""Segments' part of the home page."""

from __future__ import annotations

from collections.abc import Iterator

from django.urls import reverse

from workspaces.hooks import HomeFigure, HomeStep, on_home
from workspaces.models import Workspace
from workspaces.roles import Capability

from .models import Segment


@on_home
def segments_home(workspace: Workspace) -> Iterator[HomeStep | HomeFigure]:
    count = Segment.objects.for_workspace(workspace).count()
    yield HomeStep(
        order=30,
        title="Build a segment",
        detail="Who did what, and who they are: segments update within seconds as events arrive.",
        url=reverse("segments:create") if not count else reverse("segments:list"),
        done=count > 0,
        capability=Capability.EDIT_MARKETING if not count else Capability.VIEW,
    )
    yield HomeFigure(order=30, label="Segments", value=count, url=reverse("segments:list"))
