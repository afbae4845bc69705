"""The segment filter language: validate, compile to SQL, evaluate for one contact.

    validate_filter(workspace=ws, tree=tree)            # raises ValidationFailed naming the node
    compile_filter(workspace=ws, tree=tree)             # QuerySet[Contact], one SQL query
    evaluate_filter(workspace=ws, tree=tree, contact=c) # bool, same semantics
    filter_dependencies(tree)                           # event names, fields, segments, drift
    property_test(condition, properties)                # one parsed property condition, in memory

This package's names are public (scoring's rule conditions and workflow branches speak the same
language); its submodules are segments' own (pyproject.toml, import-linter).

The JSON format is documented in docs/segments.md (and ../shared/DESIGN.md).
"""

# ruff: noqa: S608, S611  # identifiers come from model metadata; every value is a parameter

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from contacts.models import Contact
from workspaces.models import Workspace

from .clock import make_clock
from .dependencies import Dependencies, filter_dependencies
from .nodes import Node
from .python import Evaluator, event_conditions, load_events, property_test
from .sql import CompiledFilter, Mode, SqlCompiler
from .validation import FilterInvalid, parse_filter

__all__ = [
    "CompiledFilter",
    "Dependencies",
    "FilterInvalid",
    "compile_filter",
    "compile_filter_sql",
    "evaluate_filter",
    "filter_count",
    "filter_count_and_first",
    "filter_dependencies",
    "filter_events_load",
    "parse_filter",
    "property_test",
    "validate_filter",
]


def validate_filter(*, workspace: Workspace, tree: Any, segment_id: int | None = None) -> None:
    """Raise FilterInvalid (a ValidationFailed) naming each bad node by its path.

    `segment_id` is the segment this filter belongs to, so references back to it (directly
    or through other segments) are rejected as cycles."""
    parse_filter(workspace=workspace, tree=tree, segment_id=segment_id)


def compile_filter_sql(
    *,
    workspace: Workspace,
    tree: Any = None,
    node: Node | None = None,
    now: datetime | None = None,
    mode: Mode = "set",
    id_range: tuple[int, int] | None = None,
) -> CompiledFilter:
    """The filter as an SQL predicate on `contacts_contact c` plus parameters."""
    if node is None:
        node = parse_filter(workspace=workspace, tree=tree)
    compiler = SqlCompiler(
        workspace_id=workspace.pk, clock=make_clock(workspace, now), mode=mode, id_range=id_range
    )
    return compiler.compile(node)


def compile_filter(
    *,
    workspace: Workspace,
    tree: Any,
    now: datetime | None = None,
    contact_ids: list[int] | None = None,
) -> QuerySet[Contact]:
    """The contacts matching `tree`, as a lazy QuerySet (count it, slice it, `.values("id")`).

    With `contact_ids`, only those contacts are considered and event counts are probed per
    contact (the real-time path)."""
    compiled = compile_filter_sql(
        workspace=workspace, tree=tree, now=now, mode="set" if contact_ids is None else "probe"
    )
    extra, extra_params = ("", [])
    if contact_ids is not None:
        extra, extra_params = "c.id = ANY(%s)", [list(contact_ids)]
    sql, params = compiled.select_ids(extra_where=extra, extra_params=extra_params)
    return Contact.objects.filter(workspace=workspace, id__in=RawSQL(sql, params))


def filter_count(*, workspace: Workspace, tree: Any, now: datetime | None = None) -> int:
    """How many contacts match: the compiled predicate counted directly (no self-join)."""
    compiled = compile_filter_sql(workspace=workspace, tree=tree, now=now)
    sql, params = compiled.select_ids()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({sql}) matched", params)
        return int(cursor.fetchone()[0])


def filter_count_and_first(
    *, workspace: Workspace, tree: Any, limit: int, now: datetime | None = None
) -> tuple[int, list[int]]:
    """How many contacts match and the ids of the newest `limit` of them, from one evaluation
    of the filter (the live count asked for both: counting, then matching again for the
    first rows, doubled the work of every builder keystroke)."""
    compiled = compile_filter_sql(workspace=workspace, tree=tree, now=now)
    sql, params = compiled.select_ids()
    with connection.cursor() as cursor:
        # MATERIALIZED: the match is planned on its own (a hash join, cheapest for the whole
        # set), not as an ordered scan steered by ORDER BY … LIMIT (it read every event).
        cursor.execute(
            f"WITH matched AS MATERIALIZED ({sql}) "
            "SELECT id, (SELECT count(*) FROM matched) FROM matched ORDER BY id DESC LIMIT %s",
            [*params, limit],
        )
        rows = cursor.fetchall()
    if rows or limit > 0:
        return (int(rows[0][1]) if rows else 0), [row[0] for row in rows]
    return filter_count(workspace=workspace, tree=tree, now=now), []


def evaluate_filter(
    *,
    workspace: Workspace,
    tree: Any,
    contact: Contact,
    now: datetime | None = None,
    node: Node | None = None,
    events: dict[str, list[tuple[datetime, Any]]] | None = None,
) -> bool:
    """Does `contact` match `tree` (as of `now`)? Profile conditions are free; event and
    segment conditions cost one small query each kind (none for events given in `events`,
    from filter_events_load)."""
    if node is None:
        node = parse_filter(workspace=workspace, tree=tree)
    evaluator = Evaluator(
        workspace_id=workspace.pk,
        clock=make_clock(workspace, now),
        contact=contact,
        root=node,
        events=events,
    )
    return evaluator.evaluate()


def filter_events_load(
    *, workspace: Workspace, node: Node, contact_ids: list[int], since: datetime
) -> dict[int, dict[str, list[tuple[datetime, Any]]]]:
    """The events `node`'s event conditions can look at when it is evaluated at any moment
    from `since` on, for many contacts in one query: hand a contact's part to
    evaluate_filter(events=…) instead of one query per evaluation. (The conditions' own
    windows are still applied at each evaluation's moment.)"""
    return load_events(
        workspace_id=workspace.pk,
        contact_ids=contact_ids,
        conditions=list(event_conditions(node)),
        clock=make_clock(workspace, since),
    )
