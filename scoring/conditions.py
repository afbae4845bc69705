"""Scoring speaks the segment filter language; this module is where it borrows it.

- A behavioural rule's `where` is the `where` of a segment event condition. It is parsed by
  segments' parser (so both reject the same mistakes) and tested in memory against each
  incoming event's properties with segments' own property test.
- Fit rules and assignment rules are whole filter trees: validated with `validate_filter`,
  evaluated set-based with `compile_filter` (one SQL query per batch) or for one contact
  with `evaluate_filter`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from workspaces.models import Workspace


def where_parse(*, workspace: Workspace, event: str, where: list[Any]) -> tuple[Any, ...]:
    """Parse a rule's property conditions; raises ValidationFailed naming the bad path."""
    from segments.filters.validation import parse_filter

    if not where:
        return ()
    node = parse_filter(workspace=workspace, tree={"event": event or "event", "where": where})
    return tuple(node.where)  # type: ignore[union-attr]


def where_matches(conditions: Iterable[Any], properties: Any) -> bool:
    from segments.filters.python import property_test

    return all(property_test(condition, properties) for condition in conditions)


def filter_validate(*, workspace: Workspace, tree: Any) -> None:
    from segments.filters import validate_filter

    validate_filter(workspace=workspace, tree=tree)


def dependencies(tree: Any) -> Any:
    from segments.filters import filter_dependencies

    return filter_dependencies(tree)


def touched(deps: Any, changed: Iterable[str], event_names: Iterable[str]) -> bool:
    """Can a contact's answer to a filter with these dependencies have changed, given the
    fields that changed and the events it just got? ("created" — a new contact — does.)"""
    changed = set(changed)
    if "created" in changed:
        return True
    return bool(deps.fields & changed) or bool(deps.event_names & set(event_names))
