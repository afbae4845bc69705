"""The one place where workflows calls other apps (contacts, segments, scoring, messaging).

Each function is a thin call to the other app's public service or selector. Imports are
lazy, so that workflows loads (and its engine can be tested) while an app it calls is
still being built; a missing service raises `IntegrationMissing`, which the engine treats
as a failing step (retried, then the run fails with the message visible) — never a
silent no-op.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from contacts.models import Contact
    from workspaces.models import Workspace

# Event names and property keys other apps emit (DESIGN.md "One stream of events").
SEGMENT_ENTERED = "segment.entered"
SEGMENT_EXITED = "segment.exited"
SCORE_CHANGED = "score.changed"
LIFECYCLE_CHANGED = "lifecycle.changed"
FORM_SUBMITTED = "form.submitted"
WORKFLOW_ENTERED = "workflow.entered"
WORKFLOW_EXITED = "workflow.exited"


class IntegrationMissing(RuntimeError):
    """The service this step needs is not available in this installation."""


def _resolve(module: str, name: str) -> Callable[..., Any]:
    try:
        return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]
    except (ImportError, AttributeError) as error:
        raise IntegrationMissing(f"{module}.{name} is not available ({error}).") from error


def available(module: str, name: str) -> bool:
    try:
        _resolve(module, name)
    except IntegrationMissing:
        return False
    return True


# --- segments -------------------------------------------------------------------------------


def filter_validate(*, workspace: Workspace, tree: dict[str, Any]) -> None:
    """Raise ValidationFailed (segments' FilterInvalid) when the filter is not valid here."""
    _resolve("segments.filters", "validate_filter")(workspace=workspace, tree=tree)


def filter_parse(*, workspace: Workspace, tree: dict[str, Any]) -> Any:
    """The parsed filter, to evaluate many times without parsing again."""
    return _resolve("segments.filters", "parse_filter")(workspace=workspace, tree=tree)


def filter_evaluate(
    *,
    workspace: Workspace,
    tree: dict[str, Any],
    contact: Contact,
    now: datetime,
    parsed: Any = None,
) -> bool:
    return bool(
        _resolve("segments.filters", "evaluate_filter")(
            workspace=workspace, tree=tree, contact=contact, now=now, node=parsed
        )
    )


def segment_contains(*, workspace: Workspace, segment_id: int, contact_id: int) -> bool:
    ids = _resolve("segments.selectors", "contact_segment_ids")(
        workspace=workspace, contact=contact_id
    )
    return int(segment_id) in ids


def _segment(workspace: Workspace, segment_id: Any) -> Any:
    # segments has no "get one segment" selector; reading its model here keeps that
    # knowledge in this adapter.
    segment_model = _resolve("segments.models", "Segment")
    try:
        return segment_model.objects.for_workspace(workspace).filter(pk=int(segment_id)).first()
    except (TypeError, ValueError):
        return None


def segment_exists(*, workspace: Workspace, segment_id: Any, static: bool = False) -> bool:
    segment = _segment(workspace, segment_id)
    return segment is not None and (not static or segment.is_static)


def segment_member_ids(*, workspace: Workspace, segment_id: int) -> Iterable[int]:
    segment = _segment(workspace, segment_id)
    if segment is None:
        return []
    return _resolve("segments.selectors", "segment_member_ids")(segment=segment)  # type: ignore[no-any-return]


def static_list_change(
    *, workspace: Workspace, segment_id: int, contact_id: int, add: bool
) -> None:
    segment = _segment(workspace, segment_id)
    if segment is None or not segment.is_static:
        raise ValueError(f"static list {segment_id} no longer exists")
    service = "static_list_add" if add else "static_list_remove"
    _resolve("segments.services", service)(
        segment=segment, contact_ids=[contact_id], source="workflow"
    )


# --- contacts -------------------------------------------------------------------------------


def contact_update(*, workspace: Workspace, contact: Contact, data: dict[str, Any]) -> set[str]:
    _, changed = _resolve("contacts.services.contacts", "contact_update")(
        workspace=workspace, contact=contact, data=data, source="workflow"
    )
    return set(changed)


def contact_tags(*, workspace: Workspace, contact: Contact, tags: list[str], add: bool) -> None:
    name = "contact_tags_add" if add else "contact_tags_remove"
    _resolve("contacts.services.contacts", name)(workspace=workspace, contact=contact, tags=tags)


# --- scoring --------------------------------------------------------------------------------


def score_adjust(*, workspace: Workspace, contact: Contact, points: int, reason: str) -> None:
    _resolve("scoring.services", "score_adjust")(
        workspace=workspace, contact=contact, points=points, reason=reason, source="workflow"
    )


def lifecycle_set(*, workspace: Workspace, contact: Contact, stage: str, reason: str) -> None:
    _resolve("scoring.services", "lifecycle_stage_set")(
        workspace=workspace, contact=contact, stage=stage, reason=reason
    )


def lead_assign(*, workspace: Workspace, contact: Contact, owner: Any | None) -> Any:
    return _resolve("scoring.services", "lead_assign")(
        workspace=workspace, contact=contact, owner=owner
    )


def sales_task_create(
    *,
    workspace: Workspace,
    contact: Contact,
    title: str,
    due_at: datetime | None,
    assignee: Any | None,
    notify: bool,
) -> Any:
    return _resolve("scoring.services", "sales_task_create")(
        workspace=workspace,
        contact=contact,
        title=title,
        due_at=due_at,
        assignee=assignee,
        notify=notify,
    )


# --- messaging ------------------------------------------------------------------------------


def message_enqueue(
    *,
    workspace: Workspace,
    contact: Contact,
    channel: str,
    template: Any,
    source_id: str,
    context: dict[str, Any] | None,
) -> Any:
    return _resolve("messaging.services", "message_enqueue")(
        workspace=workspace,
        contact=contact,
        channel=channel,
        template=template,
        source_type="workflow",
        source_id=source_id,
        context=context,
    )


def message_preview(
    *,
    workspace: Workspace,
    contact: Contact,
    channel: str,
    template: Any,
    context: dict[str, Any] | None,
) -> dict[str, Any]:
    return _resolve("messaging.services", "message_preview")(  # type: ignore[no-any-return]
        workspace=workspace, contact=contact, channel=channel, template=template, context=context
    )


def template_get(*, workspace: Workspace, template_id: Any, channel: str) -> Any:
    return _resolve("messaging.selectors", "template_get")(
        workspace=workspace, template_id=template_id, channel=channel
    )


# --- reading the platform's own events -----------------------------------------------------


def _first(properties: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if properties.get(key) is not None:
            return properties[key]
    return None


def segment_id_of(event: Any) -> Any:
    return _first(event.properties or {}, "segment_id", "segment")


def form_id_of(event: Any) -> Any:
    return _first(event.properties or {}, "form_id", "form")


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def score_change_values(event: Any) -> tuple[int | None, int | None]:
    """(old score, new score) of a score.changed event."""
    properties = event.properties or {}
    new = _int_or_none(_first(properties, "new", "to", "score"))
    old = _int_or_none(_first(properties, "old", "from", "previous"))
    if old is None and new is not None:
        delta = _int_or_none(_first(properties, "delta", "points"))
        old = new - delta if delta is not None else None
    return old, new


def lifecycle_change_values(event: Any) -> tuple[str | None, str | None]:
    """(old stage, new stage) of a lifecycle.changed event."""
    properties = event.properties or {}
    return _first(properties, "from", "old", "previous"), _first(properties, "to", "new", "stage")
