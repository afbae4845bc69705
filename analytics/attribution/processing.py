"""Crediting conversions to the messages a contact clicked or opened before converting.

The pipeline processor (`attribution_process_batch`) takes a batch's conversion events —
events whose name is one of the workspace's `conversion_events` — and, in ONE query for
the whole batch, reads each converting contact's touches from the event_timeline index
(workspace, contact, -timestamp): `email.clicked` / `sms.clicked` within the click window
and `email.opened` within the open window, at or before the conversion. A workflow touch's
source is the workflow (its message's source_id is "<run id>:<node id>[:<visit>]", so the
same query joins the run for its workflow id); a broadcast touch's is the broadcast. Test
sends never emit touches and are skipped here as well.

Every model is written at once (last touch, first touch, linear). Crediting a conversion
replaces its rows of that generation (DELETE, then INSERT) under a transaction-scoped
advisory lock per contact, so a retried batch writes nothing twice and two writers of the
same contact's credit (the pipeline, a late touch, a recompute) never interleave.

Late touches: a click is credited by the conversion's *event time*, however late it is
*received*. When a batch holds clicks or opens, the conversions of those contacts that
happened after them (within the window) are credited again — an ESP's webhook that brings
yesterday's click after today's order still gets the order. A recompute reads every touch
as it is stored, so it includes them too.

While a recompute is under way (config.State.pending), each conversion is credited twice:
for the current generation with the current settings, and for the next with the new ones.

The rules, in docs/attribution.md:
- last / first touch: the latest / earliest click in the click window; only when there is
  no click, the latest / earliest open in the open window. A click is deliberate; an open is
  often a mail client prefetching images (Apple Mail Privacy Protection opens everything).
- linear: every message clicked or opened in its window gets an equal share.
- no touch: one row per model with `message_id` NULL — the conversion's unattributed revenue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import connection, transaction

from analytics.models import AttributedConversion, AttributionModel
from contacts.models import Event
from workspaces.models import Workspace

from .config import Settings, attribution_state

CLICK_EVENTS = ("email.clicked", "sms.clicked")
OPEN_EVENTS = ("email.opened",)
REVENUE_KEYS = ("revenue", "total", "value")
CENT = Decimal("0.01")
# AttributedConversion.revenue is DECIMAL(16, 2): a larger amount is a bad property, not revenue.
REVENUE_LIMIT = Decimal("1e14")
CREDIT_PLACES = Decimal("0.000001")
# The most recent touches a conversion looks at (a bot clicking every link of every email
# would otherwise make one conversion read and credit hundreds of rows).
MAX_TOUCHES = 100
# The conversions one late touch may credit again (a contact ordering hundreds of times in a
# click's window is a bot or an import; the most recent are taken).
MAX_LATER_CONVERSIONS = 100
LOCK_CLASS = 0xA77  # first key of pg_advisory_xact_lock(int, int): "attribution of a contact"
TOUCH_EVENTS = (*CLICK_EVENTS, *OPEN_EVENTS)


@dataclass(frozen=True)
class Touch:
    message_id: int
    channel: str
    source_type: str  # workflow, broadcast
    source_id: str  # the workflow's id / the broadcast's id ("" if the run is gone)
    kind: str  # click, open
    at: datetime


def revenue_of(properties: Mapping[str, Any]) -> Decimal:
    """`revenue`, else `total`, else `value`: the first that is a number or reads as one
    ("49.90"), rounded to cents; 0 when none does."""
    for key in REVENUE_KEYS:
        amount = _amount(properties.get(key))
        if amount is not None:
            return amount
    return Decimal(0)


def _amount(raw: Any) -> Decimal | None:
    if raw is None or isinstance(raw, bool):
        return None
    if not isinstance(raw, int | float | str):
        return None
    try:
        amount = Decimal(str(raw).strip())
    except InvalidOperation:
        return None
    if not amount.is_finite() or abs(amount) >= REVENUE_LIMIT:
        return None
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


# Touches of each converting contact, newest first, read through event_timeline: the
# lateral subquery is an index range scan per conversion on (workspace, contact, timestamp),
# bounded by the wider window; the narrower window of opens is a filter on those rows. Its
# LIMIT keeps a contact who clicked hundreds of times cheap, and keeps the planner from
# flattening the subquery into one scan of the workspace's events.
_TOUCHES = """
SELECT c.event_id, t.kind, t.timestamp, t.message_id, t.channel, t.source_type,
       CASE WHEN t.source_type = 'workflow' THEN coalesce(r.workflow_id::text, '')
            ELSE t.source_id END AS source_id
FROM unnest(%(events)s::bigint[], %(contacts)s::bigint[], %(times)s::timestamptz[])
     AS c(event_id, contact_id, converted_at)
