"""Bulk ingestion of Segment messages: resolve contacts, store events, enqueue the pipeline.

`ingest_messages` is the hot path behind /v1/. For a batch of 100 track/page calls from
known contacts it costs a handful of statements whatever the batch size:

1. which messageIds are already stored (replays are dropped before anything happens);
2. one lookup of every userId/anonymousId in the batch;
3. (only for identifiers never seen) advisory locks on them + a re-check, then one
   multi-row INSERT of the new contacts;
4. one INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING of the events;
5. (only when it moved by more than a minute) one UPDATE of last_seen_at;
6. (only for names/keys this process has not seen) one upsert of EventDefinition.

Who each message is about is decided by `resolver.identity_resolve` on the candidates the
batch's lookup found (and what it created or resolved since). Its decisions that the
batch's writes can carry out — a new contact, a known one perhaps on a new device, an
identify of a known user that changes nothing about who — are written together; the
others (a merge, an anonymous id moving between profiles, an external id given to a known
profile, an alias) go through `contact_upsert` one by one, in order; pending contacts and
events are written first so a merge carries them along.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import psycopg
from django.db import OperationalError, connection, transaction

from contacts.ingest.parsing import Correction, Message, Rejected
from contacts.models import Contact
from contacts.services.event_definitions import (
    event_definition_keys,
    event_definitions_register,
)
from contacts.services.events import (
    NewEvent,
    events_enqueue_processing,
    events_record,
)
from contacts.services.identity import (
    IDENTIFIER_SQL,
    contact_apply_traits,
    contact_candidate,
    contact_upsert,
    identifiers_lock,
)
from contacts.services.ingest_single import (
    LAST_SEEN_GRANULARITY,
    asynchronous_commit,
    known_contact_event,
)
from contacts.services.merge import merge_into
from contacts.services.resolver import (
    Candidate,
    Decision,
    Incoming,
    alias_resolve,
    identity_resolve,
)
from contacts.services.traits import TraitProblem
from workspaces.errors import ValidationFailed
from workspaces.models import Workspace

# last_seen_at is approximate, so a contact whose row another transaction holds right now
# is skipped (SKIP LOCKED: that one is writing a fresh value anyway): concurrent requests
# about the same people neither wait for each other nor deadlock here. NO KEY UPDATE (the
# lock an UPDATE of non-key columns takes anyway) does not block the FOR KEY SHARE locks
# that other transactions' deferred event → contact foreign-key checks take at COMMIT.
_LAST_SEEN_UPDATE = """
UPDATE contacts_contact AS c SET last_seen_at = u.ts
FROM unnest(%s::bigint[], %s::timestamptz[]) AS u(id, ts)
WHERE c.id = u.id AND c.id IN (
    SELECT id FROM contacts_contact
    WHERE id = ANY(%s::bigint[]) AND workspace_id = %s
      AND (last_seen_at IS NULL OR last_seen_at < %s)
    ORDER BY id FOR NO KEY UPDATE SKIP LOCKED)
  AND (c.last_seen_at IS NULL OR c.last_seen_at < u.ts)
