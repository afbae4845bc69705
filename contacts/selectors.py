"""Reads for contacts and events. The API and the HTML UI both call these, so a filter means
the same thing everywhere (and an export of "what I see" is exactly what the list shows).

Filters arrive as query parameters; `ContactFilters.from_params` / `EventFilters.from_params`
validate them and raise `ValidationFailed` naming the parameter, never a 500.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dateutil import parser as date_parser  # type: ignore[import-untyped]
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from workspaces.errors import ValidationFailed
from workspaces.models import Membership, Workspace
from workspaces.scoping import dangerously_all_workspaces

from .models import (
    AttributeDefinition,
    Contact,
    ContactAnonymousId,
    Event,
    EventDefinition,
    EventType,
    Form,
    LifecycleStage,
)

# What a list may be sorted by: the public name → the ORM ordering (always ending in a
# unique column, so pages never overlap or skip).
CONTACT_SORTS: dict[str, tuple[str, ...]] = {
    "-updated_at": ("-updated_at", "-id"),
    "updated_at": ("updated_at", "id"),
    "-created_at": ("-created_at", "-id"),
    "created_at": ("created_at", "id"),
    "-last_seen_at": ("-last_seen_at", "-id"),
    "last_seen_at": ("last_seen_at", "id"),
    "-score": ("-score", "-id"),
    "score": ("score", "id"),
    "email": ("email", "id"),
    "-email": ("-email", "-id"),
    "name": ("last_name", "first_name", "id"),
    "-name": ("-last_name", "-first_name", "-id"),
    "company": ("company", "id"),
    "-company": ("-company", "-id"),
}
DEFAULT_CONTACT_SORT = "-updated_at"
OWNER_NONE = "none"  # owner filter value for "nobody owns it"


def _parse_datetime(value: str, *, param: str) -> datetime:
    try:
        parsed = date_parser.isoparse(value)
    except (ValueError, OverflowError):
        raise ValidationFailed(
            f"{param}: expected an ISO 8601 date or date-time, got {value!r}.",
            fields={param: ["Expected an ISO 8601 date or date-time, e.g. 2024-05-01T12:00:00Z."]},
        )
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _parse_int(value: str, *, param: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(
            f"{param}: expected a whole number, got {value!r}.",
            fields={param: ["Expected a whole number."]},
        )


def _getlist(params: Mapping[str, Any], key: str) -> list[str]:
    getlist = getattr(params, "getlist", None)
    raw = getlist(key) if getlist else params.get(key)
    values = raw if isinstance(raw, list | tuple) else [raw] if raw not in (None, "") else []
    out: list[str] = []
    for value in values:
        out.extend(part.strip() for part in str(value).split(",") if part.strip())
    return out


# --- Contacts ------------------------------------------------------------------------------


@dataclass
class ContactFilters:
    """Everything a contact list can be narrowed and sorted by.

    `attributes` is a list of (key, raw value) pairs from `attribute=key=value` parameters;
    the value is compared with the attribute's registered type (number, boolean, string).
    """

    q: str = ""
    email: str = ""
    user_id: str = ""  # the integration's own id (Segment's userId): Contact.external_id
    anonymous_id: str = ""
    tags: list[str] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)
    owner: int | str | None = None  # a user id, or OWNER_NONE
    attributes: list[tuple[str, str]] = field(default_factory=list)
    updated_since: datetime | None = None
    sort: str = DEFAULT_CONTACT_SORT

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ContactFilters:
        filters = cls(
            q=str(params.get("q") or params.get("search") or "").strip(),
            email=str(params.get("email") or "").strip().lower(),
            user_id=str(params.get("user_id") or "").strip(),
            anonymous_id=str(params.get("anonymous_id") or "").strip(),
            tags=_getlist(params, "tag"),
            stages=_getlist(params, "stage"),
        )
        for stage in filters.stages:
            if stage not in LifecycleStage.values:
                raise ValidationFailed(
                    f"stage: {stage!r} is not a lifecycle stage.",
                    fields={"stage": [f"Choose one of: {', '.join(LifecycleStage.values)}."]},
                )
        owner = str(params.get("owner") or "").strip()
        if owner:
            filters.owner = OWNER_NONE if owner == OWNER_NONE else _parse_int(owner, param="owner")
        for pair in _getlist(params, "attribute"):
            key, sep, value = pair.partition("=")
            if not sep or not key.strip():
                raise ValidationFailed(
                    f"attribute: expected key=value, got {pair!r}.",
                    fields={"attribute": ["Expected key=value, e.g. attribute=plan=pro."]},
                )
            filters.attributes.append((key.strip(), value.strip()))
        since = str(params.get("updated_since") or "").strip()
        if since:
            filters.updated_since = _parse_datetime(since, param="updated_since")
        sort = str(params.get("sort") or params.get("ordering") or "").strip()
        if sort:
            if sort not in CONTACT_SORTS:
                raise ValidationFailed(
                    f"sort: cannot sort by {sort!r}.",
                    fields={"sort": [f"Choose one of: {', '.join(CONTACT_SORTS)}."]},
                )
            filters.sort = sort
        return filters

    @property
    def ordering(self) -> tuple[str, ...]:
        return CONTACT_SORTS[self.sort]

    @property
    def is_filtered(self) -> bool:
        return bool(
            self.q
            or self.email
            or self.user_id
            or self.anonymous_id
            or self.tags
            or self.stages
            or self.owner is not None
            or self.attributes
            or self.updated_since
        )


def _typed_attribute_value(kind: str | None, raw: str) -> Any:
    """The JSON value an attribute=key=value filter means, given the attribute's type."""
    if kind == AttributeDefinition.Type.NUMBER:
        try:
            number = float(raw)
        except ValueError:
            raise ValidationFailed(
                f"attribute: {raw!r} is not a number.",
                fields={"attribute": [f"{raw!r} is not a number."]},
            )
        return int(number) if number.is_integer() else number
    if kind == AttributeDefinition.Type.BOOLEAN:
        lowered = raw.lower()
        if lowered not in {"true", "false", "1", "0", "yes", "no"}:
            raise ValidationFailed(
                f"attribute: {raw!r} is not true or false.",
                fields={"attribute": [f"{raw!r} is not true or false."]},
            )
        return lowered in {"true", "1", "yes"}
    return raw