CROSS JOIN LATERAL (
  SELECT CASE WHEN e.name = ANY(%(clicks)s) THEN 'click' ELSE 'open' END AS kind,
         e.timestamp,
         (e.properties ->> 'message_id')::bigint AS message_id,
         coalesce(e.properties ->> 'channel', '') AS channel,
         e.properties ->> 'source_type' AS source_type,
         CASE WHEN e.properties ->> 'source_type' = 'broadcast'
              THEN coalesce(e.properties ->> 'broadcast_id', e.properties ->> 'source_id', '')
              ELSE coalesce(e.properties ->> 'source_id', '') END AS source_id,
         -- a workflow message's source_id is "<run id>:<node id>[:<visit>]"
         CASE WHEN e.properties ->> 'source_type' = 'workflow'
               AND split_part(e.properties ->> 'source_id', ':', 1) ~ '^[0-9]{{1,18}}$'
              THEN split_part(e.properties ->> 'source_id', ':', 1)::bigint END AS run_id
  FROM {events} e
  WHERE e.workspace_id = %(workspace)s AND e.contact_id = c.contact_id
    AND e.timestamp <= c.converted_at
    AND e.timestamp >= c.converted_at - make_interval(days => %(widest)s)
    AND e.name = ANY(%(touches)s)
    AND (e.name = ANY(%(clicks)s)
         AND e.timestamp >= c.converted_at - make_interval(days => %(click_days)s)
         OR e.name = ANY(%(opens)s)
         AND e.timestamp >= c.converted_at - make_interval(days => %(open_days)s))
    AND e.properties ->> 'source_type' IN ('workflow', 'broadcast')
    AND (e.properties ->> 'message_id') ~ '^[0-9]{{1,18}}$'
  ORDER BY e.timestamp DESC
  LIMIT %(most)s
) t
LEFT JOIN {runs} r ON r.id = t.run_id AND r.workspace_id = %(workspace)s
"""


def touches_before(
    *, workspace: Workspace, conversions: Sequence[Event], settings: Settings
) -> dict[int, list[Touch]]:
    """Each conversion's touches in its windows (one query for all), by conversion event id."""
    from workflows.models import WorkflowRun

    found: dict[int, list[Touch]] = {event.pk: [] for event in conversions}
    if not conversions:
        return found
    sql = _TOUCHES.format(events=Event._meta.db_table, runs=WorkflowRun._meta.db_table)
    params: dict[str, Any] = {
        "workspace": workspace.pk,
        "events": [event.pk for event in conversions],
        "contacts": [event.contact_id for event in conversions],
        "times": [event.timestamp for event in conversions],
        "clicks": list(CLICK_EVENTS),
        "opens": list(OPEN_EVENTS),
        "touches": [*CLICK_EVENTS, *OPEN_EVENTS],
        "click_days": settings.click_window_days,
        "open_days": settings.open_window_days,
        "widest": max(settings.click_window_days, settings.open_window_days),
        "most": MAX_TOUCHES,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for event_id, kind, at, message_id, channel, source_type, source_id in cursor.fetchall():
            found[event_id].append(Touch(message_id, channel, source_type, source_id, kind, at))
    return found


# --- the three models ------------------------------------------------------------------------


def _preferred(touches: list[Touch]) -> list[Touch]:
    """Clicks when there are any, else the opens (see the module's docstring)."""
    clicks = [touch for touch in touches if touch.kind == "click"]
    return clicks or touches


def _per_message(touches: Iterable[Touch]) -> list[Touch]:
    """One touch per message: its latest click, else its latest open; oldest message first."""
    best: dict[int, Touch] = {}
    for touch in touches:
        held = best.get(touch.message_id)
        if held is None or (touch.kind == "click", touch.at) > (held.kind == "click", held.at):
            best[touch.message_id] = touch
    return sorted(best.values(), key=lambda touch: (touch.at, touch.message_id))


def _shares(count: int) -> list[Decimal]:
    """`count` equal credits that sum to exactly 1 (the last takes the rounding remainder)."""
    share = (Decimal(1) / count).quantize(CREDIT_PLACES)
    return [share] * (count - 1) + [Decimal(1) - share * (count - 1)]


def credits(touches: list[Touch]) -> dict[str, list[tuple[Touch | None, Decimal]]]:
    """Per model, the touches credited and their share; [(None, 1)] when nothing touched."""
    if not touches:
        return {model: [(None, Decimal(1))] for model in AttributionModel.values}
    pool = _preferred(touches)
    key = lambda touch: (touch.at, touch.message_id)  # noqa: E731  (ties: the newer message)
    linear = _per_message(touches)
    return {
        AttributionModel.LAST_TOUCH: [(max(pool, key=key), Decimal(1))],
        AttributionModel.FIRST_TOUCH: [(min(pool, key=key), Decimal(1))],
        AttributionModel.LINEAR: list(zip(linear, _shares(len(linear)), strict=True)),
    }


# --- the processor's body --------------------------------------------------------------------


def _rows(
    workspace: Workspace, event: Event, touches: list[Touch], generation: int
) -> Iterable[AttributedConversion]:
    revenue = revenue_of(event.properties if isinstance(event.properties, dict) else {})
    for model, credited in credits(touches).items():
        for touch, credit in credited:
            yield AttributedConversion(
                workspace=workspace,
                event_id=event.pk,
                generation=generation,
                contact_id=event.contact_id,
                name=event.name[:200],
                converted_at=event.timestamp,
                revenue=revenue,
                model=model,
                message_id=touch.message_id if touch else None,
                channel=touch.channel[:10] if touch else "",
                source_type=touch.source_type if touch else "",
                source_id=touch.source_id[:120] if touch else "",
                touch=touch.kind if touch else "",
                touched_at=touch.at if touch else None,
                credit=credit,
            )


def contacts_lock(contact_ids: Iterable[int]) -> None:
    """Serialise crediting of these contacts' conversions until the transaction ends (in
    sorted order: two writers cannot deadlock)."""
    keys = sorted({contact_id % 2**31 for contact_id in contact_ids})
    if keys:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_advisory_xact_lock(%s, k)) FROM unnest(%s::int[]) AS k",
                [LOCK_CLASS, keys],
            )


