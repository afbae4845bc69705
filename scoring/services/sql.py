"""The engine's set-based statements, one round trip each whatever the batch size.

Django's `bulk_update` writes a CASE per column that PostgreSQL evaluates per row
(quadratic in the batch), and `bulk_create(ignore_conflicts=True)` cannot say which rows
it skipped; these statements use `unnest(arrays)` and `ON CONFLICT … RETURNING` instead.
Every statement is scoped by workspace_id like the ORM's querysets.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db import connection

from ..models import ContactScore, ScoreChange

_INSERT_ROWS = """
INSERT INTO scoring_contactscore (workspace_id, created_at, updated_at, contact_id, model_id,
    score, computed_at, valid_until, state, qualified, last_delta)
SELECT %s, %s, %s, v.contact_id, v.model_id, 0, %s, v.valid_until, '{}'::jsonb, false, 0
FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[]) AS v(model_id, contact_id, valid_until)
-- A contact named by a batch may be gone by the time it runs (merged into another profile,
-- deleted): no row for it, rather than a foreign key violation at COMMIT on every retry.
WHERE EXISTS (SELECT FROM contacts_contact c WHERE c.workspace_id = %s AND c.id = v.contact_id)
ON CONFLICT (workspace_id, contact_id, model_id) DO NOTHING
RETURNING id, model_id, contact_id, valid_until
"""


def rows_insert_missing(
    *, workspace_id: int, now: datetime, rows: list[tuple[int, int, datetime | None]]
) -> list[ContactScore]:
    """Insert (model id, contact id, valid_until) score rows; returns those really created
    (a concurrent insert of the same row is skipped here, and found by the caller; a contact
    that no longer exists gets none)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_ROWS,
            [
                workspace_id,
                now,
                now,
                now,
                [m for m, _, _ in rows],
                [c for _, c, _ in rows],
                [v for _, _, v in rows],
                workspace_id,
            ],
        )
        created = cursor.fetchall()
    return [
        ContactScore(
            pk=pk,
            workspace_id=workspace_id,
            created_at=now,
            updated_at=now,
            contact_id=contact_id,
            model_id=model_id,
            computed_at=now,
            valid_until=valid_until,
            state={},
        )
        for pk, model_id, contact_id, valid_until in created
    ]


_INSERT_ENTRIES = """
INSERT INTO scoring_scorechange (workspace_id, created_at, contact_id, model_id, rule_id, points,
    reason, source, event_id, key, at, decays, expires_at)
SELECT %s, %s, * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::int[], %s::text[],
    %s::text[], %s::bigint[], %s::text[], %s::timestamptz[], %s::bool[], %s::timestamptz[])
ON CONFLICT (workspace_id, model_id, key) WHERE NOT (key = '') DO NOTHING
RETURNING id, model_id, key
"""


def entries_insert(
    *, workspace_id: int, now: datetime, entries: list[ScoreChange]
) -> list[ScoreChange]:
    """Insert ledger entries; a keyed entry that exists already (a retried batch) is skipped.
    Returns the entries really inserted, with their ids."""
    if not entries:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_ENTRIES,
            [
                workspace_id,
                now,
                [e.contact_id for e in entries],
                [e.model_id for e in entries],
                [e.rule_id for e in entries],
                [e.points for e in entries],
                [e.reason for e in entries],
                [e.source for e in entries],
                [e.event_id for e in entries],
                [e.key for e in entries],
                [e.at for e in entries],
                [e.decays for e in entries],
                [e.expires_at for e in entries],
            ],
        )
        returned = cursor.fetchall()
    # RETURNING keeps the input order minus the skipped rows: walk both lists together.
    inserted, position = [], 0
    for entry in entries:
        if position < len(returned):
            pk, model_id, key = returned[position]
            if model_id == entry.model_id and key == entry.key:
                entry.pk = pk
                inserted.append(entry)
                position += 1
    return inserted


_UPDATE_ROWS = """
UPDATE scoring_contactscore AS t SET
    score = v.score, computed_at = v.computed_at, valid_until = v.valid_until, state = v.state,
    qualified = v.qualified, qualified_at = v.qualified_at, last_activity_at = v.last_activity_at,
    last_delta = v.last_delta, last_changed_at = v.last_changed_at, updated_at = %s
FROM unnest(%s::bigint[], %s::int[], %s::timestamptz[], %s::timestamptz[], %s::jsonb[],
            %s::bool[], %s::timestamptz[], %s::timestamptz[], %s::int[], %s::timestamptz[])
    AS v(id, score, computed_at, valid_until, state, qualified, qualified_at, last_activity_at,
         last_delta, last_changed_at)
WHERE t.id = v.id AND t.workspace_id = %s
"""


def rows_update(
    *, workspace_id: int, now: datetime, rows: list[ContactScore], contact_scores: dict[int, int]
) -> None:
    """Write the rows and mirror `contact_scores` into Contact.score: one statement."""
    params: list[Any] = [
        now,
        [r.pk for r in rows],
        [r.score for r in rows],
        [r.computed_at for r in rows],
        [r.valid_until for r in rows],
        [json.dumps(r.state) for r in rows],
        [r.qualified for r in rows],
        [r.qualified_at for r in rows],
        [r.last_activity_at for r in rows],
        [r.last_delta for r in rows],
        [r.last_changed_at for r in rows],
        workspace_id,
    ]
    statement = _UPDATE_ROWS
    if contact_scores:
        statement = f"WITH contacts AS ({_UPDATE_CONTACTS} RETURNING 1) {_UPDATE_ROWS}"
        params = [list(contact_scores), list(contact_scores.values()), workspace_id, *params]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
    for row in rows:
        row.updated_at = now


