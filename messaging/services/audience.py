"""Consent, unsubscribes, topic preferences, suppressions and double opt-in.

A contact's consent changes only through contacts' `contact_set_consent` (messaging's own
changes go through `consent_change` below, which calls it). Contacts announces every change
on its `consent_changed` hook, whoever made it — identify traits, imports, API and UI edits,
forms, merges, unsubscribes — and `consent_log_record`, registered in MessagingConfig.ready(),
writes the ConsentLog row (who, what, when, from where). So nothing here logs a change itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from contacts.hooks import ConsentChange
from contacts.models import ConsentStatus, Contact
from contacts.services import contact_set_consent, event_record, events_enqueue_processing
from workspaces.errors import NotFound, ValidationFailed
from workspaces.models import Workspace

from ..models import ConsentLog, Message, Suppression, Topic, TopicOptOut
from ..models.audience import SuppressionReason, address_hash

CONSENT_CHANNELS = ("email", "sms")


@transaction.atomic
def consent_change(
    *,
    workspace: Workspace,
    contact: Contact,
    channel: str,
    status: str,
    source: str,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Set a contact's consent for a channel (logged through the consent_changed hook, with
    `detail`). Returns whether anything changed."""
    if contact.workspace_id != workspace.pk:
        raise NotFound("No such contact.")
    changed = contact_set_consent(
        contact=contact, channel=channel, status=status, source=source, detail=detail
    )
    return bool(changed)


def consent_log_record(changes: list[ConsentChange]) -> None:
    """The consent_changed listener: one ConsentLog row per change, in one INSERT, inside the
    transaction that made the changes (the log commits or rolls back with them)."""
    ConsentLog.objects.bulk_create(
        [
            ConsentLog(
                workspace_id=change.contact.workspace_id,
                contact_id=change.contact.pk,
                address_hash=address_hash(change.address) if change.address else "",
                channel=change.channel,
                status=change.status,
                previous=change.previous,
                source=change.source[:64],
                detail=change.detail,
            )
            for change in changes
        ]
    )


def _record(
    *, workspace: Workspace, contact: Contact, name: str, properties: dict[str, Any], key: str
) -> None:
    event = event_record(
        workspace=workspace, contact=contact, name=name, properties=properties, message_id=key
    )
    events_enqueue_processing(workspace=workspace, event_ids=[event.pk])


