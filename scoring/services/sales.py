"""What a sales rep (or a CRM, through the API) does with a lead.

Every action leaves a LeadActivity (the lead page's log) and goes into the event stream:
stage moves as `lifecycle.changed`, calls and notes as `lead.call_logged` / `lead.note_added`,
won deals as `deal.won` carrying the revenue. Each records and enqueues its own events.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from contacts.models import Contact, LifecycleStage
from contacts.services import event_record
from workspaces.errors import NotFound, ValidationFailed
from workspaces.models import User, Workspace

from ..models import Deal, LeadActivity
from .adjust import lifecycle_stage_set
from .handoff import lead_assign
from .stream import stream_publish

MAX_DEAL_VALUE = Decimal("999999999999.99")


def _own(workspace: Workspace, contact: Contact) -> None:
    if contact.workspace_id != workspace.pk:
        raise NotFound("No such contact.")


@transaction.atomic
def lead_accept(*, workspace: Workspace, contact: Contact, actor: User) -> bool:
    """Sales accepts the lead (→ SQL); an unowned lead becomes the accepting rep's."""
    _own(workspace, contact)
    changed = lifecycle_stage_set(
        workspace=workspace,
        contact=contact,
        stage=LifecycleStage.SQL,
        reason=f"Accepted by {actor}",
        actor=actor,
    )
    if contact.owner_id is None:
        lead_assign(workspace=workspace, contact=contact, owner=actor, actor=actor, notify=False)
    if changed:
        LeadActivity.objects.create(
            workspace=workspace, contact=contact, kind=LeadActivity.Kind.ACCEPTED, actor=actor
        )
    return changed


@transaction.atomic
def lead_disqualify(
    *, workspace: Workspace, contact: Contact, reason: str, actor: User | None
) -> bool:
    """Not a fit: out of the funnel (stage "other"); the score will not promote it again."""
    _own(workspace, contact)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why the lead is disqualified.", fields={"reason": "required"})
    changed = lifecycle_stage_set(
        workspace=workspace,
        contact=contact,
        stage=LifecycleStage.OTHER,
        reason=f"Disqualified: {reason}",
        actor=actor,
    )
    LeadActivity.objects.create(
        workspace=workspace,
        contact=contact,
        kind=LeadActivity.Kind.DISQUALIFIED,
        body=reason,
        actor=actor,
    )
    return changed


LOG_EVENTS: dict[str, str] = {
    LeadActivity.Kind.CALL: "lead.call_logged",
    LeadActivity.Kind.NOTE: "lead.note_added",
}


@transaction.atomic
def lead_activity_log(
    *, workspace: Workspace, contact: Contact, kind: str, body: str, actor: User | None
) -> LeadActivity:
    _own(workspace, contact)
    if kind not in LOG_EVENTS:
        raise ValidationFailed("Log a call or a note.", fields={"kind": "call or note"})
    body = (body or "").strip()
    if not body:
        raise ValidationFailed("Write what happened.", fields={"body": "required"})
    if len(body) > 5000:
        raise ValidationFailed("Keep it under 5000 characters.", fields={"body": "too long"})
    activity = LeadActivity.objects.create(
        workspace=workspace, contact=contact, kind=kind, body=body, actor=actor
    )
    event = event_record(
        workspace=workspace,
        contact=contact,
        name=LOG_EVENTS[kind],
        properties={"body": body[:500], "actor_id": actor.pk if actor else None},
    )
    stream_publish(workspace=workspace, events=[event])
    return activity


def _deal_value(raw: Any) -> Decimal:
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed("The deal value must be a number.", fields={"value": "a number"})
    if not value.is_finite() or value < 0 or value > MAX_DEAL_VALUE:
        raise ValidationFailed(
            "The deal value must be zero or more.", fields={"value": "zero or more"}
        )
    return value.quantize(Decimal("0.01"))


@transaction.atomic
def deal_record(
    *,
    workspace: Workspace,
    contact: Contact,
    value: Any,
    status: str = Deal.Status.WON,
    currency: str = "USD",
    name: str = "",
    external_id: str = "",
    actor: User | None = None,
) -> Deal:
    """Create (or, by `external_id`, update) a deal. A won deal records `deal.won` with its
    revenue and makes the contact a customer."""
    _own(workspace, contact)
    amount = _deal_value(value)
    if status not in Deal.Status.values:
        raise ValidationFailed(
            f"Unknown deal status '{status}'.", fields={"status": "open, won or lost"}
        )
    currency = (currency or "USD").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ValidationFailed("Currency is a 3-letter code.", fields={"currency": "e.g. USD"})
    deals = Deal.objects.for_workspace(workspace)
    deal = (
        deals.select_for_update().filter(external_id=external_id).first() if external_id else None
    )
    if deal is not None and deal.contact_id != contact.pk:
        raise ValidationFailed(
            "That external id belongs to another contact's deal.", fields={"external_id": "taken"}
        )
    was_won = deal is not None and deal.status == Deal.Status.WON
    deal = deal or Deal(
        workspace=workspace, contact=contact, external_id=external_id, created_by=actor
    )
    deal.value, deal.currency, deal.status = amount, currency, status
    deal.name = (name or deal.name or "").strip()[:200]
    deal.closed_at = timezone.now() if status != Deal.Status.OPEN else None
    deal.save()
    if status == Deal.Status.WON and not was_won:
        _deal_won(workspace, contact, deal, actor)
    return deal


def _deal_won(workspace: Workspace, contact: Contact, deal: Deal, actor: User | None) -> None:
    event = event_record(
        workspace=workspace,
        contact=contact,
        name="deal.won",
        properties={
            "revenue": float(deal.value),
            "value": str(deal.value),
            "currency": deal.currency,
            "deal_id": deal.pk,
            "name": deal.name,
        },
        message_id=f"deal.won:{deal.pk}",
    )
    stream_publish(workspace=workspace, events=[event])
    LeadActivity.objects.create(
        workspace=workspace,
        contact=contact,
        kind=LeadActivity.Kind.WON,
        body=f"Won {deal.value} {deal.currency}" + (f" — {deal.name}" if deal.name else ""),
        actor=actor,
    )
    lifecycle_stage_set(
        workspace=workspace,
        contact=contact,
        stage=LifecycleStage.CUSTOMER,
        reason=f"Deal won: {deal.value} {deal.currency}",
        actor=actor,
    )
