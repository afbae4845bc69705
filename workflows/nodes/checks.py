"""Semantic checks shared by node types: the parts of a config JSON Schema can't judge
(does the filter compile in this workspace, does the template / segment / user exist)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from workspaces.errors import TendrilError

from .. import integrations
from ..conditions import since_entry_errors, since_entry_resolve

if TYPE_CHECKING:
    from workspaces.models import Workspace


class Issue(str):
    """A check's message that also says what kind of problem it is (`code`), so the
    builder can tell "the template does not exist" from "the filter does not compile"."""

    code: str

    def __new__(cls, message: str, code: str) -> Issue:
        issue = super().__new__(cls, message)
        issue.code = code
        return issue


def filter_errors(
    tree: Any, workspace: Workspace | None, where: str = "filter", *, in_run: bool = False
) -> list[str]:
    """What is wrong with a filter, said with its JSON paths. `in_run`: the filter is
    evaluated inside a run (branches, goals, waits), so an event condition may look "since
    entering the workflow" (`since_entry`); elsewhere that is an error."""
    if tree in (None, {}):
        return []
    since = since_entry_errors(tree, allowed=in_run)
    if since:
        detail = "; ".join(f"{k}: {v}" for k, v in since.items())
        return [Issue(f"{where}: {detail}", "invalid_filter")]
    if workspace is None:
        return []
    tree = since_entry_resolve(tree, entered_at=None, now=timezone.now())
    try:
        integrations.filter_validate(workspace=workspace, tree=tree)
    except TendrilError as error:
        detail = "; ".join(f"{k}: {v}" for k, v in error.fields.items()) or error.message
        return [Issue(f"{where}: {detail}", "invalid_filter")]
    return []


def config_filter(config: Mapping[str, Any], workspace: Workspace | None) -> list[str]:
    """A trigger's filter: who may enter (no "since entering" yet)."""
    return filter_errors(config.get("filter"), workspace)


def config_filter_in_run(config: Mapping[str, Any], workspace: Workspace | None) -> list[str]:
    """A branch's, goal's or wait's filter: evaluated inside a run."""
    return filter_errors(config.get("filter"), workspace, in_run=True)


def segment_errors(
    segment_id: Any, workspace: Workspace | None, *, where: str = "segment", static: bool = False
) -> list[str]:
    if workspace is None or segment_id is None:
        return []
    if not integrations.segment_exists(workspace=workspace, segment_id=segment_id, static=static):
        kind = "static list" if static else "segment"
        return [
            Issue(
                f"{where}: no {kind} with id {segment_id} in this workspace.",
                "list_missing" if static else "segment_missing",
            )
        ]
    return []


def member_errors(user_id: Any, workspace: Workspace | None, where: str) -> list[str]:
    from workspaces.models import Membership

    if workspace is None or user_id in (None, ""):
        return []
    if not Membership.objects.for_workspace(workspace).filter(user_id=user_id).exists():
        return [
            Issue(f"{where}: user {user_id} is not a member of this workspace.", "user_missing")
        ]
    return []


def template_errors(template_id: Any, channel: str, workspace: Workspace | None) -> list[str]:
    if workspace is None:
        return []
    template = integrations.template_get(
        workspace=workspace, template_id=template_id, channel=channel
    )
    if template is None:
        return [
            Issue(
                f"template: no {channel} template with id {template_id} in this workspace.",
                "template_missing",
            )
        ]
    return []


def filter_and_segment(config: Mapping[str, Any], workspace: Workspace | None) -> list[str]:
    return config_filter(config, workspace) + segment_errors(config.get("segment"), workspace)
