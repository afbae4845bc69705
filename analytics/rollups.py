"""Hourly rollups of the event stream (see analytics/models.py for why they are recomputed).

Ingestion's pipeline marks the UTC hours a batch's events fall in (`dirty_hours_mark`, one
INSERT … ON CONFLICT DO NOTHING); beat runs `rollups_refresh` every few seconds, which
claims dirty hours and recomputes each from the events table in its own transaction:
claim (DELETE … RETURNING, SKIP LOCKED so several workers share the work), recount, replace
the hour's rows. A new event for an hour being recomputed marks it again once the recount's
transaction commits (its INSERT waits for the claimed row), so the next pass picks it up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from workspaces.models import Workspace

_MARK = """
INSERT INTO analytics_dirtyhour (workspace_id, hour, marked_at)
SELECT %s, hour, now() FROM unnest(%s::timestamptz[]) AS hour
ON CONFLICT (workspace_id, hour) DO NOTHING
"""

_CLAIM = """
DELETE FROM analytics_dirtyhour
WHERE id = (SELECT id FROM analytics_dirtyhour ORDER BY marked_at FOR UPDATE SKIP LOCKED LIMIT 1)
RETURNING workspace_id, hour
"""

# A revenue property is a number, or a string that reads as one ("49.90"); anything else
# counts as no revenue rather than failing the recount.
_RECOUNT = """
WITH counted AS (
  SELECT e.type, e.name, count(*) AS events, count(DISTINCT e.contact_id) AS contacts,
         coalesce(round(sum(CASE
           WHEN jsonb_typeof(e.properties -> 'revenue') = 'number'
             THEN (e.properties ->> 'revenue')::numeric
           WHEN (e.properties ->> 'revenue') ~ '^\\s*-?[0-9]{1,12}(\\.[0-9]+)?\\s*$'
             THEN trim(e.properties ->> 'revenue')::numeric
         END), 2), 0) AS revenue
  FROM contacts_event e
  WHERE e.workspace_id = %(workspace)s
    AND e.timestamp >= %(hour)s AND e.timestamp < %(hour)s + interval '1 hour'
  GROUP BY e.type, e.name
), cleared AS (
  DELETE FROM analytics_hourlyeventcount h
  WHERE h.workspace_id = %(workspace)s AND h.hour = %(hour)s
    AND NOT EXISTS (SELECT FROM counted c WHERE c.type = h.type AND c.name = h.name)
)
INSERT INTO analytics_hourlyeventcount
  (workspace_id, hour, type, name, events, contacts, revenue, updated_at)
SELECT %(workspace)s, %(hour)s, c.type, c.name, c.events, c.contacts, c.revenue, now()
FROM counted c
ON CONFLICT (workspace_id, hour, type, name) DO UPDATE
SET events = EXCLUDED.events, contacts = EXCLUDED.contacts, revenue = EXCLUDED.revenue,
    updated_at = EXCLUDED.updated_at
"""


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def dirty_hours_mark(*, workspace: Workspace, timestamps: Iterable[datetime]) -> int:
    """Mark the hours these events happened in for recount; returns how many hours."""
    hours = sorted({_hour(moment) for moment in timestamps})
    if hours:
        with connection.cursor() as cursor:
            cursor.execute(_MARK, [workspace.pk, hours])
    return len(hours)


@dataclass(frozen=True)
class RefreshResult:
    hours: int  # hours recounted
    remaining: bool  # stopped at the limit with dirty hours left


def rollups_refresh(*, limit: int = 500) -> RefreshResult:
    """Recount up to `limit` dirty hours, oldest mark first, each in its own transaction."""
    for done in range(limit):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_CLAIM)
            claimed = cursor.fetchone()
            if claimed is None:
                return RefreshResult(hours=done, remaining=False)
            workspace_id, hour = claimed
            cursor.execute(_RECOUNT, {"workspace": workspace_id, "hour": hour})
    return RefreshResult(hours=limit, remaining=True)
