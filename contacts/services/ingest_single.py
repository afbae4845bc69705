"""A single call about a known contact in one statement (the /v1/track hot path).

`ingest.ingest_messages` tries this first for a request of one message; when it writes
nothing (not such a call) the general path (ingest._Ingestion) runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
import psycopg
from django.conf import settings
from django.db import connection

from contacts.ingest.parsing import Message
from contacts.services.event_definitions import event_definition_keys, event_definition_known
from contacts.services.events import events_insert_ctes, events_statement_execute
from workspaces.models import Workspace

# last_seen_at is "about when"; rewriting it for every event would turn each event into a
# contended row update.
LAST_SEEN_GRANULARITY = timedelta(minutes=1)


def asynchronous_commit() -> bool:
    """Whether ingestion commits without waiting for the WAL (ingest._ASYNC_COMMIT)."""
    return not settings.TENDRIL_INGEST_SYNCHRONOUS_COMMIT


# Most single calls are a page view or a track of someone already known, by a userId (and
# the anonymousId they already hold) or by an anonymousId alone. For those, the lookup, the
# event INSERT (a replay: ON CONFLICT → nothing) and the last_seen_at touch are one
# statement: outside a transaction block it is its own transaction, so BEGIN and COMMIT cost
# no round trip of their own. It writes nothing when the caller is not such a contact (new
# visitor, new device, a userId meeting another profile's anonymousId, a userId renamed by
# alias), and ingest_messages then takes the general path. The contact is locked FOR KEY
# SHARE as in ingest._CONTACTS_BY_IDENTIFIERS (one merged away meanwhile: nothing written here, the
# general path finds the survivor); last_seen_at as in ingest._LAST_SEEN_UPDATE. The commit
# setting travels inside the statement (set_config … is_local), and the statement is bound
# server-side, so PostgreSQL can keep it prepared per connection (see _prepared_cursor):
# its planning cost as much as its execution. Every read in it is an equality on a unique
# index or the primary key, which no statistics make a scan.
_KNOWN_BY_USER = """
    SELECT c.id FROM contacts_contact AS c
     WHERE c.workspace_id = %(ws)s AND c.external_id = %(user)s AND c.external_id <> ''
       AND (%(anon)s = '' OR EXISTS (
            SELECT FROM contacts_contactanonymousid AS a
             WHERE a.workspace_id = %(ws)s AND a.anonymous_id = %(anon)s AND a.contact_id = c.id))
       FOR KEY SHARE OF c
"""
_KNOWN_BY_ANONYMOUS_ID = """
    SELECT c.id FROM contacts_contact AS c
     WHERE c.id = (SELECT contact_id FROM contacts_contactanonymousid
                    WHERE workspace_id = %(ws)s AND anonymous_id = %(anon)s)
       FOR KEY SHARE OF c
"""
_KNOWN_CONTACT_EVENT = """
WITH who AS ({who}),
{stored},
touched AS (
    UPDATE contacts_contact SET last_seen_at = %(seen)s
     WHERE id = (
        SELECT id FROM contacts_contact  -- `who` is of this workspace: by primary key only
         WHERE id = (SELECT id FROM who)
           AND (last_seen_at IS NULL OR last_seen_at < %(stale)s)
         FOR NO KEY UPDATE SKIP LOCKED)
       AND EXISTS (SELECT FROM stored)
),
pending AS (  -- the pipeline work on record with the event (contacts/services/pending.py)
    INSERT INTO contacts_pendingprocessing
        (workspace_id, created_at, event_ids, changed_fields, due_at)
    SELECT %(ws)s, now(), ARRAY[stored.id], '{{}}'::jsonb, now() + %(rescue)s FROM stored
    RETURNING id
)
SELECT who.id, (SELECT id FROM stored),
       CASE WHEN %(asynchronous)s THEN set_config('synchronous_commit', 'off', true) END,
       (SELECT id FROM pending)
  FROM who
"""
_KNOWN_CONTACT_STORED = events_insert_ctes(
    "SELECT %(ws)s, who.id, %(type)s, %(name)s, %(properties)s::jsonb, %(context)s::jsonb,"
    " %(ts)s, %(received)s, %(message)s, %(source)s FROM who",
    name="stored",
)
_KNOWN_CONTACT_SQL = {
    True: _KNOWN_CONTACT_EVENT.format(who=_KNOWN_BY_USER, stored=_KNOWN_CONTACT_STORED),
    False: _KNOWN_CONTACT_EVENT.format(who=_KNOWN_BY_ANONYMOUS_ID, stored=_KNOWN_CONTACT_STORED),
}
_EVENT_TYPES_WITHOUT_IDENTITY = frozenset({"track", "page", "screen", "group"})


def known_contact_event(
    workspace: Workspace, message: Message, source: str, received_at: datetime
) -> tuple[int | None, int | None] | None:
    """Store `message` if it is an event about a known contact: (event id, pending
    processing id), or (None, None) for a replay; None when it is not such a call (or when
    it needs more than an event row: an identity change, a new event definition)."""
    if message.type not in _EVENT_TYPES_WITHOUT_IDENTITY:
        return None
    if message.type == "track" and not event_definition_known(
        workspace.pk, message.name, event_definition_keys(message.properties), received_at
    ):
        return None
    seen = min(message.timestamp or received_at, received_at)
    with _prepared_cursor() as cursor:
        rows = events_statement_execute(
            _KNOWN_CONTACT_SQL[bool(message.user_id)],
            {
                "ws": workspace.pk,
                "user": message.user_id,
                "anon": message.anonymous_id,
                "type": message.type,
                "name": message.name,
                "properties": orjson.dumps(message.properties).decode(),
                "context": orjson.dumps(message.context).decode(),
                "ts": message.timestamp or received_at,
                "received": received_at,
                "message": message.message_id,
                "source": source,
                "seen": seen,
                "stale": seen - LAST_SEEN_GRANULARITY,
                "asynchronous": asynchronous_commit(),
                "rescue": timedelta(seconds=settings.EVENTS_PROCESSING_RESCUE),
            },
            cursor=cursor,
        )
    if not rows:
        return None
    row = rows[0]
    return row[1], row[3]


def _prepared_cursor() -> Any:
    """A Django cursor over a server-side binding psycopg cursor.

    Django binds parameters client-side and never prepares (safe behind any pooler). This
    one statement is bound server-side, so psycopg prepares it once a connection has run it
    `prepare_threshold` times (DATABASES OPTIONS; settings.base sets 5, psycopg's default;
    None turns preparing off, e.g. behind a PgBouncer older than 1.21 in transaction mode).
    Query logging and execute wrappers work as for any Django cursor.
    """
    connection.ensure_connection()
    raw = psycopg.Cursor(connection.connection)
    # (django-stubs types the argument as the wrapper these methods build around it)
    if connection.queries_logged:
        return connection.make_debug_cursor(raw)  # type: ignore[arg-type]
    return connection.make_cursor(raw)  # type: ignore[arg-type]


__all__ = ["LAST_SEEN_GRANULARITY", "asynchronous_commit", "known_contact_event"]
