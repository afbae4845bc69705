"""What messaging needs from segments, through segments' public selectors only.

`segments.selectors.segment_member_ids(segment=...)` is a lazy subquery of contact ids
("use it in id__in="): broadcasts fan out over it, and `in_segment("42")` blocks ask, for a
batch of recipients at once, which of them are members (one indexed query per segment).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection
from django.db.models import Q

from contacts.models import Contact
from workspaces.errors import ValidationFailed
from workspaces.models import Workspace


def segment_get(*, workspace: Workspace, segment_id: int | str) -> Any:
    from segments.selectors import segment_find

    try:
        int(segment_id)
    except (TypeError, ValueError):
        raise ValidationFailed("segment: not a segment id", fields={"segment": "unknown segment"})
    segment = segment_find(workspace=workspace, segment_id=segment_id)
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
    from segments.selectors import segment_choices as choices

    return choices(workspace=workspace)


def segment_contacts(*, workspace: Workspace, segment_id: int | str) -> Any:
    """The segment's members as a Contact queryset (lazy)."""
    from segments.selectors import segment_member_ids

    segment = segment_get(workspace=workspace, segment_id=segment_id)
    return Contact.objects.filter(workspace=workspace, pk__in=segment_member_ids(segment=segment))


def audience_condition(*, workspace: Workspace, exclude_segment_ids: Iterable[int | str] = ()) -> Q:
    """Contacts in none of the exclusion segments, as a condition on Contact. A missing
    exclusion segment is an error, not "exclude nobody"."""
    from segments.selectors import segment_member_ids

    condition = Q()
    for excluded in exclude_segment_ids:
        segment = segment_get(workspace=workspace, segment_id=excluded)
        condition &= ~Q(pk__in=segment_member_ids(segment=segment))
    return condition


def audience_contacts(
    *, workspace: Workspace, segment_id: int | str, exclude_segment_ids: Iterable[int | str] = ()
) -> Any:
    """Members of the segment who are in none of the exclusion segments (a lazy Contact
    queryset): whom a broadcast fans out to."""
    return segment_contacts(workspace=workspace, segment_id=segment_id).filter(
        audience_condition(workspace=workspace, exclude_segment_ids=exclude_segment_ids)
    )


def contact_id_chunks(contacts: Any, *, size: int = 5000) -> Iterator[list[int]]:
    """A Contact queryset's ids in ascending chunks (keyset pages, so a huge audience is never
    one list)."""
    last = 0
    while True:
        chunk = list(
            contacts.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size]
        )
        if not chunk:
            return
        yield chunk
        last = chunk[-1]


def memberships(
    *, workspace: Workspace, segment_ids: Iterable[str], contact_ids: Iterable[int]
) -> dict[int, frozenset[str]]:
    """For each contact, which of `segment_ids` it belongs to (for in_segment blocks)."""
    wanted = list(set(contact_ids))
    found: dict[int, set[str]] = {contact_id: set() for contact_id in wanted}
    for segment_id in segment_ids:
        try:
            members = segment_contacts(workspace=workspace, segment_id=segment_id)
        except ValidationFailed:
            continue  # the segment was deleted: its block shows to nobody
        for contact_id in members.filter(pk__in=wanted).values_list("pk", flat=True):
            found[contact_id].add(segment_id)
    return {contact_id: frozenset(ids) for contact_id, ids in found.items()}


# --- Dynamic blocks: a block template's conditions are segment filter trees -----------------


def filter_problems(*, workspace: Workspace, tree: Any) -> dict[str, str]:
    """What is wrong with a filter tree, {path inside the tree: message} (empty when fine)."""
    from segments.filters import validate_filter

    try:
        validate_filter(workspace=workspace, tree=tree)
    except ValidationFailed as error:
        fields = error.fields if isinstance(error.fields, dict) else {}
        return {str(path): _first(message) for path, message in fields.items()} or {"": str(error)}
    return {}


def _first(message: Any) -> str:
    if isinstance(message, list | tuple):
        return str(message[0]) if message else ""
    return str(message)


def filter_matches(*, workspace: Workspace, tree: Any, contact_ids: Iterable[int]) -> set[int]:
    """Which of `contact_ids` match the filter now: one query for the whole batch. A tree that
    no longer validates (a segment it names was deleted) matches nobody."""
    from segments.filters import compile_filter_sql

    wanted = sorted(set(contact_ids))
    if not wanted:
        return set()
    try:
        compiled = compile_filter_sql(workspace=workspace, tree=tree, mode="probe")
    except ValidationFailed:
        return set()
    # The predicate on the batch's ids directly (by primary key), not `id IN (subquery)`:
    # with stale statistics after a bulk import PostgreSQL joined that subquery to the
    # whole table in a nested loop (seconds per batch instead of a millisecond).
    sql, params = compiled.select_ids(extra_where="c.id = ANY(%s::bigint[])", extra_params=[wanted])
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}
