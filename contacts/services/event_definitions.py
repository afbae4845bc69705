"""Event definitions: the event names a workspace has sent, with the property keys seen.

Written by ingestion (contacts/services/ingest.py) after its events: one upsert per batch
for the names and keys this process has not written lately, so a steady stream of
"Page Viewed" does not rewrite (and lock) the same EventDefinition row in every request.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
from django.db import connection, transaction

EVENT_DEFINITION_REFRESH = timedelta(minutes=10)

_EVENT_DEFINITION_UPSERT = """
INSERT INTO contacts_eventdefinition
    (workspace_id, name, property_keys, last_seen_at, created_at, updated_at)
SELECT %s, n, ARRAY(SELECT jsonb_array_elements_text(k::jsonb)), %s, %s, %s
FROM unnest(%s::text[], %s::text[]) AS u(n, k)
ON CONFLICT (workspace_id, name) DO UPDATE SET
    property_keys = ARRAY(
        SELECT DISTINCT unnest(contacts_eventdefinition.property_keys || EXCLUDED.property_keys)
        ORDER BY 1),
    last_seen_at = GREATEST(contacts_eventdefinition.last_seen_at, EXCLUDED.last_seen_at),
    updated_at = EXCLUDED.updated_at
"""


# (workspace, event name) → (property keys known, when written). Process-local: losing it
# costs one upsert; it exists so that a steady stream of "Page Viewed" does not rewrite
# (and lock) the same EventDefinition row in every request.
_known_definitions: dict[tuple[int, str], tuple[frozenset[str], datetime]] = {}


def event_definition_keys(properties: dict[str, Any]) -> set[str]:
    """The property keys an event definition records."""
    return {k for k in properties if isinstance(k, str) and len(k) <= 100}


def event_definition_known(workspace_id: int, name: str, keys: set[str], seen_at: datetime) -> bool:
    """Whether this process wrote (workspace, name) with these property keys lately."""
    known = _known_definitions.get((workspace_id, name))
    return known is not None and keys <= known[0] and seen_at - known[1] <= EVENT_DEFINITION_REFRESH


def event_definitions_register(
    *, workspace_id: int, names: dict[str, set[str]], seen_at: datetime
) -> None:
    todo = {
        name: keys
        for name, keys in names.items()
        if not event_definition_known(workspace_id, name, keys, seen_at)
    }
    if not todo:
        return
    names_list = sorted(todo)
    with connection.cursor() as cursor:
        cursor.execute(
            _EVENT_DEFINITION_UPSERT,
            [
                workspace_id,
                seen_at,
                seen_at,
                seen_at,
                names_list,
                [orjson.dumps(sorted(todo[n])).decode() for n in names_list],
            ],
        )

    def remember() -> None:
        for name in names_list:
            previous = _known_definitions.get((workspace_id, name))
            keys = frozenset(todo[name]) | (previous[0] if previous else frozenset())
            _known_definitions[(workspace_id, name)] = (keys, seen_at)

    transaction.on_commit(remember)


__all__ = ["event_definition_keys", "event_definition_known", "event_definitions_register"]
