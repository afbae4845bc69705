"""Scoring's part of the home page: leads for sales."""

from __future__ import annotations

from collections.abc import Iterator

from django.urls import reverse

from contacts.models import Contact, LifecycleStage
from workspaces.hooks import HomeFigure, HomeStep, on_home
from workspaces.models import Workspace

from .models import ScoringRule


@on_home
def scoring_home(workspace: Workspace) -> Iterator[HomeStep | HomeFigure]:
    yield HomeStep(
        order=60,
        title="Score your leads",
        detail="Points for what people do and who they are; sales gets the hot ones.",
        url=reverse("scoring:models"),
        done=ScoringRule.objects.for_workspace(workspace).filter(is_active=True).exists(),
    )
    mqls = (
        Contact.objects.for_workspace(workspace).filter(lifecycle_stage=LifecycleStage.MQL).count()
    )
    yield HomeFigure(
        order=50,
        label="Marketing-qualified leads",
        value=mqls,
        url=reverse("scoring:leads") + "?stage=mql",
    )