"""

# IDENTIFIER_SQL is a constant (values travel as parameters). `id = ANY(ARRAY(…))` keeps
# the outer read on the primary key whatever row count the planner guesses for the arms.
# FOR KEY SHARE (what a foreign-key check takes; events have no such constraint, see
# docs/events.md) holds off a merge that would delete one of these contacts until this
# request's events are in, so the merge moves them along; a contact a merge deleted while
# we waited is skipped, its identifiers look unknown and are looked up again (_load).
_CONTACTS_BY_IDENTIFIERS = (
    "SELECT id, external_id, anonymous_ids, last_seen_at, email FROM contacts_contact "  # noqa: S608
    "WHERE id = ANY(ARRAY(" + IDENTIFIER_SQL + ")) ORDER BY id FOR KEY SHARE"
)


@dataclass
class IngestResult:
    stored: int = 0  # new events written
    duplicates: int = 0  # messages whose messageId was already stored
    event_ids: list[int] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    corrections: list[Correction] = field(default_factory=list)  # of stored messages
    changed_fields: dict[int, set[str]] = field(default_factory=dict)
    pending_id: int | None = None  # the pipeline work, when written by the one-statement path


def ingest_messages(
    *,
    workspace: Workspace,
    messages: Sequence[Message],
    source: str,
    received_at: datetime,
    all_or_nothing: bool = False,
    field_prefix: str = "",
) -> IngestResult:
    """Store `messages` in one transaction and enqueue one process_events task on commit.

    Messages refused here (an impossible alias …) are returned in `rejected`; with
    `all_or_nothing` (a single call) the first one raises ValidationFailed instead and
    nothing is written. What was left out of stored messages (invalid traits found by the
    parser, new attributes beyond the workspace's limit) is listed in `corrections`.
    """
    if len(messages) == 1:
        stored = known_contact_event(workspace, messages[0], source, received_at)
        if stored is not None:
            event_id, pending_id = stored
            if event_id is None:
                return IngestResult(duplicates=1)
            events_enqueue_processing(
                workspace=workspace, event_ids=[event_id], pending_id=pending_id
            )
            return IngestResult(stored=1, event_ids=[event_id], pending_id=pending_id)
    attempt = 1
    while True:
        try:
            with transaction.atomic():
                run = _Ingestion(workspace, source, received_at, all_or_nothing, field_prefix)
                run.prelude = _prelude()
                result = run.execute(messages)
                events_enqueue_processing(
                    workspace=workspace,
                    event_ids=result.event_ids,
                    changed_fields=result.changed_fields,
                )
            return result
        except OperationalError as error:
            if attempt == _ATTEMPTS or not _retryable(error):
                raise
            attempt += 1


# Two requests that merge the same profiles can meet in a deadlock (each holds one
# contact's key-share lock and needs the other's): PostgreSQL aborts one transaction,
# nothing of it is written, and running it again is the whole remedy — better here than a
# 500 that the client library may or may not retry.
_ATTEMPTS = 3


def _retryable(error: OperationalError) -> bool:
    """A deadlock or serialization failure of our own transaction (not one we are inside)."""
    return not connection.in_atomic_block and isinstance(
        error.__cause__, psycopg.errors.DeadlockDetected | psycopg.errors.SerializationFailure
    )


# Lets this transaction's COMMIT return before its WAL reaches the disk. On this kind of
# machine the fsync of every small ingestion transaction costs more than the work in it.
# What it risks: if the *database server* crashes (not the app), events acknowledged in the
# last ~0.6 s (3 × wal_writer_delay) are lost — never corrupted, never half-written. Set
# TENDRIL_INGEST_SYNCHRONOUS_COMMIT = True to wait for the disk instead. Only ingestion does
# this; everything else commits synchronously. These settings travel with the transaction's
# first query (one round trip less per request; see _Ingestion.query).
_ASYNC_COMMIT = "SET LOCAL synchronous_commit = off;\n"
# Every read of an ingestion is a probe of a unique index for the ids in the request. With
# a young, fast-growing workspace's statistics (autovacuum analyses every 10% of growth) the
# planner may still cost a sequential scan below them, and a scan repeated per probe grows
# with the table: measured 26 ms a replay check during the ingest benchmark's first minute,
# against 0.9 ms on the index.
_POINT_LOOKUPS_ONLY = "SET LOCAL enable_seqscan = off;\n"


def _prelude() -> list[str]:
    return [_POINT_LOOKUPS_ONLY, *([_ASYNC_COMMIT] if asynchronous_commit() else [])]


def _batchable(decision: Decision) -> bool:
    """What the batch's own writes can do: create a contact known by its ids, or add an
    anonymous id to one (a new device). Anything else — a merge, an anonymous id moving
    from another profile, an external id given to a known profile — is contact_upsert's."""
    return decision.plain and (decision.contact is None or decision.record <= _ANONYMOUS_ID)


_ANONYMOUS_ID = frozenset({"anonymous_id"})


class _Ingestion:
    def __init__(
        self,
        workspace: Workspace,
        source: str,
        received_at: datetime,
        all_or_nothing: bool,
        field_prefix: str,
    ):
        self.workspace = workspace
        self.source = source
        self.received_at = received_at
        self.all_or_nothing = all_or_nothing
        self.field_prefix = field_prefix
        self.result = IngestResult()
        self.by_ext: dict[str, int] = {}
        self.by_anon: dict[str, int] = {}
        self.last_seen: dict[int, datetime | None] = {}  # as stored, for known contacts
        self.merged_into: dict[int, int] = {}
        self.new_contacts: dict[int, tuple[str, list[str]]] = {}  # temp id (<0) → ext, anons
        self.anon_additions: list[tuple[int, str]] = []
        self.pending: list[tuple[Message, int]] = []  # message, contact id (temp ids < 0)
        self.seen_at: dict[int, datetime] = {}
        self.emails: dict[int, str] = {}  # of known contacts, as loaded
        self.externals: dict[int, str] = {}  # external id of each contact resolved so far
        self.known_identifies: list[tuple[Message, int]] = []
        self.prelude: list[str] = []  # statements sent along with the transaction's first query

    def query(self, sql: str, params: Any) -> list[tuple[Any, ...]]:
        """Run one statement of this ingestion (the first carries the prelude); its rows."""
        prelude, self.prelude = self.prelude, []
        with connection.cursor() as cursor:
            cursor.execute("".join(prelude) + sql, params)
            for _ in prelude:
                cursor.nextset()  # past each prelude statement's (empty) result
            return cursor.fetchall()

    # --- driver --------------------------------------------------------------------------

    def execute(self, messages: Sequence[Message]) -> IngestResult:
        messages = self._drop_replays(messages)
        if not messages:
            return self.result
        self._load(messages)
        accepted: list[Message] = []
        for message in messages:
            decision = self._decide(message)
            contact_id = self._known_identify(message, decision)
            if contact_id is not None:
                self.known_identifies.append((message, contact_id))
            elif message.type != "identify" and decision is not None and _batchable(decision):
                # (an identify's traits are written by contact_upsert or with the known ones)
                contact_id = self._resolve_fast(message, decision)
            else:
                # contact_upsert must see the contacts created so far; pending events may
                # stay pending: if a merge removes their contact, _canon() redirects them.
                self._create_contacts()
                self._add_anonymous_ids()
                self._apply_known_identifies()  # earlier traits first, in order
                contact_id = self._resolve_identity(message)
                if contact_id is None:
                    continue  # rejected
            self.pending.append((message, contact_id))
            accepted.append(message)
        self._apply_known_identifies()
        self._flush()
        self._touch_last_seen()
        self._register_event_definitions(messages)
        self.result.corrections = [c for m in accepted for c in m.corrections]
        return self.result

    def _drop_replays(self, messages: Sequence[Message]) -> list[Message]:
        """Replayed identify/alias calls must not apply their traits or merges again, so
        messages already stored are dropped up front. A batch without such calls skips
        the query: its replayed events are refused by the INSERT's ON CONFLICT."""
        stored: set[str] = set()
        if any(m.type in ("identify", "alias") for m in messages):
            # One probe of the message ids' primary key per id (see IDENTIFIER_SQL for why).
            rows = self.query(
                "SELECT e.message_id FROM unnest(%s::text[]) AS v(x) CROSS JOIN LATERAL ("
                " SELECT message_id FROM contacts_eventmessage"
                " WHERE workspace_id = %s AND message_id = v.x) AS e",
                [list({m.message_id for m in messages}), self.workspace.pk],
            )
            stored = {row[0] for row in rows}
        fresh, seen = [], set(stored)
        for message in messages:
            if message.message_id in seen:
                self.result.duplicates += 1
                continue
            seen.add(message.message_id)
            fresh.append(message)
        return fresh

    # --- contact resolution --------------------------------------------------------------

    def _load(self, messages: Sequence[Message]) -> None:
        # An alias's previousId may be an earlier userId as well as an anonymous id.
        user_ids = {m.user_id for m in messages if m.user_id}
        user_ids |= {m.previous_id for m in messages if m.previous_id}
        names = user_ids | {m.anonymous_id for m in messages if m.anonymous_id}
        self._lookup(user_ids, names)
        unknown = sorted(
            {f"u:{u}" for u in user_ids if u not in self.by_ext and u not in self.by_anon}
            | {f"a:{a}" for a in names - user_ids if a not in self.by_anon}
        )
        if unknown:
            # Two requests must not both create the profile of a new visitor: lock the new
            # identifiers (in a fixed order), then look again — the other request may have
            # committed it meanwhile.
            identifiers_lock(workspace_id=self.workspace.pk, identifiers=unknown)
            self._lookup({u[2:] for u in unknown if u.startswith("u:")}, {u[2:] for u in unknown})

    def _lookup(self, user_ids: Iterable[str], names: Iterable[str]) -> None:
        rows = self.query(
            _CONTACTS_BY_IDENTIFIERS,
            {
                "ws": self.workspace.pk,
                "external": list(user_ids),
                "emails": [],
                "phones": [],
                "anonymous": list(names),
            },
        )
        for pk, external_id, anonymous_ids, last_seen_at, email in rows:
            self.emails[pk] = email
            self.externals[pk] = external_id
            if external_id:
                self.by_ext[external_id] = pk
            for anonymous_id in anonymous_ids:
                self.by_anon[anonymous_id] = pk
            self.last_seen[pk] = last_seen_at

    def _canon(self, contact_id: int | None) -> int | None:
        while contact_id in self.merged_into:
            contact_id = self.merged_into[contact_id]
        return contact_id

    def _by_user(self, user_id: str) -> int | None:
        # An old userId renamed by alias is kept among the anonymous ids.
        return self._canon(self.by_ext.get(user_id) or self.by_anon.get(user_id))

    def _decide(self, message: Message) -> Decision | None:
        """The resolver's decision on this batch's candidates (None for alias: `_alias`).

        The candidates are what the batch's lookup found, and what it created or resolved
        since, by userId and anonymousId. Emails are not looked up: an identify carrying
        an email other than its contact's own goes through contact_upsert, which does."""
        if message.type == "alias":
            return None
        user_id, anonymous_id = message.user_id, message.anonymous_id
        by_user = self._by_user(user_id) if user_id else None
        by_anon = self._canon(self.by_anon.get(anonymous_id)) if anonymous_id else None
        externals, emails = self.externals, self.emails
        candidates = []
        if by_user is not None:
            held = (anonymous_id,) if by_anon == by_user else ()
            external_id = externals.get(by_user, user_id)
            if external_id != user_id:
                held += (user_id,)  # renamed by alias: kept among the anonymous ids
            candidates.append(Candidate(by_user, external_id, emails.get(by_user, ""), held))
        if by_anon is not None and by_anon != by_user:
            candidates.append(
                Candidate(
                    by_anon, externals.get(by_anon, ""), emails.get(by_anon, ""), (anonymous_id,)
                )
            )
        # (positional: ingestion asks once per message)
        return identity_resolve(Incoming(user_id, "", anonymous_id, ""), candidates)

    def _known_identify(self, message: Message, decision: Decision | None) -> int | None:
        """The contact of an identify that changes nothing about *who* (the resolver finds
        one known contact by its userId and records no identifier, and its email is the
        contact's own), so its traits can be applied with the others' in one round — or
        None."""
        if message.type != "identify" or not message.user_id or decision is None:
            return None
        contact_id = decision.contact
        if contact_id is None or contact_id < 0 or not decision.plain or decision.record:
            return None
        email = message.traits.get("email")
        if email not in (None, "") and (
            not isinstance(email, str) or email.strip().lower() != self.emails.get(contact_id)
        ):
            return None
        return contact_id

    def _apply_known_identifies(self) -> None:
        """Traits of the known-contact identifies so far: one locking read, then one save
        per contact that actually changed."""
        if not self.known_identifies:
            return
        todo, self.known_identifies = self.known_identifies, []
        ids = {self._canon(pk) for _, pk in todo}
        contacts = {
            c.pk: c
            for c in Contact.objects.for_workspace(self.workspace)
            .filter(pk__in=ids)
            .select_for_update(no_key=True)
            .order_by("pk")
        }
        dirty: dict[int, set[str]] = {}
        for message, pk in todo:
            contact = contacts.get(self._canon(pk))  # type: ignore[arg-type]
            if contact is None:
                continue  # deleted by a concurrent request: nothing left to update
            problems: list[TraitProblem] = []
            changed = contact_apply_traits(
                workspace=self.workspace,
                contact=contact,
                traits=message.traits,
                source=self.source,
                at=message.timestamp,
                problems=problems,
            )
            self._correct(message, problems)
            if changed:
                dirty.setdefault(contact.pk, set()).update(changed)
        for pk, changed in dirty.items():
            contacts[pk].save()
            self.result.changed_fields.setdefault(pk, set()).update(changed)

    def _resolve_fast(self, message: Message, decision: Decision) -> int:
        """A batchable decision: a new contact (written with the batch's INSERT) or a known
        one, perhaps seen with a new anonymous id (one UPDATE per batch)."""
        user_id, anonymous_id = message.user_id, message.anonymous_id
        contact_id = decision.contact
        if contact_id is None:
            contact_id = -(len(self.new_contacts) + 1)
            self.new_contacts[contact_id] = (user_id, [anonymous_id] if anonymous_id else [])
            if user_id:
                self.by_ext[user_id] = contact_id
                self.externals[contact_id] = user_id
        elif "anonymous_id" in decision.record:
            if contact_id > 0:
                self.anon_additions.append((contact_id, anonymous_id))
            else:
                self.new_contacts[contact_id][1].append(anonymous_id)
        if anonymous_id:
            self.by_anon.setdefault(anonymous_id, contact_id)
        return contact_id

    def _resolve_identity(self, message: Message) -> int | None:
        """identify / alias / a userId meeting another profile's anonymousId: one by one."""
        problems: list[TraitProblem] = []
        try:
            if message.type == "alias":
                with transaction.atomic():
                    contact, changed = self._alias(message)
            else:
                contact, changed = contact_upsert(  # atomic (a savepoint) itself
                    workspace=self.workspace,
                    external_id=message.user_id or None,
                    anonymous_id=message.anonymous_id or None,
                    traits=message.traits if message.type == "identify" else None,
                    source=self.source,
                    at=message.timestamp,
                    problems=problems,
                )
        except ValidationFailed as error:
            where = next(iter(error.fields), "traits")
            self._reject(
                message,
                f"{self._prefix(message)}{where}",
                str(error.fields[where]) if error.fields else error.message,
            )
            return None
        self._correct(message, problems)
        if "merged" in changed:
            self._forget_merged(contact.pk)
        if changed:
            self.result.changed_fields.setdefault(contact.pk, set()).update(changed)
        for user_id in filter(None, (contact.external_id, message.user_id)):
            self.by_ext[user_id] = contact.pk
        self.externals[contact.pk] = contact.external_id
        for anonymous_id in contact.anonymous_ids:
            self.by_anon[anonymous_id] = contact.pk
        self.last_seen[contact.pk] = contact.last_seen_at
        return contact.pk

    def _alias(self, message: Message) -> tuple[Contact, set[str]]:
        """alias(previousId → userId): the two are one person. previousId may be an
        anonymous id or an earlier userId (renamed: kept among the anonymous ids)."""
        previous = self._by_user(message.previous_id)
        target = self._by_user(message.user_id)
        contacts = {
            c.pk: c
            for c in Contact.objects.for_workspace(self.workspace)
            .filter(pk__in=[pk for pk in (previous, target) if pk])
            .select_for_update()
        }
        old, new = contacts.get(previous or 0), contacts.get(target or 0)
        action = alias_resolve(
            contact_candidate(old) if old is not None else None,
            contact_candidate(new) if new is not None else None,
            message.user_id,
        )
        if action == "merge":
            assert old is not None and new is not None
            changed = merge_into(workspace=self.workspace, into=new, source=old)
            new.save()
            return new, changed
        if action == "rename":
            assert old is not None
            renamed = old.external_id
            old.external_id = message.user_id
            old.anonymous_ids = list(dict.fromkeys([*old.anonymous_ids, renamed]))
            old.save()
            return old, {"external_id"}
        return contact_upsert(
            workspace=self.workspace,
            external_id=message.user_id,
            anonymous_id=message.previous_id,
            source=self.source,
        )

    def _forget_merged(self, survivor: int) -> None:
        """Contacts deleted by a merge went into `survivor`: remap what points at them."""
        known = {
            pk
            for pk in (*self.by_ext.values(), *self.by_anon.values(), *(c for _, c in self.pending))
            if pk > 0
        }
        existing = set(
            Contact.objects.for_workspace(self.workspace)
            .filter(pk__in=known)
            .values_list("pk", flat=True)
        )
        for gone in known - existing:
            self.merged_into[gone] = survivor

    def _correct(self, message: Message, problems: list[TraitProblem]) -> None:
        """Traits the services left out (new attributes beyond the workspace's limit)."""
        message.left_out(problems, self._prefix(message))

    def _reject(self, message: Message, where: str, text: str) -> None:
        if self.all_or_nothing:
            raise ValidationFailed(f"{where}: {text}", fields={where: text})
        self.result.rejected.append(Rejected(message.index, where, text))

    def _prefix(self, message: Message) -> str:
        return f"{self.field_prefix}[{message.index}]." if self.field_prefix else ""

    # --- writes --------------------------------------------------------------------------

    def _flush(self) -> None:
        """Write the contacts and events gathered so far (before an identity change, and at
        the end)."""
        real = self._create_contacts()
        self._add_anonymous_ids()
        if not self.pending:
            return
        rows = [(m, self._canon(real.get(pk, pk))) for m, pk in self.pending]
        self.pending = []
        self._insert_events(rows)

    def _add_anonymous_ids(self) -> None:
        """Known users seen with a new anonymous id (a new device): remember it."""
        if self.anon_additions:
            with connection.cursor() as cursor:
                cursor.executemany(
                    "UPDATE contacts_contact SET anonymous_ids = array_append(anonymous_ids, %s) "
                    "WHERE id = %s AND workspace_id = %s "
                    "AND NOT anonymous_ids @> ARRAY[%s]::varchar[]",
                    [(a, pk, self.workspace.pk, a) for pk, a in self.anon_additions],
                )
            self.anon_additions = []

    def _create_contacts(self) -> dict[int, int]:
        if not self.new_contacts:
            return {}
        records = [
            {"e": ext, "a": list(dict.fromkeys(anons))} for ext, anons in self.new_contacts.values()
        ]
        sql, constants = _contact_insert_sql()
        with connection.cursor() as cursor:
            cursor.execute(
                sql,
                [self.workspace.pk, self.received_at, self.received_at, *constants]
                + [orjson.dumps(records).decode()],
            )
            created = cursor.fetchall()
        # A new contact is named by its external id, else by its (new) anonymous id.
        by_name = {ext or anons[0]: pk for pk, ext, anons in created}
        real = {}
        for temp, (ext, anons) in self.new_contacts.items():
            pk = by_name[ext or anons[0]]
            real[temp] = pk
            self.externals[pk] = ext
            self.result.changed_fields[pk] = {"created"}
            self.last_seen[pk] = None
            self.merged_into[temp] = pk
        for mapping in (self.by_ext, self.by_anon):
            for key, pk in mapping.items():
                if pk < 0:
                    mapping[key] = real[pk]
        self.new_contacts = {}
        return real

    def _insert_events(self, rows: list[tuple[Message, int | None]]) -> None:
        events = []
        seen_at = self.seen_at
        for message, contact_id in rows:
            events.append(
                NewEvent(
                    contact_id,
                    message.name,
                    message.properties,
                    message.message_id,
                    message.timestamp,
                    message.type,
                    message.context,
                )
            )
            seen = seen_at.get(contact_id)  # type: ignore[arg-type]
            if message.timestamp and (seen is None or message.timestamp > seen):
                seen_at[contact_id] = message.timestamp  # type: ignore[index]
        ids = events_record(
            workspace=self.workspace,
            events=events,
            source=self.source,
            received_at=self.received_at,
        )
        inserted = [pk for pk in ids if pk is not None]
        self.result.event_ids.extend(inserted)
        self.result.stored += len(inserted)
        self.result.duplicates += len(rows) - len(inserted)

    def _touch_last_seen(self) -> None:
        now = self.received_at
        ids, stamps = [], []
        for contact_id, seen in self.seen_at.items():
            contact_id = self._canon(contact_id)  # type: ignore[assignment]
            seen = min(seen, now)  # a client clock ahead of ours does not make them "seen" later
            stored = self.last_seen.get(contact_id)  # type: ignore[arg-type]
            if stored is None or seen - stored > LAST_SEEN_GRANULARITY:
                ids.append(contact_id)
                stamps.append(seen)
        if ids:
            with connection.cursor() as cursor:
                cursor.execute(
                    _LAST_SEEN_UPDATE, [ids, stamps, ids, self.workspace.pk, max(stamps)]
                )

    def _register_event_definitions(self, messages: Sequence[Message]) -> None:
        keys: dict[str, set[str]] = {}
        for message in messages:
            if message.type == "track":
                keys.setdefault(message.name, set()).update(
                    event_definition_keys(message.properties)
                )
        event_definitions_register(
            workspace_id=self.workspace.pk, names=keys, seen_at=self.received_at
        )


@functools.cache
def _contact_insert_sql() -> tuple[str, list[Any]]:
    """INSERT of new contacts known only by ids; every other column gets its model default.

    Built from the model, so columns added to Contact later need no change here (a raw
    INSERT because bulk_create prepares every field of every object in Python).
    """
    given = {"workspace_id": "%s", "created_at": "%s", "updated_at": "%s"}
    from_rows = {"external_id": "r.e", "anonymous_ids": "r.a"}
    columns, values, constants = [], [], []
    for model_field in Contact._meta.concrete_fields:
        if model_field.primary_key:
            continue
        column = model_field.column
        columns.append(column)
        if column in given:
            values.append(given[column])
        elif column in from_rows:
            values.append(from_rows[column])
        else:
            values.append(f"%s::{model_field.db_type(connection)}")
            constants.append(model_field.get_db_prep_save(model_field.get_default(), connection))
    sql = (
        f"INSERT INTO contacts_contact ({', '.join(columns)}) "  # noqa: S608 — from the model
        f"SELECT {', '.join(values)} FROM jsonb_to_recordset(%s::jsonb) AS r(e text, a text[]) "
        "RETURNING id, external_id, anonymous_ids"
    )
    return sql, constants


__all__ = ["IngestResult", "ingest_messages"]