def _search_q(text: str) -> Q:
    """Every word must appear in the email, a name or the company ("ada acme" finds Ada at Acme)."""
    condition = Q()
    for word in text.split()[:5]:
        condition &= (
            Q(email__icontains=word)
            | Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(company__icontains=word)
        )
    return condition


def contact_list(
    *, workspace: Workspace, filters: ContactFilters | None = None
) -> QuerySet[Contact]:
    """The workspace's contacts narrowed by `filters`, in the filter's order, owner joined."""
    filters = filters or ContactFilters()
    contacts = Contact.objects.for_workspace(workspace).select_related("owner")
    if filters.q:
        contacts = contacts.filter(_search_q(filters.q))
    if filters.email:
        contacts = contacts.filter(email=filters.email)
    if filters.user_id:
        contacts = contacts.filter(external_id=filters.user_id)
    if filters.anonymous_id:
        contacts = contacts.filter(pk__in=_holding_anonymous_id(workspace, filters.anonymous_id))
    if filters.tags:
        contacts = contacts.filter(tags__contains=filters.tags)
    if filters.stages:
        contacts = contacts.filter(lifecycle_stage__in=filters.stages)
    if filters.owner == OWNER_NONE:
        contacts = contacts.filter(owner__isnull=True)
    elif filters.owner is not None:
        contacts = contacts.filter(owner_id=filters.owner)
    if filters.attributes:
        types = dict(
            AttributeDefinition.objects.for_workspace(workspace)
            .filter(key__in=[key for key, _ in filters.attributes])
            .values_list("key", "type")
        )
        for key, raw in filters.attributes:
            # JSONB containment uses the GIN index on attributes.
            contacts = contacts.filter(
                attributes__contains={key: _typed_attribute_value(types.get(key), raw)}
            )
    if filters.updated_since:
        contacts = contacts.filter(updated_at__gte=filters.updated_since)
    return contacts.order_by(*filters.ordering)  # type: ignore[no-any-return]


def _holding_anonymous_id(workspace: Workspace, anonymous_id: str) -> QuerySet[Any]:
    # The lookup table's unique index, not a search of every contact's anonymous_ids array.
    return ContactAnonymousId.objects.filter(
        workspace_id=workspace.pk, anonymous_id=anonymous_id
    ).values("contact_id")


