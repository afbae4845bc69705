"""Saved funnels: create, update, delete, and the reads the pages and the API need."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from analytics.models import Funnel
from workspaces.models import User, Workspace

from .definition import NAME_MAX, FunnelDefinition, _bad, definition_parse, window_parse

# --- services ----------------------------------------------------------------------------------


@transaction.atomic
def funnel_save(
    *, workspace: Workspace, user: User | None, data: dict[str, Any], instance: Funnel | None
) -> Funnel:
    """Create or update a funnel from {"name", "steps", "window_days", "exclusions",
    "breakdown"}; nothing is written unless every part is valid."""
    name = str(data.get("name") or "").strip()
    if not name or len(name) > NAME_MAX:
        raise _bad("name", f"give the funnel a name (1-{NAME_MAX} characters)")
    definition = definition_parse(
        workspace=workspace,
        steps=data.get("steps"),
        exclusions=data.get("exclusions"),
        breakdown=data.get("breakdown"),
    )
    window = window_parse(data.get("window_days", 30))
    funnel = instance or Funnel(workspace=workspace, created_by=user)
    funnel.name, funnel.window_days = name, window
    funnel.steps = [step.raw for step in definition.steps]
    funnel.exclusions = [exclusion.raw for exclusion in definition.exclusions]
    funnel.breakdown = definition.breakdown.raw
    funnel.save()
    return funnel


def funnel_delete(*, workspace: Workspace, funnel: Funnel) -> None:
    assert funnel.workspace_id == workspace.pk
    funnel.delete()


# --- selectors ---------------------------------------------------------------------------------


def funnel_list(*, workspace: Workspace) -> list[Funnel]:
    return list(Funnel.objects.filter(workspace=workspace).order_by("-created_at"))


def funnel_first(*, workspace: Workspace) -> Funnel | None:
    """The funnel the dashboard shows: the first one saved."""
    return Funnel.objects.filter(workspace=workspace).order_by("created_at", "pk").first()


def funnel_get(*, workspace: Workspace, funnel_id: int) -> Funnel | None:
    """The workspace's funnel with this id, or None (another workspace's is None too)."""
    return Funnel.objects.filter(workspace=workspace, pk=funnel_id).first()


def funnel_definition(*, funnel: Funnel) -> FunnelDefinition:
    """A saved funnel's definition, checked again (a rule may have changed since it was saved:
    raises ValidationFailed naming the part)."""
    return definition_parse(
        workspace=funnel.workspace,
        steps=funnel.steps,
        exclusions=funnel.exclusions,
        breakdown=funnel.breakdown,
    )
