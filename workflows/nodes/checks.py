"""Semantic checks shared by node types: the parts of a config JSON Schema can't judge
(does the filter compile in this workspace, does the template / segment / user exist)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from workspaces.errors import TendrilError

from .. import integrations

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


def filter_errors(tree: Any, workspace: Workspace | None, where: str = "filter") -> list[str]:
    if workspace is None or tree in (None, {}):
        return []
    try:
        integrations.filter_validate(workspace=workspace, tree=tree)
    except TendrilError as error:
        detail = "; ".join(f"{k}: {v}" for k, v in error.fields.items()) or error.message
        return [Issue(f"{where}: {detail}", "invalid_filter")]
    return []


def config_filter(config: Mapping[str, Any], workspace: Workspace | None) -> list[str]:
    return filter_errors(config.get("filter"), workspace)


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