@transaction.atomic
def contact_unsubscribe(
    *,
    workspace: Workspace,
    contact: Contact,
    source: str,
    channel: str = "email",
    message: Message | None = None,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Stop all marketing on a channel for this contact, at once (one-click, STOP, prefs)."""
    changed = consent_change(
        workspace=workspace,
        contact=contact,
        channel=channel,
        status=ConsentStatus.UNSUBSCRIBED,
        source=source,
        detail=detail,
    )
    if changed:
        properties: dict[str, Any] = {"source": source}
        if message is not None:
            properties.update(message_id=message.pk, source_type=message.source_type)
            properties["source_id"] = message.source_id
            # what the messaging-over-time rollups group by (analytics/rollups.py)
            if message.source_owner:
                properties["source_owner"] = message.source_owner
            if message.variant_id:
                properties["variant_id"] = message.variant_id
            version = message.email_version_id and message.email_version
            if version:
                properties["template_id"] = version.template_id
        key = f"{channel}.unsubscribed:{contact.pk}:{message.pk if message else timezone.now().timestamp()}"
        _record(
            workspace=workspace,
            contact=contact,
            name=f"{channel}.unsubscribed",
            properties=properties,
            key=key,
        )
    return changed


@transaction.atomic
def contact_resubscribe(
    *, workspace: Workspace, contact: Contact, source: str, channel: str = "email"
) -> bool:
    changed = consent_change(
        workspace=workspace,
        contact=contact,
        channel=channel,
        status=ConsentStatus.SUBSCRIBED,
        source=source,
    )
    if changed:
        _record(
            workspace=workspace,
            contact=contact,
            name=f"{channel}.subscribed",
            properties={"source": source},
            key=f"{channel}.subscribed:{contact.pk}:{timezone.now().timestamp()}",
        )
    return changed


def topic_opt_out_ids(*, workspace: Workspace, contact: Contact) -> set[int]:
    return set(
        TopicOptOut.objects.filter(workspace=workspace, contact=contact).values_list(
            "topic_id", flat=True
        )
    )


@transaction.atomic
def topic_preferences_set(
    *, workspace: Workspace, contact: Contact, subscribed_topic_ids: Iterable[int], source: str
) -> None:
    """Keep the contact subscribed to exactly these topics (opt out of the others)."""
    topics = {t.pk: t for t in Topic.objects.filter(workspace=workspace)}
    wanted = {int(pk) for pk in subscribed_topic_ids} & set(topics)
    current_out = topic_opt_out_ids(workspace=workspace, contact=contact)
    now_out = set(topics) - wanted
    for topic_id in now_out - current_out:
        TopicOptOut.objects.create(workspace=workspace, contact=contact, topic_id=topic_id)
    TopicOptOut.objects.filter(
        workspace=workspace, contact=contact, topic_id__in=current_out - now_out
    ).delete()
    for topic_id in (now_out - current_out) | (current_out - now_out):
        ConsentLog.objects.create(
            workspace=workspace,
            contact=contact,
            address_hash=address_hash(contact.email) if contact.email else "",
            channel=f"topic:{topics[topic_id].key}",
            status="opted_out" if topic_id in now_out else "subscribed",
            previous="subscribed" if topic_id in now_out else "opted_out",
            source=source,
        )


# --- Suppressions ---------------------------------------------------------------------------


def _normalise(channel: str, address: str) -> str:
    address = address.strip()
    return address.lower() if channel == "email" else address


@transaction.atomic
def suppression_add(
    *,
    workspace: Workspace,
    channel: str,
    address: str,
    reason: str,
    detail: str = "",
    source: str = "",
) -> Suppression:
    address = _normalise(channel, address)
    if not address:
        raise ValidationFailed("address: required", fields={"address": "required"})
    if channel == "email" and "@" not in address:
        raise ValidationFailed(
            "address: not an email address", fields={"address": "not an email address"}
        )
    if reason not in SuppressionReason.values:
        raise ValidationFailed("reason: unknown reason", fields={"reason": "unknown"})
    suppression, created = Suppression.objects.get_or_create(
        workspace=workspace,
        channel=channel,
        address_hash=address_hash(address),
        defaults={
            "address": address,
            "reason": reason,
            "detail": detail[:500],
            "source": source[:40],
        },
    )
    if not created and (not suppression.active or suppression.reason != reason):
        suppression.active = True
        suppression.reason = reason
        suppression.detail = detail[:500] or suppression.detail
        suppression.save(update_fields=["active", "reason", "detail", "updated_at"])
    return suppression


@transaction.atomic
def suppression_record_soft_bounce(
    *, workspace: Workspace, address: str, detail: str = "", source: str = ""
) -> Suppression:
    """Count a soft bounce; the address is suppressed once it reaches the limit."""
    address = _normalise("email", address)
    suppression, created = Suppression.objects.get_or_create(
        workspace=workspace,
        channel="email",
        address_hash=address_hash(address),
        defaults={
            "address": address,
            "reason": SuppressionReason.SOFT_BOUNCE,
            "soft_bounce_count": 1,
            "active": settings.MESSAGING_SOFT_BOUNCE_LIMIT <= 1,
            "detail": detail[:500],
            "source": source[:40],
        },
    )
    if created:
        return suppression
    Suppression.objects.filter(pk=suppression.pk).update(
        soft_bounce_count=F("soft_bounce_count") + 1
    )
    suppression.refresh_from_db()
    if (
        not suppression.active
        and suppression.soft_bounce_count >= settings.MESSAGING_SOFT_BOUNCE_LIMIT
    ):
        suppression.active = True
        suppression.detail = detail[:500]
        suppression.save(update_fields=["active", "detail", "updated_at"])
    return suppression


def suppression_remove(*, workspace: Workspace, suppression: Suppression) -> None:
    if suppression.workspace_id != workspace.pk:
        raise ValidationFailed("not found")
    suppression.delete()


def form_consent_request(
    *, workspace: Workspace, contact: Contact, source: str, double_opt_in: bool
) -> None:
    """A form's consent box was ticked (contacts' email_consent_requested hook): subscribe,
    or ask for confirmation first under double opt-in."""
    if double_opt_in:
        double_opt_in_request(workspace=workspace, contact=contact, source=source)
    else:
        consent_change(
            workspace=workspace,
            contact=contact,
            channel="email",
            status=ConsentStatus.SUBSCRIBED,
            source=source,
        )


# --- Double opt-in ----------------------------------------------------------------------------


@transaction.atomic
def double_opt_in_request(*, workspace: Workspace, contact: Contact, source: str) -> bool:
    """Ask a contact to confirm their subscription by a signed link (forms with double opt-in).

    Consent becomes 'pending' (nothing marketing is sent to a pending contact) and a
    confirmation email goes out after commit. Returns False when there is nothing to do
    (no email, already subscribed).
    """
    if not contact.email or contact.email_consent == ConsentStatus.SUBSCRIBED:
        return False
    consent_change(
        workspace=workspace,
        contact=contact,
        channel="email",
        status=ConsentStatus.PENDING,
        source=source,
    )
    from ..tasks import double_opt_in_send

    transaction.on_commit(lambda: double_opt_in_send.delay(workspace.pk, contact.pk, source))
    return True


@transaction.atomic
def double_opt_in_confirm(*, workspace: Workspace, contact: Contact, source: str) -> bool:
    changed = consent_change(
        workspace=workspace,
        contact=contact,
        channel="email",
        status=ConsentStatus.SUBSCRIBED,
        source=f"double_opt_in:{source}"[:64],
    )
    if changed:
        _record(
            workspace=workspace,
            contact=contact,
            name="email.subscribed",
            properties={"source": source, "double_opt_in": True},
            key=f"email.confirmed:{contact.pk}:{timezone.now().timestamp()}",
        )
    return changed
