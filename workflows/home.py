"""Workflows' part of the home page."""

from __future__ import annotations

from collections.abc import Iterator

from django.urls import reverse

from workspaces.hooks import HomeFigure, HomeStep, on_home
from workspaces.models import Workspace

from .models import Workflow


@on_home
def workflows_home(workspace: Workspace) -> Iterator[HomeStep | HomeFigure]:
    live = Workflow.objects.for_workspace(workspace).filter(status=Workflow.Status.ACTIVE).count()
    yield HomeStep(
        order=50,
        title="Publish a workflow",
        detail="Start from a ready-made one (welcome series, abandoned cart …) or an empty "
        "canvas: triggers, waits, branches and sends.",
        url=reverse("workflows:list"),
        done=live > 0,
    )
    yield HomeFigure(order=40, label="Live workflows", value=live, url=reverse("workflows:list"))
