"""What scoring says into the event stream: `score.changed` and `lifecycle.changed`.

These functions only record events and return them. Inside the pipeline the processor
passes them to `batch.add_events`; outside it the public services follow them with
`events_enqueue_processing` (see `stream_publish`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from contacts.models import Contact, Event, EventType
from contacts.services import NewEvent, events_enqueue_processing, events_record
from workspaces.models import User, Workspace

from .engine import Outcome, Transition

SCORE_CHANGED = "score.changed"
LIFECYCLE_CHANGED = "lifecycle.changed"
MAX_REASONS = 10


def _platform_events_record(
    *, workspace: Workspace, items: list[tuple[Contact, str, dict[str, Any], str | None]]
) -> list[Event]:
    """Record platform events — (contact, name, properties, message id) — in one insert
    (`contacts.services.events_record`) and return them as the pipeline's processors see
    events: instances carrying the caller's contact (later processors read it, no query).
    A deterministic message id keeps it idempotent: a retry returns the first row's id."""
    if not items:
        return []
    now = timezone.now()
    message_ids = [message_id or f"tendril-{uuid.uuid4()}" for *_, message_id in items]
    ids = events_record(
        workspace=workspace,
        events=[
            NewEvent(contact.pk, name, properties, message_id, now)
            for (contact, name, properties, _), message_id in zip(items, message_ids, strict=True)
        ],
        received_at=now,
        existing=True,
    )
    return [
        Event(
            pk=pk,
            workspace=workspace,
            contact=contact,
            type=EventType.TRACK,
            name=name,
            properties=properties,
            context={},
            timestamp=now,
            received_at=now,
            message_id=message_id,
            source="platform",
        )
        for pk, (contact, name, properties, _), message_id in zip(
            ids, items, message_ids, strict=True
        )
    ]


def score_events_record(
    *,
    workspace: Workspace,
    outcomes: Iterable[Outcome],
    contacts: dict[int, Contact],
    seeds: dict[int, str] | None = None,
) -> list[Event]:
    """One `score.changed` per contact and model whose score moved. A seed (per contact)
    makes the message id deterministic, so a retried batch finds the first event."""
    items = []
    for outcome in outcomes:
        if outcome.after == outcome.before:
            continue
        seed = (seeds or {}).get(outcome.contact_id)
        items.append(
            (
                contacts[outcome.contact_id],
                SCORE_CHANGED,
                {
                    "model_id": outcome.model.pk,
                    "model": outcome.model.name,
                    "primary": outcome.model.is_primary,
                    "from": outcome.before,
                    "to": outcome.after,
                    "delta": outcome.delta,
                    "reasons": outcome.reasons[:MAX_REASONS],
                },
                f"{SCORE_CHANGED}:{outcome.model.pk}:{outcome.contact_id}:{seed}" if seed else None,
            )
        )
    return _platform_events_record(workspace=workspace, items=items)


def lifecycle_events_record(
    *,
    workspace: Workspace,
    transitions: Iterable[Transition],
    contacts: dict[int, Contact],
    actor: User | None = None,
    seeds: dict[int, str] | None = None,
) -> list[Event]:
    items = []
    for transition in transitions:
        seed = (seeds or {}).get(transition.contact_id)
        items.append(
            (
                contacts[transition.contact_id],
                LIFECYCLE_CHANGED,
                {
                    "from": transition.stage_from,
                    "to": transition.stage_to,
                    "reason": transition.reason,
                    "model_id": transition.model.pk if transition.model else None,
                    "actor_id": actor.pk if actor else None,
                },
                f"{LIFECYCLE_CHANGED}:{transition.contact_id}:{seed}" if seed else None,
            )
        )
    return _platform_events_record(workspace=workspace, items=items)


def transitions_follow_up(*, workspace: Workspace, transitions: Iterable[Transition]) -> None:
    """After commit: hand new MQLs to sales, and tell the CRM about every stage change."""
    from contacts.models import LifecycleStage

    from ..tasks import lead_handoff

    items = list(transitions)
    if not items:
        return
    for transition in items:
        if transition.stage_to == LifecycleStage.MQL:
            transaction.on_commit(partial(lead_handoff.delay, workspace.pk, transition.contact_id))
    from ..models import ScoringSettings

    crm_url = (
        ScoringSettings.objects.for_workspace(workspace)
        .exclude(crm_webhook_url="")
        .values_list("crm_webhook_url", flat=True)
        .first()
    )
    if not crm_url:
        return
    changes = [
        {
            "contact_id": t.contact_id,
            "from": t.stage_from,
            "to": t.stage_to,
            "reason": t.reason,
        }
        for t in items
    ]
    from .notify import crm_lifecycle_send

    crm_lifecycle_send(workspace=workspace, url=crm_url, changes=changes)


def stream_publish(
    *, workspace: Workspace, events: list[Event], changed: dict[int, set[str]] | None = None
) -> None:
    """Outside the pipeline: run the recorded events through it (after commit)."""
    fields: dict[int, Iterable[str]] = dict(changed or {})
    events_enqueue_processing(
        workspace=workspace, event_ids=[e.pk for e in events], changed_fields=fields
    )