def contact_get_by_identifier(
    *, workspace: Workspace, user_id: str = "", anonymous_id: str = ""
) -> Contact | None:
    """The contact holding the integration's own id (`user_id`, Contact.external_id) or an
    anonymous id — exactly one of them; None when no contact holds it."""
    contacts = Contact.objects.for_workspace(workspace).select_related("owner")
    if user_id:
        return contacts.filter(external_id=user_id).first()  # type: ignore[no-any-return]
    if anonymous_id:
        return contacts.filter(  # type: ignore[no-any-return]
            pk__in=_holding_anonymous_id(workspace, anonymous_id)
        ).first()
    return None


def contact_get(*, workspace: Workspace, contact_id: int) -> Contact | None:
    return (
        Contact.objects.for_workspace(workspace)
        .select_related("owner")
        .filter(pk=contact_id)
        .first()
    )


# --- Timeline ------------------------------------------------------------------------------


@dataclass
class TimelinePage:
    events: list[Event]
    next_before: str | None  # pass as `before` to get the next (older) page


def _encode_cursor(event: Event) -> str:
    raw = f"{event.timestamp.isoformat()}|{event.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        stamp, _, pk = base64.urlsafe_b64decode(padded.encode()).decode().partition("|")
        return datetime.fromisoformat(stamp), int(pk)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed(
            "before: not a cursor from a previous page.",
            fields={"before": ["Not a cursor from a previous page."]},
        )


