"""Privacy requests: export everything held about a contact, erase a contact.

Erasure deletes the contact with its events and messages (they cascade), removes its consent
log and topic choices, and keeps only what stops us from writing to the address again: its
suppressions, with the address blanked and only the hash kept (an unsubscribed contact's
address is added as such), and one log line saying an erasure happened, without the person.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.forms.models import model_to_dict

from contacts.models import ConsentStatus, Contact, Event
from workspaces.models import User, Workspace
from workspaces.services import audit_record

from .models import ConsentLog, Message, Suppression, TopicOptOut
from .models.audience import SuppressionReason, address_hash

EXPORT_VERSION = 1


def _json(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json(item) for item in value]
    return value


def contact_export(*, workspace: Workspace, contact: Contact) -> dict[str, Any]:
    """Everything Tendril holds about the contact, as JSON-ready data (GDPR art. 15 / 20)."""
    profile = model_to_dict(contact, exclude=["workspace", "owner"])
    profile.update(id=contact.pk, created_at=contact.created_at, updated_at=contact.updated_at)
    events = Event.objects.filter(workspace=workspace, contact=contact).order_by("timestamp", "pk")
    messages = (
        Message.objects.filter(workspace=workspace, contact=contact)
        .select_related("topic")
        .order_by("created_at", "pk")
    )
    hashes = [address_hash(a) for a in (contact.email, contact.phone) if a]
    return _json(
        {
            "export_version": EXPORT_VERSION,
            "workspace": workspace.name,
            "profile": profile,
            "events": [
                {
                    "type": e.type,
                    "name": e.name,
                    "properties": e.properties,
                    "context": e.context,
                    "timestamp": e.timestamp,
                    "source": e.source,
                }
                for e in events
            ],
            "messages": [
                {
                    "id": m.pk,
                    "channel": m.channel,
                    "subject": m.subject,
                    "to": m.to_address,
                    "status": m.status,
                    "topic": m.topic.name if m.topic else None,
                    "source": f"{m.source_type}:{m.source_id}",
                    "sent_at": m.sent_at,
                    "opened_at": m.opened_at,
                    "machine_opened_at": m.machine_opened_at,
                    "clicked_at": m.clicked_at,
                    "complained_at": m.complained_at,
                }
                for m in messages
            ],
            "consent_log": [
                {
                    "channel": c.channel,
                    "status": c.status,
                    "previous": c.previous,
                    "source": c.source,
                    "at": c.created_at,
                }
                for c in ConsentLog.objects.filter(workspace=workspace, contact=contact).order_by(
                    "created_at", "pk"
                )
            ],
            "topic_opt_outs": list(
                TopicOptOut.objects.filter(workspace=workspace, contact=contact).values_list(
                    "topic__name", flat=True
                )
            ),
            "suppressions": [
                {"channel": s.channel, "reason": s.reason, "since": s.created_at}
                for s in Suppression.objects.filter(
                    workspace=workspace, address_hash__in=hashes, active=True
                )
            ],
        }
    )


@dataclass
class ErasureReport:
    events: int
    messages: int
    consent_log: int
    suppressions_kept: int


@transaction.atomic
def contact_erase(
    *, workspace: Workspace, contact: Contact, actor: User | None = None
) -> ErasureReport:
    """Erase a contact (GDPR art. 17). Irreversible."""
    from contacts.services.contacts import contact_delete

    contact = Contact.objects.select_for_update().get(workspace=workspace, pk=contact.pk)
    kept = 0
    for channel, address, consent in (
        ("email", contact.email, contact.email_consent),
        ("sms", contact.phone, contact.sms_consent),
    ):
        if not address:
            continue
        digest = address_hash(address)
        if consent == ConsentStatus.UNSUBSCRIBED:
            Suppression.objects.get_or_create(
                workspace=workspace,
                channel=channel,
                address_hash=digest,
                defaults={"reason": SuppressionReason.UNSUBSCRIBED, "source": "erasure"},
            )
        kept += Suppression.objects.filter(
            workspace=workspace, channel=channel, address_hash=digest
        ).update(address="", detail="")
    events = Event.objects.filter(workspace=workspace, contact=contact).count()
    messages = Message.objects.filter(workspace=workspace, contact=contact).count()
    consent_log, _ = ConsentLog.objects.filter(workspace=workspace, contact=contact).delete()
    contact_id = contact.pk
    contact_delete(workspace=workspace, contact=contact)
    ConsentLog.objects.create(
        workspace=workspace,
        contact=None,
        address_hash="",
        channel="all",
        status="erased",
        source="erasure",
        detail={"contact_id": contact_id},
    )
    audit_record(
        workspace=workspace,
        actor=actor,
        action="contact.erased",
        target=f"contact #{contact_id}",
        events=events,
        messages=messages,
    )
    return ErasureReport(events, messages, consent_log, kept)