# Only Contact.score, set-based: scoring never writes the rest of the contact.
_UPDATE_CONTACTS = """
UPDATE contacts_contact AS c SET score = v.score
FROM unnest(%s::bigint[], %s::int[]) AS v(id, score)
WHERE c.id = v.id AND c.workspace_id = %s
"""


# Contacts first, then their score rows: the order a merge takes them in (it locks both
# contacts, then moves the absorbed one's rows), so the two wait for each other instead of
# deadlocking — and a merge cannot delete a contact whose score this transaction is writing.
_LOCK_CONTACTS = """
SELECT id FROM contacts_contact
WHERE workspace_id = %(workspace)s AND id = ANY(%(contacts)s::bigint[])
ORDER BY id
FOR NO KEY UPDATE;
"""

_LOCK_ROWS = """
SELECT cs.id, cs.contact_id, cs.model_id, cs.score, cs.computed_at, cs.valid_until, cs.state,
       cs.qualified, cs.qualified_at, cs.last_activity_at, cs.last_delta, cs.last_changed_at,
       cs.created_at, cs.updated_at,
       CASE WHEN cs.model_id = ANY(%(decaying)s)
              OR cs.contact_id = ANY(%(recount)s::bigint[]) THEN (
           SELECT coalesce(json_agg(json_build_array(e.points, e.at)), '[]'::json)
           FROM scoring_scorechange e
           WHERE e.workspace_id = cs.workspace_id AND e.contact_id = cs.contact_id
             AND e.model_id = cs.model_id AND e.decays
             AND (e.expires_at IS NULL OR e.expires_at > %(now)s)
       ) END AS live,
       CASE WHEN cardinality(%(capped)s::bigint[]) > 0 THEN (
           SELECT coalesce(json_agg(json_build_array(u.rule_id, u.total, u.today)), '[]'::json)
           FROM (
               SELECT e.rule_id, sum(abs(e.points)) AS total,
                      coalesce(sum(abs(e.points)) FILTER (
                          WHERE e.at >= %(day_start)s AND e.at < %(day_end)s), 0) AS today
               FROM scoring_scorechange e
               WHERE e.workspace_id = cs.workspace_id AND e.contact_id = cs.contact_id
                 AND e.model_id = cs.model_id AND e.rule_id = ANY(%(capped)s::bigint[])
               GROUP BY e.rule_id
           ) u
       ) END AS caps
FROM scoring_contactscore cs
WHERE cs.workspace_id = %(workspace)s AND cs.contact_id = ANY(%(contacts)s::bigint[])
  AND cs.model_id = ANY(%(models)s::bigint[])
ORDER BY cs.id
FOR UPDATE OF cs
"""

LockedRow = tuple[ContactScore, list[tuple[int, datetime]] | None, dict[int, tuple[int, int]]]


def rows_lock(
    *,
    workspace_id: int,
    now: datetime,
    contact_ids: list[int],
    model_ids: list[int],
    decaying: list[int],
    capped: list[int],
    day: tuple[datetime, datetime] | None,
    recount: list[int] = (),  # type: ignore[assignment]
) -> list[LockedRow]:
    """Lock these contacts and their score rows, and read in the same round trip what the
    engine needs next: each row's live decaying entries (for models in `decaying`, and for
    every model of the contacts in `recount`) and, for the `capped` rules, points used in
    total and within `day`."""
    day_start, day_end = day or (now, now)
    with connection.cursor() as cursor:
        cursor.execute(
            _LOCK_CONTACTS + _LOCK_ROWS,
            {
                "workspace": workspace_id,
                "contacts": contact_ids,
                "models": model_ids,
                "decaying": decaying,
                "recount": list(recount),
                "capped": capped,
                "now": now,
                "day_start": day_start,
                "day_end": day_end,
            },
        )
        cursor.nextset()  # past the contacts' lock
        found = cursor.fetchall()
    locked = []
    for (pk, contact_id, model_id, score, computed_at, valid_until, state, qualified,
         qualified_at, last_activity_at, last_delta, last_changed_at, created_at, updated_at,
         live, caps) in found:  # fmt: skip
        row = ContactScore(
            pk=pk,
            workspace_id=workspace_id,
            contact_id=contact_id,
            model_id=model_id,
            score=score,
            computed_at=computed_at,
            valid_until=valid_until,
            state=_json(state) or {},
            qualified=qualified,
            qualified_at=qualified_at,
            last_activity_at=last_activity_at,
            last_delta=last_delta,
            last_changed_at=last_changed_at,
            created_at=created_at,
            updated_at=updated_at,
        )
        entries = (
            [(int(points), datetime.fromisoformat(at)) for points, at in _json(live)]
            if live is not None
            else None
        )
        usage = {int(r): (int(total), int(today)) for r, total, today in _json(caps or [])}
        locked.append((row, entries, usage))
    return locked


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