def conversions_credit(
    *, workspace: Workspace, conversions: Sequence[Event], settings: Settings, generation: int
) -> None:
    """Replace the rows of `generation` for these conversions with their credit under
    `settings`. The caller holds contacts_lock on their contacts, inside a transaction."""
    if not conversions:
        return
    touches = touches_before(workspace=workspace, conversions=conversions, settings=settings)
    AttributedConversion.objects.filter(
        workspace=workspace, event_id__in=[event.pk for event in conversions], generation=generation
    ).delete()
    rows = [
        row
        for event in conversions
        for row in _rows(workspace, event, touches[event.pk], generation)
    ]
    AttributedConversion.objects.bulk_create(rows, batch_size=1000)


# The conversions each touch came before, within its window: one index range scan per touch
# on event_timeline (workspace, contact, timestamp).
_LATER = """
SELECT DISTINCT c.id
FROM unnest(%(contacts)s::bigint[], %(times)s::timestamptz[], %(days)s::int[])
     AS t(contact_id, at, days)
CROSS JOIN LATERAL (
  SELECT e.id FROM {events} e
  WHERE e.workspace_id = %(workspace)s AND e.contact_id = t.contact_id
    AND e.timestamp >= t.at AND e.timestamp <= t.at + make_interval(days => t.days)
    AND e.name = ANY(%(names)s)
  ORDER BY e.timestamp DESC
  LIMIT %(most)s
) c
"""


def conversions_after(
    *, workspace: Workspace, touches: Sequence[Event], settings: Settings
) -> list[Event]:
    """The conversions (under `settings`) that `touches` came before, within their windows."""
    if not touches or not settings.conversion_events:
        return []
    params = {
        "workspace": workspace.pk,
        "contacts": [touch.contact_id for touch in touches],
        "times": [touch.timestamp for touch in touches],
        "days": [
            settings.click_window_days if touch.name in CLICK_EVENTS else settings.open_window_days
            for touch in touches
        ],
        "names": list(settings.conversion_events),
        "most": MAX_LATER_CONVERSIONS,
    }
    with connection.cursor() as cursor:
        cursor.execute(_LATER.format(events=Event._meta.db_table), params)
        ids = [row[0] for row in cursor.fetchall()]
    if not ids:
        return []
    return list(Event.objects.filter(workspace=workspace, pk__in=ids).defer("context"))


SOURCE_TYPES = ("workflow", "broadcast")


def _is_touch(event: Event) -> bool:
    properties = event.properties if isinstance(event.properties, dict) else {}
    return event.name in TOUCH_EVENTS and properties.get("source_type") in SOURCE_TYPES


def attribution_process_events(*, workspace: Workspace, events: Sequence[Event]) -> int:
    """Credit the conversions among `events`, and again those that the batch's clicks and
    opens came before (late touches); while a recompute is under way, for its generation too.
    Returns how many conversions the current settings credited."""
    state = attribution_state(workspace=workspace)
    stored = [event for event in events if event.pk is not None]
    touches = [event for event in stored if _is_touch(event)]
    names = {name for _, settings in state.targets() for name in settings.conversion_events}
    converting = [event for event in stored if event.name in names]
    if not converting and not touches:
        return 0
    credited = 0
    with transaction.atomic():
        contacts_lock(event.contact_id for event in [*converting, *touches])
        for generation, settings in state.targets():
            wanted = set(settings.conversion_events)
            chosen = {event.pk: event for event in converting if event.name in wanted}
            later = conversions_after(workspace=workspace, touches=touches, settings=settings)
            for event in later:
                chosen.setdefault(event.pk, event)
            conversions_credit(
                workspace=workspace,
                conversions=list(chosen.values()),
                settings=settings,
                generation=generation,
            )
            if generation == state.generation:
                credited = len(chosen)
    return credited
