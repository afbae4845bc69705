"""Reads for segments: who is in a segment, which segments a contact is in, list pages."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet

from contacts.models import Contact
from workspaces.models import Workspace

from .filters.clock import make_clock
from .filters.validation import FilterInvalid
from .models import Segment, SegmentMembership, SegmentMembershipChange, SegmentSizeSnapshot

if TYPE_CHECKING:
    from .filters.schema import FieldSpec

__all__ = ["FilterInvalid"]  # (re-exported: the error of event_property_conditions)


def segment_member_ids(*, segment: Segment) -> QuerySet[SegmentMembership, int]:
    """The ids of the segment's current members (a lazy subquery: use it in `id__in=`)."""
    return SegmentMembership.objects.filter(
        workspace_id=segment.workspace_id, segment_id=segment.pk
    ).values_list("contact_id", flat=True)


def segment_members(*, segment: Segment) -> QuerySet[Contact]:
    return Contact.objects.filter(
        workspace_id=segment.workspace_id, id__in=segment_member_ids(segment=segment)
    )


def contact_segment_ids(*, workspace: Workspace, contact: Contact | int) -> set[int]:
    """The ids of every segment and static list the contact is in now."""
    contact_id = contact if isinstance(contact, int) else contact.pk
    return set(
        SegmentMembership.objects.filter(
            workspace_id=workspace.pk, contact_id=contact_id
        ).values_list("segment_id", flat=True)
    )


def contact_memberships(*, workspace: Workspace, contact: Contact) -> list[SegmentMembership]:
    """The contact's memberships with their segments, newest first (contact page panel)."""
    return list(
        SegmentMembership.objects.filter(workspace_id=workspace.pk, contact_id=contact.pk)
        .select_related("segment")
        .order_by("-entered_at")
    )


def segment_list(*, workspace: Workspace) -> list[Segment]:
    """Every segment with `sparkline` (daily sizes over the last 30 days) attached."""
    segments = list(Segment.objects.for_workspace(workspace).order_by("name"))
    since = make_clock(workspace).today - timedelta(days=30)
    series: dict[int, list[int]] = {}
    for segment_id, size in (
        SegmentSizeSnapshot.objects.for_workspace(workspace)
        .filter(day__gte=since)
        .order_by("day")
        .values_list("segment_id", "size")
    ):
        series.setdefault(segment_id, []).append(size)
    for segment in segments:
        segment.sparkline = series.get(segment.pk, [])  # type: ignore[attr-defined]
    return segments


@dataclass(frozen=True)
class SegmentSizes:
    """A segment's size at the end of each recorded day (segments_recompute_drifting records
    every segment's size every 15 minutes, a recompute when it ends; the day's last write
    stays), and its size now."""

    id: int
    name: str
    size_now: int
    by_day: dict[date, int]


def segment_sizes_by_day(
    *,
    workspace: Workspace,
    first: date,
    last: date,
    segment_ids: list[int] | None = None,
    limit: int = 6,
) -> list[SegmentSizes]:
    """The recorded daily sizes in [first, last] of the given segments (this workspace's
    only; unknown ids are left out) or, without ids, of the `limit` largest now. Two queries."""
    segments = Segment.objects.for_workspace(workspace).only("id", "name", "member_count")
    if segment_ids is not None:
        chosen = list(segments.filter(pk__in=segment_ids).order_by("name")[:limit])
    else:
        chosen = list(segments.order_by("-member_count", "name")[:limit])
    by_segment: dict[int, dict[date, int]] = {segment.pk: {} for segment in chosen}
    if chosen:
        for segment_id, day, size in (
            SegmentSizeSnapshot.objects.for_workspace(workspace)
            .filter(segment_id__in=list(by_segment), day__gte=first, day__lte=last)
            .values_list("segment_id", "day", "size")
        ):
            by_segment[segment_id][day] = size
    return [
        SegmentSizes(
            id=segment.pk,
            name=segment.name,
            size_now=segment.member_count,
            by_day=by_segment[segment.pk],
        )
        for segment in chosen
    ]


def segment_members_page(
    *, segment: Segment, page: int, per_page: int = 50
) -> tuple[list[SegmentMembership], bool]:
    """One page of members, newest first, and whether there is a next page (no COUNT)."""
    offset = max(0, page - 1) * per_page
    rows = list(
        SegmentMembership.objects.filter(workspace_id=segment.workspace_id, segment_id=segment.pk)
        .select_related("contact")
        .order_by("-entered_at", "-id")[offset : offset + per_page + 1]
    )
    return rows[:per_page], len(rows) > per_page


