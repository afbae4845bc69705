"""What scoring says into the event stream: `score.changed` and `lifecycle.changed`.

These functions only record events and return them. Inside the pipeline the processor
passes them to `batch.add_events`; outside it the public services follow them with
`events_enqueue_processing` (see `stream_publish`).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from contacts.models import Contact, Event
from contacts.services import event_record, events_enqueue_processing
from workspaces.models import User, Workspace

from .engine import Outcome, Transition

SCORE_CHANGED = "score.changed"
LIFECYCLE_CHANGED = "lifecycle.changed"
MAX_REASONS = 10


def score_events_record(
    *,
    workspace: Workspace,
    outcomes: Iterable[Outcome],
    contacts: dict[int, Contact],
    seeds: dict[int, str] | None = None,
) -> list[Event]:
    """One `score.changed` per contact and model whose score moved. A seed (per contact)
    makes the message id deterministic, so a retried batch finds the first event."""
    events = []
    for outcome in outcomes:
        if outcome.after == outcome.before:
            continue
        seed = (seeds or {}).get(outcome.contact_id)
        events.append(
            event_record(
                workspace=workspace,
                contact=contacts[outcome.contact_id],
                name=SCORE_CHANGED,
                properties={
                    "model_id": outcome.model.pk,
                    "model": outcome.model.name,
                    "primary": outcome.model.is_primary,
                    "from": outcome.before,
                    "to": outcome.after,
                    "delta": outcome.delta,
                    "reasons": outcome.reasons[:MAX_REASONS],
                },
                message_id=f"score.changed:{outcome.model.pk}:{outcome.contact_id}:{seed}"
                if seed
                else None,
            )
        )
    return events


def lifecycle_events_record(
    *,
    workspace: Workspace,
    transitions: Iterable[Transition],
    contacts: dict[int, Contact],
    actor: User | None = None,
    seeds: dict[int, str] | None = None,
) -> list[Event]:
    events = []
    for transition in transitions:
        seed = (seeds or {}).get(transition.contact_id)
        events.append(
            event_record(
                workspace=workspace,
                contact=contacts[transition.contact_id],
                name=LIFECYCLE_CHANGED,
                properties={
                    "from": transition.stage_from,
                    "to": transition.stage_to,
                    "reason": transition.reason,
                    "model_id": transition.model.pk if transition.model else None,
                    "actor_id": actor.pk if actor else None,
                },
                message_id=f"lifecycle.changed:{transition.contact_id}:{seed}" if seed else None,
            )
        )
    return events


def transitions_follow_up(*, workspace: Workspace, transitions: Iterable[Transition]) -> None:
    """After commit: hand new MQLs to sales, and tell the CRM about every stage change."""
    from contacts.models import LifecycleStage

    from ..tasks import crm_lifecycle_notify, lead_handoff

    items = list(transitions)
    if not items:
        return
    for transition in items:
        if transition.stage_to == LifecycleStage.MQL:
            contact_id = transition.contact_id
            transaction.on_commit(
                lambda contact_id=contact_id: lead_handoff.delay(workspace.pk, contact_id)
            )
    from ..models import ScoringSettings

    has_crm = ScoringSettings.objects.for_workspace(workspace).exclude(crm_webhook_url="").exists()
    if not has_crm:
        return
    payload = [
        {
            "contact_id": t.contact_id,
            "from": t.stage_from,
            "to": t.stage_to,
            "reason": t.reason,
        }
        for t in items
    ]
    transaction.on_commit(lambda: crm_lifecycle_notify.delay(workspace.pk, payload))


def stream_publish(
    *, workspace: Workspace, events: list[Event], changed: dict[int, set[str]] | None = None
) -> None:
    """Outside the pipeline: run the recorded events through it (after commit)."""
    events_enqueue_processing(
        workspace=workspace, event_ids=[e.pk for e in events], changed_fields=changed or {}
    )
