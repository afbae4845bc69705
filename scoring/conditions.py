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
    from segments.filters import parse_filter

    if not where:
        return ()
    node = parse_filter(workspace=workspace, tree={"event": event or "event", "where": where})
    return tuple(node.where)  # type: ignore[union-attr]


def where_matches(conditions: Iterable[Any], properties: Any) -> bool:
    from segments.filters import property_test

    return all(property_test(condition, properties) for condition in conditions)


def filter_validate(*, workspace: Workspace, tree: Any) -> None:
    from segments.filters import validate_filter

    validate_filter(workspace=workspace, tree=tree)


def dependencies(tree: Any) -> Any:
    from segments.filters import filter_dependencies

    return filter_dependencies(tree)


def touched(deps: Any, changed: Iterable[str], event_names: Iterable[str]) -> bool:
    """Can a contact's answer to a filter with these dependencies have changed, given the
    fields that changed and the events it just got? ("created" — a new contact — and
    "merged" — a profile that absorbed another — do.)"""
    changed = set(changed)
    if "created" in changed or "merged" in changed:
        return True
    return bool(deps.fields & changed) or bool(deps.event_names & set(event_names))


# Parsed filters, by (workspace, rule id, rule version): parsing reads the attribute catalog,
# and a batch should not pay for that once per rule. Bounded; a rule edit changes the key.
_PARSED: dict[tuple[Any, ...], tuple[Any, bool]] = {}
_MAX_PARSED = 5000


def _parsed(workspace: Workspace, tree: Any, cache_key: Any) -> tuple[Any, bool]:
    from segments.filters import filter_dependencies, parse_filter

    key = (workspace.pk, cache_key)
    if key not in _PARSED:
        node = parse_filter(workspace=workspace, tree=tree)
        deps = filter_dependencies(tree)
        if len(_PARSED) >= _MAX_PARSED:
            _PARSED.clear()
        _PARSED[key] = (node, not deps.event_names and not deps.segment_ids)
    return _PARSED[key]


def contacts_matching(
    *, workspace: Workspace, tree: Any, cache_key: Any, contacts: dict[int, Any]
) -> set[int]:
    """Which of `contacts` (id → Contact, loaded) match `tree`. A filter on the profile only
    is evaluated in memory (no query); one with event or segment conditions is one SQL query
    for all of them (segments' compiler, probing just these contacts)."""
    from django.utils import timezone

    from segments.filters import compile_filter, evaluate_filter

    if not contacts:
        return set()
    node, profile_only = _parsed(workspace, tree, cache_key)
    if profile_only:
        now = timezone.now()
        return {
            pk
            for pk, contact in contacts.items()
            if evaluate_filter(workspace=workspace, tree=None, contact=contact, now=now, node=node)
        }
    matching = compile_filter(workspace=workspace, tree=tree, contact_ids=sorted(contacts))
    return set(matching.values_list("pk", flat=True))
