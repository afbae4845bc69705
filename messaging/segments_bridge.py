"""What messaging needs from segments, through segments' public selectors only.

- broadcasts fan out to `segments.selectors.segment_member_ids(segment=...)`;
- `in_segment("42")` blocks ask whether a recipient is a member. A batch of recipients asks
  once per segment; the member set is kept for a few seconds per worker so a 100-message
  batch (and the next ones) does not reload a large segment each time.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from workspaces.errors import ValidationFailed
from workspaces.models import Workspace

MEMBER_CACHE_SECONDS = 30.0
_member_cache: dict[tuple[int, str], tuple[float, frozenset[int]]] = {}


def _segment_model() -> Any:
    from segments.models import Segment

    return Segment


def segment_get(*, workspace: Workspace, segment_id: int | str) -> Any:
    try:
        pk = int(segment_id)
    except (TypeError, ValueError):
        raise ValidationFailed("segment: not a segment id", fields={"segment": "unknown segment"})
    segment = _segment_model().objects.filter(workspace=workspace, pk=pk).first()
    if segment is None:
        raise ValidationFailed(
            f"segment: there is no segment {segment_id}", fields={"segment": "unknown segment"}
        )
    return segment


def segment_exists(*, workspace: Workspace, segment_id: str) -> bool:
    try:
        segment_get(workspace=workspace, segment_id=segment_id)
    except ValidationFailed:
        return False
    return True


def segment_choices(*, workspace: Workspace) -> list[tuple[int, str]]:
    try:
        model = _segment_model()
    except ImportError:  # pragma: no cover
        return []
    return [(s.pk, s.name) for s in model.objects.filter(workspace=workspace).order_by("name")]


def segment_member_ids(*, workspace: Workspace, segment_id: int | str) -> list[int]:
    from segments.selectors import segment_member_ids as members

    segment = segment_get(workspace=workspace, segment_id=segment_id)
    return sorted({int(contact_id) for contact_id in members(segment=segment)})


def memberships(
    *, workspace: Workspace, segment_ids: Iterable[str], contact_ids: Iterable[int]
) -> dict[int, frozenset[str]]:
    """For each contact, which of `segment_ids` it belongs to (for in_segment blocks)."""
    wanted = set(contact_ids)
    result: dict[int, set[str]] = {contact_id: set() for contact_id in wanted}
    for segment_id in segment_ids:
        members = _members_cached(workspace, segment_id)
        for contact_id in wanted & members:
            result[contact_id].add(segment_id)
    return {contact_id: frozenset(ids) for contact_id, ids in result.items()}


def _members_cached(workspace: Workspace, segment_id: str) -> frozenset[int]:
    key = (workspace.pk, segment_id)
    now = time.monotonic()
    hit = _member_cache.get(key)
    if hit is not None and now - hit[0] < MEMBER_CACHE_SECONDS:
        return hit[1]
    try:
        members = frozenset(segment_member_ids(workspace=workspace, segment_id=segment_id))
    except ValidationFailed:
        members = frozenset()  # the segment was deleted: its block shows to nobody
    _member_cache[key] = (now, members)
    return members


def member_cache_clear() -> None:
    _member_cache.clear()