def contact_timeline(
    *, workspace: Workspace, contact: Contact, before: str | None = None, limit: int = 50
) -> TimelinePage:
    """The contact's events, newest first, `limit` at a time.

    Keyset pagination on (timestamp, id): the `event_timeline` index serves every page at
    the same cost, and events arriving meanwhile never shift a page.
    """
    events = Event.objects.for_workspace(workspace).filter(contact=contact)
    if before:
        stamp, pk = _decode_cursor(before)
        events = events.filter(Q(timestamp__lt=stamp) | Q(timestamp=stamp, id__lt=pk))
    rows = list(events.order_by("-timestamp", "-id")[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    return TimelinePage(events=rows, next_before=_encode_cursor(rows[-1]) if has_more else None)


# --- Events --------------------------------------------------------------------------------


@dataclass
class EventFilters:
    names: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    contact_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> EventFilters:
        filters = cls(names=_getlist(params, "name"), types=_getlist(params, "type"))
        for kind in filters.types:
            if kind not in EventType.values:
                raise ValidationFailed(
                    f"type: {kind!r} is not an event type.",
                    fields={"type": [f"Choose one of: {', '.join(EventType.values)}."]},
                )
        contact = str(params.get("contact") or "").strip()
        if contact:
            filters.contact_id = _parse_int(contact, param="contact")
        for param in ("since", "until"):
            value = str(params.get(param) or "").strip()
            if value:
                setattr(filters, param, _parse_datetime(value, param=param))
        return filters


def event_list(*, workspace: Workspace, filters: EventFilters | None = None) -> QuerySet[Event]:
    """Events of the workspace, newest first (by the client's timestamp)."""
    filters = filters or EventFilters()
    events = Event.objects.for_workspace(workspace)
    if filters.names:
        events = events.filter(name__in=filters.names)
    if filters.types:
        events = events.filter(type__in=filters.types)
    if filters.contact_id is not None:
        events = events.filter(contact_id=filters.contact_id)
    if filters.since:
        events = events.filter(timestamp__gte=filters.since)
    if filters.until:
        events = events.filter(timestamp__lt=filters.until)
    return events.order_by("-timestamp", "-id")  # type: ignore[no-any-return]


# --- Events in a window (workflows' preview on history) --------------------------------------

# A cheap, well-mixed order of contact ids (Knuth's multiplicative hash): a uniform sample
# that is the same on every run, without sorting by random(). `col` names the id column.
SAMPLE_ORDER = "mod({col}::bigint * 2654435761, 4294967296)"

EVENT_HITS_SQL = f"""
WITH hits AS (
    SELECT contact_id, count(*) AS n
    FROM contacts_event
    WHERE workspace_id = %(workspace)s AND name = ANY(%(names)s)
      AND timestamp >= %(since)s AND timestamp < %(until)s
    GROUP BY contact_id
)
SELECT (SELECT count(*) FROM hits), (SELECT coalesce(sum(n), 0) FROM hits),
       ARRAY(SELECT contact_id FROM hits ORDER BY {SAMPLE_ORDER.format(col="contact_id")}
             LIMIT %(sample)s)
"""  # noqa: S608 — no user input in the text


def event_hits(
    *, workspace: Workspace, names: list[str], since: datetime, until: datetime, sample: int
) -> tuple[int, int, list[int]]:
    """(contacts who had any of these events in [since, until), how many events, a uniform
    sample of at most `sample` of those contacts) — one statement on the events table's
    (workspace, name, timestamp) index."""
    with connection.cursor() as cursor:
        cursor.execute(
            EVENT_HITS_SQL,
            {"workspace": workspace.pk, "names": names, "since": since, "until": until,
             "sample": sample},
        )  # fmt: skip
        contacts, events, ids = cursor.fetchone()
    return int(contacts), int(events), list(ids or [])


def events_of_contacts(
    *,
    workspace: Workspace,
    contact_ids: list[int],
    names: list[str],
    since: datetime,
    until: datetime,
    limit: int = 200_000,
) -> list[Event]:
    """These contacts' events of these names in [since, until), oldest first (bounded)."""
    return list(
        Event.objects.filter(
            workspace_id=workspace.pk, contact_id__in=contact_ids, name__in=names,
            timestamp__gte=since, timestamp__lt=until,
        )
        .only("id", "contact_id", "name", "properties", "timestamp")
        .order_by("timestamp", "id")[:limit]
    )  # fmt: skip


def events_in_window(*, workspace: Workspace, since: datetime, until: datetime) -> int:
    """All of the workspace's events in [since, until)."""
    return int(
        Event.objects.filter(
            workspace_id=workspace.pk, timestamp__gte=since, timestamp__lt=until
        ).count()
    )


# --- Registry, tags, owners ------------------------------------------------------------------


def event_definition_list(*, workspace: Workspace, limit: int = 50) -> list[EventDefinition]:
    """The event names this workspace has received, most recent first, with the property
    keys seen on each (the catalogue ingestion keeps)."""
    return list(EventDefinition.objects.for_workspace(workspace).order_by("-last_seen_at")[:limit])


def event_definition_rows(
    *, workspace: Workspace, prefix: str = "", names: Iterable[str] | None = None, limit: int = 500
) -> list[tuple[str, list[str], datetime]]:
    """(name, property keys, last seen) of the event names this workspace has received, most
    recent first; `prefix` (case-insensitive) and `names` narrow them (builders' autocomplete
    and validation)."""
    rows = EventDefinition.objects.for_workspace(workspace)
    if prefix:
        rows = rows.filter(name__istartswith=prefix)
    if names is not None:
        rows = rows.filter(name__in=list(names))
    return list(
        rows.order_by("-last_seen_at").values_list("name", "property_keys", "last_seen_at")[:limit]
    )


def attribute_definition_list(*, workspace: Workspace) -> QuerySet[AttributeDefinition]:
    return AttributeDefinition.objects.for_workspace(workspace).order_by("key")  # type: ignore[no-any-return]


@dataclass(frozen=True)
class TagCount:
    name: str
    count: int


def tag_list(*, workspace: Workspace, limit: int = 500) -> list[TagCount]:
    """Every tag in use in the workspace with how many contacts carry it, most used first."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT tag, count(*) FROM (
                SELECT unnest(tags) AS tag FROM contacts_contact
                WHERE workspace_id = %s AND tags <> '{}'
            ) AS t
            GROUP BY tag ORDER BY count(*) DESC, tag LIMIT %s
            """,
            [workspace.pk, limit],
        )
        return [TagCount(name, count) for name, count in cursor.fetchall()]


def owner_choices(*, workspace: Workspace) -> list[tuple[int, str]]:
    """Members who can own a contact: (user id, label)."""
    memberships = (
        Membership.objects.for_workspace(workspace)
        .select_related("user")
        .order_by("user__first_name", "user__email")
    )
    return [(m.user_id, m.user.get_full_name() or m.user.email) for m in memberships]


def form_workspace_id(*, public_id: str) -> int | None:
    """The workspace of the hosted form a public id names (the id is the form's address;
    before it is known no workspace is in scope), or None."""
    with dangerously_all_workspaces(reason="find the workspace a hosted form's public id names"):
        return (
            Form.objects.filter(public_id=public_id).values_list("workspace_id", flat=True).first()
        )