def segment_history(*, segment: Segment, limit: int = 50) -> list[SegmentMembershipChange]:
    return list(
        SegmentMembershipChange.objects.filter(
            workspace_id=segment.workspace_id, segment_id=segment.pk
        )
        .select_related("contact")
        .order_by("-at", "-id")[:limit]
    )


def static_lists(*, workspace: Workspace) -> QuerySet[Segment]:
    return Segment.objects.for_workspace(workspace).filter(kind=Segment.Kind.STATIC)


def contact_ids_for(
    *, workspace: Workspace, contact_ids: list[int], emails: list[str]
) -> list[int]:
    """This workspace's contacts among the given ids and emails (others are dropped)."""
    from django.db.models import Q

    wanted = Q(pk__in=contact_ids) | Q(email__in=[e.strip().lower() for e in emails if e.strip()])
    return list(
        Contact.objects.for_workspace(workspace).filter(wanted).values_list("id", flat=True)
    )


def contacts_brief(*, workspace: Workspace, contact_ids: list[int]) -> list[dict[str, Any]]:
    """Id, name and email of these contacts, in the order given (the live count's first matches)."""
    found = {c.pk: c for c in Contact.objects.for_workspace(workspace).filter(pk__in=contact_ids)}
    return [
        {"id": pk, "name": found[pk].display_name, "email": found[pk].email}
        for pk in contact_ids
        if pk in found
    ]


# --- for other apps' condition editors (scoring rules, analytics) ------------------------------


def condition_editor(
    *,
    tree: Any,
    input_name: str,
    errors: dict[str, str] | None = None,
    mode: str = "filter",
    exclude_segment_id: int | None = None,
) -> dict[str, Any]:
    """What `{% include "components/condition_editor.html" %}` needs to put the condition
    editor island in a form: the tree it edits in the hidden input `input_name` (posted as
    JSON), the server's errors keyed by JSON path, and `mode` ("filter": a whole tree;
    "event": one event and its property conditions)."""
    import json

    return {
        "mode": mode,
        "input": input_name,
        "json": json.dumps(tree),
        "errors": errors or {},
        "errors_id": f"{input_name}-errors",
        "exclude_segment": exclude_segment_id,
    }


def operator_label(op: str) -> str:
    """How the builders say an operator in words ("does not contain", "≥")."""
    from .filters.schema import OP_LABELS

    return next((label for key, label in OP_LABELS.items() if key == op), op)


# --- for other apps (messaging's broadcasts and in_segment blocks, analytics' funnels) ------


def segment_find(*, workspace: Workspace, segment_id: int | str) -> Segment | None:
    """The workspace's segment with this id (any spelling of it), or None."""
    try:
        pk = int(segment_id)
    except (TypeError, ValueError):
        return None
    return Segment.objects.filter(workspace=workspace, pk=pk).first()


def segment_names(*, workspace: Workspace, ids: Iterable[Any]) -> dict[int, str]:
    """id -> name of these segments / static lists (one query; unknown ids are left out)."""
    wanted = [int(i) for i in ids if str(i).isdigit()]
    if not wanted:
        return {}
    rows = Segment.objects.for_workspace(workspace).filter(pk__in=wanted)
    return dict(rows.values_list("pk", "name"))


def segment_find_by_name(*, workspace: Workspace, name: str) -> Segment | None:
    """The workspace's segment or static list called `name`, or None."""
    return Segment.objects.for_workspace(workspace).filter(name=name).first()


def filter_fields(*, workspace: Workspace) -> dict[str, FieldSpec]:
    """Every field a filter in this workspace may name (columns, then custom attributes):
    name -> its label, type, operators and choices."""
    from .filters.schema import field_catalog

    return field_catalog(workspace=workspace)


def operator_labels() -> dict[str, str]:
    """Every filter operator -> how the builders say it in words."""
    from .filters.schema import OP_LABELS

    return {str(op): label for op, label in OP_LABELS.items()}


def segment_choices(*, workspace: Workspace) -> list[tuple[int, str]]:
    """(id, name) of every segment, by name (for pickers)."""
    return list(
        Segment.objects.filter(workspace=workspace).order_by("name").values_list("pk", "name")
    )


def event_property_conditions(*, workspace: Workspace, event: str, where: Any) -> tuple[Any, ...]:
    """`where` (property conditions in the filter language) parsed for `event`; raises
    FilterInvalid (a ValidationFailed naming the condition) when it is not valid."""
    from .filters.validation import parse_filter

    node = parse_filter(workspace=workspace, tree={"event": event, "where": where})
    return tuple(node.where)  # type: ignore[union-attr]


def event_property_predicate(condition: Any) -> tuple[str, list[Any]]:
    """SQL for one parsed property condition on the event alias `e` (with its parameters)."""
    from .filters.sql import property_predicate

    return property_predicate(condition)  # type: ignore[no-any-return]
