"""Sending messages (creating them is `enqueue.py`'s).

`messages_send` is what the send task runs for a batch of ids. Exactly once, or visibly
failed with a reason (docs/security.md "Faults: exactly once"):

1. Claim: queued → sending, in one statement under FOR UPDATE SKIP LOCKED, stamped with
   this task's `send_claim`. A row already 'sent' is never sent again (a retried task only
   finishes its bookkeeping); a row another task holds is skipped.
2. Hand over, one message at a time: one synchronous statement records the previous
   message as accepted (status 'sent', provider id) and stamps this one
   `provider_called_at` — only if the row still carries our claim — and only then is the
   provider called. A row whose claim was taken back (its task looked dead) is not sent.
3. Recovery (`dispatch.messages_recover`, every few seconds): a row in 'sending' never
   handed over is queued again; a row handed over whose task died before recording the
   provider's answer is failed with the reason "outcome unknown" — at most once at that
   one window per dead worker, because SMTP cannot be asked what it accepted.

Everything is re-checked at send time: consent, suppression, topic subscription, frequency
cap, quiet hours (deferred, not dropped), the workspace's rate limit.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from psycopg.types.json import Jsonb

from commerce import selectors as commerce_selectors
from config.faults import fault_point
from contacts.models import Contact
from contacts.services import NewEvent, event_record, events_enqueue_processing, events_record
from workspaces.errors import ValidationFailed
from workspaces.models import User, Workspace

from .. import ratelimit, segments_bridge, tokens
from ..channels import (
    BounceError,
    DeliveryError,
    OptedOutError,
    OutcomeUnknownError,
    PermanentError,
    TransientError,
    UnsupportedAddress,
)
from ..channels import email as email_channel
from ..channels import twilio as twilio_channel
from ..models import (
    Broadcast,
    BroadcastVariant,
    Channel,
    Message,
    MessageStatus,
    MessagingSettings,
    SmsTemplateVersion,
    SourceType,
    TemplateVersion,
)
from ..models.audience import SuppressionReason
from ..rendering import Renderer
from ..selectors import SendChecker, held_sources
from . import blocks
from .config import messaging_settings, sending_pause
from .deliverability import HOLD_ERROR, HOLD_PARKED, deliverability_check
from .enqueue import messages_enqueue_sending, template_resolve

logger = logging.getLogger(__name__)


def test_send(
    *,
    workspace: Workspace,
    template: Any,
    to: str,
    channel: str = Channel.EMAIL,
    contact: Contact | None = None,
    user: User | None = None,
) -> Message:
    """Send the current version to any address, personalised for `contact` (or a sample).

    Test sends skip consent and caps (the address is a teammate's, not a contact's) but
    still go through the whole pipeline: render, tracking links, headers, provider.
    """
    to = to.strip()
    if channel == Channel.EMAIL and "@" not in to:
        raise ValidationFailed("to: not an email address", fields={"to": "not an email address"})
    if channel != Channel.EMAIL and not to.startswith("+"):
        raise ValidationFailed("to: a phone number in +E.164 form", fields={"to": "invalid"})
    if contact is not None and contact.workspace_id != workspace.pk:
        raise ValidationFailed("contact: not in this workspace", fields={"contact": "unknown"})
    email_version, sms_version, topic = template_resolve(workspace, channel, template)
    with transaction.atomic():
        message = Message.objects.create(
            workspace=workspace,
            contact=contact,
            channel=channel,
            email_version=email_version,
            sms_version=sms_version,
            topic=topic,
            source_type=SourceType.TEST,
            source_id=f"{uuid.uuid4()}",
            to_address=to,
            meta={"by": user.email if user is not None else ""},
        )
        messages_enqueue_sending(workspace_id=workspace.pk, message_ids=[message.pk])
    return message


# --- Send -----------------------------------------------------------------------------------------


@dataclass
class SendOutcome:
    sent: int = 0
    skipped: int = 0
    deferred: int = 0
    failed: int = 0


CLAIM_SQL = """
WITH wanted AS (
    SELECT id, status FROM messaging_message
    WHERE workspace_id = %s AND id = ANY(%s) AND status IN ('queued', 'sent', 'delivered')
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE messaging_message AS m
    SET status = 'sending', attempts = m.attempts + 1, send_claim = %s::uuid,
        provider_called_at = NULL, updated_at = now()
    FROM wanted WHERE m.id = wanted.id AND wanted.status = 'queued'
    RETURNING m.id
)
SELECT id, true FROM claimed
UNION ALL
SELECT id, false FROM wanted WHERE status <> 'queued'
"""


def _claim(
    workspace: Workspace, message_ids: Iterable[int], claim: uuid.UUID
) -> tuple[list[int], list[int]]:
    """Claim the queued messages (queued → sending) in one statement; also return those the
    provider already has ('sent': a retried task whose bookkeeping must be finished)."""
    with connection.cursor() as cursor:
        cursor.execute(CLAIM_SQL, [workspace.pk, list(message_ids), str(claim)])
        rows = cursor.fetchall()
    return [pk for pk, claimed in rows if claimed], [pk for pk, claimed in rows if not claimed]


def _hold(ids: Sequence[int], until: datetime, reason: str = "") -> None:
    """Back to 'scheduled': the dispatcher re-queues them at `until`."""
    if ids:
        Message.objects.filter(pk__in=list(ids)).update(
            status=MessageStatus.SCHEDULED,
            send_after=until,
            error=reason,
            updated_at=timezone.now(),
        )


def messages_send(*, workspace: Workspace, message_ids: Sequence[int]) -> SendOutcome:
    outcome = SendOutcome()
    config = messaging_settings(workspace=workspace)
    claim = uuid.uuid4()
    claimed, already_sent = _claim(workspace, message_ids, claim)
    fault_point("send.after_claim")
    if already_sent:
        _finish_already_sent(workspace, already_sent)
    if not claimed:
        return outcome
    now = timezone.now()
    if config.sending_paused:
        _hold(claimed, now, "sending paused")
        outcome.deferred = len(claimed)
        return outcome
    try:
        messages = _load(claimed)
        holds = Holds(workspace)
        messages = holds.park(messages, outcome)
        ready = _apply_checks(workspace, config, messages, now, outcome)
        ready = _apply_rate_limit(workspace, ready, now, outcome)
        if ready:
            _deliver_all(workspace, config, ready, outcome, claim, holds)
    except SoftTimeLimitExceeded:
        # The task ran out of time: what went out is recorded (in _deliver_all), the rest
        # is queued again for another task — not retried here, which would only wait.
        outcome.deferred += len(messages_release(workspace=workspace, claim=claim))
        logger.warning("send batch of workspace %s hit its time limit", workspace.pk)
    return outcome


def messages_release(*, workspace: Workspace, claim: uuid.UUID | str | None = None) -> list[int]:
    """Queue again the rows this claim holds that were never handed to the provider."""
    from .enqueue import messages_enqueue_sending

    with connection.cursor() as cursor:
        cursor.execute(RELEASE_SQL, {"workspace": workspace.pk, "claim": str(claim)})
        ids = [row[0] for row in cursor.fetchall()]
    messages_enqueue_sending(workspace_id=workspace.pk, message_ids=ids)
    return ids


RELEASE_SQL = """
UPDATE messaging_message SET status = 'queued', send_claim = NULL, updated_at = now()
WHERE workspace_id = %(workspace)s AND send_claim = %(claim)s::uuid
  AND status = 'sending' AND provider_called_at IS NULL
RETURNING id
"""


class Holds:
    """The deliverability guard's held sources (messaging/services/deliverability.py), as a
    send batch sees them: read when the batch starts, again every HOLD_RECHECK seconds and
    after a bounce in the batch, so a source held meanwhile stops before its next provider
    call. Held messages are parked ('scheduled' far ahead) until a person resumes it."""

    RECHECK = 0.5

    def __init__(self, workspace: Workspace):
        self.workspace = workspace
        self.refresh()

    def refresh(self) -> None:
        self.keys = held_sources(workspace=self.workspace)
        self.read_at = time.monotonic()

    def held(self, message: Message) -> bool:
        if time.monotonic() - self.read_at > self.RECHECK:
            self.refresh()
        return bool(self.keys) and (message.source_type, message.source_owner) in self.keys

    def park(self, messages: list[Message], outcome: SendOutcome) -> list[Message]:
        held = [m.pk for m in messages if self.held(m)]
        if held:
            _hold(held, timezone.now() + HOLD_PARKED, HOLD_ERROR)
            outcome.deferred += len(held)
        return [m for m in messages if m.pk not in set(held)] if held else messages


def _load(ids: list[int]) -> list[Message]:
    """The claimed messages with their contacts. Template versions, broadcasts and variants
    are loaded once per batch and shared (a join would copy the same compiled HTML or
    broadcast into every row, and build a model object for each copy)."""
    messages = list(Message.objects.filter(pk__in=ids).select_related("contact").order_by("pk"))
    _share(messages, "email_version", TemplateVersion)
    _share(messages, "sms_version", SmsTemplateVersion)
    _share(messages, "broadcast", Broadcast)
    _share(messages, "variant", BroadcastVariant)
    return messages


def _share(messages: list[Message], field: str, model: Any) -> None:
    wanted = {getattr(m, f"{field}_id") for m in messages} - {None}
    found = model.objects.in_bulk(wanted) if wanted else {}
    for message in messages:
        related_id = getattr(message, f"{field}_id")
        if related_id is not None:
            setattr(message, field, found[related_id])


def _apply_checks(
    workspace: Workspace,
    config: MessagingSettings,
    messages: list[Message],
    now: datetime,
    outcome: SendOutcome,
) -> list[Message]:
    tests = [m for m in messages if m.source_type == SourceType.TEST]
    regular = [m for m in messages if m.source_type != SourceType.TEST and m.contact is not None]
    orphans = [m.pk for m in messages if m.source_type != SourceType.TEST and m.contact is None]
    if orphans:
        Message.objects.filter(pk__in=orphans).update(
            status=MessageStatus.SKIPPED, error="no_contact"
        )
    checker = SendChecker(workspace, config, now)
    decisions = checker.check_many(
        [(m.contact, m.channel, m.topic_id) for m in regular],  # type: ignore[misc]
        exclude_message_ids=[m.pk for m in regular],
    )
    ready = list(tests)
    by_outcome: dict[tuple[str, str], list[int]] = {}
    for message, decision in zip(regular, decisions, strict=True):
        if decision.allowed:
            ready.append(message)
        elif decision.defer_until is not None:
            _hold([message.pk], decision.defer_until, decision.reason)
            outcome.deferred += 1
        else:
            by_outcome.setdefault((decision.status, decision.reason), []).append(message.pk)
            outcome.skipped += 1
    for (status, reason), ids in by_outcome.items():
        Message.objects.filter(pk__in=ids).update(status=status, error=reason)
    return ready


def _apply_rate_limit(
    workspace: Workspace, ready: list[Message], now: datetime, outcome: SendOutcome
) -> list[Message]:
    window = settings.MESSAGING_WORKSPACE_RATE_WINDOW
    granted = ratelimit.acquire(
        f"ws:{workspace.pk}",
        len(ready),
        limit=settings.MESSAGING_WORKSPACE_RATE_LIMIT,
        window_seconds=window,
    )
    over = ready[granted:]
    if over:
        _hold([m.pk for m in over], now + timedelta(seconds=window), "rate_limited")
        outcome.deferred += len(over)
    return ready[:granted]


def _deliver_all(
    workspace: Workspace,
    config: MessagingSettings,
    ready: list[Message],
    outcome: SendOutcome,
    claim: uuid.UUID,
    holds: Holds,
) -> None:
    renderer = Renderer(workspace, config)
    renderer.recommendations = _recommendations(workspace, ready)
    segments = _segment_memberships(workspace, ready)
    seen_blocks = _visible_blocks(workspace, ready)
    sent: list[Message] = []
    parked: list[int] = []
    handover = Handover(claim)
    try:
        for index, message in enumerate(ready):
            if holds.held(message):
                parked.append(message.pk)  # its source was held since the batch began
                continue
            try:
                visible = segments.get(message.contact_id or 0, frozenset()) | seen_blocks.get(
                    (message.email_version_id or 0, message.contact_id or 0), frozenset()
                )
                call = _render(renderer, message, visible)
                if not handover.begin(message):
                    continue  # no longer ours: recovery queued it again for another task
                fault_point("send.before_provider_call")
                provider_id = call()
                fault_point("send.after_provider_call")
            except DeliveryError as error:
                handover.settled()
                outcome.failed += 1
                if _failed(workspace, message, error) and _burst_paused(workspace, error):
                    _hold([m.pk for m in ready[index + 1 :]], timezone.now(), "sending paused")
                    outcome.deferred += len(ready) - index - 1
                    break
                if isinstance(error, BounceError):
                    holds.refresh()  # the bounce may have held its source
                continue
            message.status, message.provider_message_id = MessageStatus.SENT, provider_id
            message.sent_at = timezone.now()
            handover.accepted(message)
            sent.append(message)
            outcome.sent += 1
    finally:
        # Also when something interrupts the loop (a time limit, a lost connection): what
        # the provider accepted is recorded as sent; a call cut short has an unknown outcome.
        handover.close()
        _record_sent(workspace, sent)
        if parked:
            _hold(parked, timezone.now() + HOLD_PARKED, HOLD_ERROR)
            outcome.deferred += len(parked)


class Handover:
    """The bookkeeping around provider calls of one claimed batch: one synchronous statement
    per message records the previous message as accepted and marks this one as handed over
    (if the row still carries the claim). A live batch also renews its claim on the rows it
    has not reached yet, so recovery does not queue them again while it works."""

    def __init__(self, claim: uuid.UUID):
        self.claim = str(claim)
        self.pending: Message | None = None  # accepted, not written yet
        self.calling: Message | None = None  # handed over, answer not known yet
        self.renewed = time.monotonic()

    def begin(self, message: Message) -> bool:
        accepted, self.pending = self.pending, None
        with connection.cursor() as cursor:
            cursor.execute(
                HANDOVER_SQL,
                {
                    "claim": self.claim,
                    "accepted": accepted.pk if accepted else None,
                    "provider_id": accepted.provider_message_id[:255] if accepted else "",
                    "sent_at": accepted.sent_at if accepted else None,
                    "calling": message.pk,
                    "to": message.to_address[:254],
                    "subject": message.subject[:300],
                    "domain": message.sending_domain[:255],
                    # an SMS's short links point into its meta: written before the call
                    "meta": Jsonb(message.meta) if message.meta.get("links") else None,
                },
            )
            mine = bool(cursor.fetchone()[0])
            if time.monotonic() - self.renewed > settings.MESSAGING_SEND_LEASE / 3:
                cursor.execute(RENEW_SQL, {"claim": self.claim})
                self.renewed = time.monotonic()
        self.calling = message if mine else None
        return mine

    def accepted(self, message: Message) -> None:
        self.calling, self.pending = None, message

    def settled(self) -> None:
        """The provider answered with an error (recorded by the caller); write what is pending."""
        self.calling = None
        self.flush()

    def flush(self) -> None:
        accepted, self.pending = self.pending, None
        if accepted is None:
            return
        Message.objects.filter(
            pk=accepted.pk, send_claim=self.claim, status=MessageStatus.SENDING
        ).update(
            status=MessageStatus.SENT,
            provider_message_id=accepted.provider_message_id[:255],
            sent_at=accepted.sent_at,
            error="",
            updated_at=timezone.now(),
        )

    def close(self) -> None:
        self.flush()
        if self.calling is not None:
            _set(self.calling, MessageStatus.FAILED, OUTCOME_UNKNOWN)
            self.calling = None


OUTCOME_UNKNOWN = (
    "outcome unknown: interrupted during the provider call (it may have been delivered); "
    "not resent, to avoid a duplicate"
)

HANDOVER_SQL = """
WITH accepted AS (
    UPDATE messaging_message SET status = 'sent', provider_message_id = %(provider_id)s,
        sent_at = %(sent_at)s, error = '', updated_at = now()
    WHERE id = %(accepted)s AND send_claim = %(claim)s::uuid AND status = 'sending'
), calling AS (
    UPDATE messaging_message SET provider_called_at = now(), to_address = %(to)s,
        subject = %(subject)s, sending_domain = %(domain)s, meta = COALESCE(%(meta)s::jsonb, meta), updated_at = now()
    WHERE id = %(calling)s AND send_claim = %(claim)s::uuid AND status = 'sending'
      AND provider_called_at IS NULL
    RETURNING id
)
SELECT count(*) FROM calling
"""

RENEW_SQL = """
UPDATE messaging_message SET updated_at = now()
WHERE send_claim = %(claim)s::uuid AND status = 'sending' AND provider_called_at IS NULL
"""


def _segment_memberships(
    workspace: Workspace, messages: list[Message]
) -> dict[int, frozenset[str]]:
    wanted: set[str] = set()
    for message in messages:
        version = message.email_version or message.sms_version
        wanted.update(version.segment_ids if version is not None else ())
    if not wanted:
        return {}
    return segments_bridge.memberships(
        workspace=workspace,
        segment_ids=sorted(wanted),
        contact_ids=[m.contact_id for m in messages if m.contact_id],
    )


def _recommendations(
    workspace: Workspace, messages: list[Message]
) -> dict[int, list[dict[str, Any]]]:
    """commerce's recommended products for the recipients whose email shows them (the
    products block, `{{ recommendations }}`): one bounded set of queries per batch."""
    wanted = [
        m.contact_id
        for m in messages
        if m.contact_id
        and m.email_version is not None
        and "recommendations" in (m.email_version.compiled_html + m.email_version.subject)
    ]
    if not wanted:
        return {}
    return commerce_selectors.recommendations_for_contacts(workspace=workspace, contact_ids=wanted)


def _visible_blocks(
    workspace: Workspace, messages: list[Message]
) -> dict[tuple[int, int], frozenset[str]]:
    """The dynamic blocks each recipient sees, {(version id, contact id): {"block:<id>"}}: per
    version in the batch, one query per condition over its recipients."""
    recipients: dict[int, list[int]] = {}
    versions: dict[int, TemplateVersion] = {}
    for message in messages:
        version = message.email_version
        if version is not None and version.block_conditions and message.contact_id:
            versions[version.pk] = version
            recipients.setdefault(version.pk, []).append(message.contact_id)
    found: dict[tuple[int, int], frozenset[str]] = {}
    for version_id, contact_ids in recipients.items():
        seen = blocks.visible_blocks(
            workspace=workspace,
            conditions=versions[version_id].block_conditions,
            contact_ids=contact_ids,
        )
        for contact_id, ids in seen.items():
            found[(version_id, contact_id)] = ids
    return found


def _render(
    renderer: Renderer, message: Message, segment_ids: frozenset[str] | None
) -> Callable[[], str]:
    """Render the message (setting its address and subject); return the provider call."""
    contact = message.contact
    try:
        if message.channel == Channel.EMAIL:
            assert message.email_version is not None
            to = message.to_address if message.source_type == SourceType.TEST else contact.email  # type: ignore[union-attr]
            subject = (
                message.variant.subject if message.variant and message.variant.subject else None
            )
            email = renderer.email(
                message,
                message.email_version,
                contact,
                segment_ids or frozenset(),
                subject=subject,
                to=to,
            )
            message.to_address, message.subject = to, str(email.subject)
            sender = message.email_version.from_email or renderer.config.sender_email
            message.sending_domain = sender.rpartition("@")[2].lower()
        else:
            assert message.sms_version is not None
            body = renderer.sms(message, message.sms_version, contact, segment_ids or frozenset())
            phone = message.to_address if message.source_type == SourceType.TEST else contact.phone  # type: ignore[union-attr]
            message.to_address = phone
    except DeliveryError:
        raise
    except Exception as error:  # a template that cannot render for this contact
        raise PermanentError(f"render failed: {type(error).__name__}: {error}")
    if message.channel == Channel.EMAIL:
        return lambda: email_channel.send(email)
    return lambda: _send_sms(renderer.config, message, body)


def _send_sms(config: MessagingSettings, message: Message, body: str) -> str:
    whatsapp = message.channel == Channel.WHATSAPP
    sender = config.whatsapp_sender if whatsapp else config.sms_sender
    granted = ratelimit.acquire(
        f"sms:{sender}",
        1,
        limit=settings.MESSAGING_SMS_SENDER_RATE_LIMIT,
        window_seconds=settings.MESSAGING_SMS_SENDER_RATE_WINDOW,
    )
    if not granted:
        raise TransientError("sender rate limit")
    prefix = "whatsapp:" if whatsapp else ""
    callback = f"{tokens.site()}/m/twilio/status/{message.workspace_id}/{message.pk}/"
    return twilio_channel.send(
        to=f"{prefix}{message.to_address}",
        from_=f"{prefix}{sender}" if sender else "",
        body=body,
        status_callback=callback,
    )


def _commit_without_waiting_for_disk(cursor: Any) -> None:
    """Timeline events of accepted messages (`email.sent`) commit without waiting for their
    WAL to reach the disk: an fsync per small transaction costs more than the work in it,
    and a retried task records them again (idempotent per message). The claim and the
    hand-over — what prevents duplicates — commit synchronously."""
    cursor.execute("SET LOCAL synchronous_commit = off")


def _failed(workspace: Workspace, message: Message, error: DeliveryError) -> int:
    """Record a failed attempt. Returns 1 if it counts towards the failure burst."""
    now = timezone.now()
    if isinstance(error, TransientError):
        if error.detail == "sender rate limit":
            _hold([message.pk], now + timedelta(seconds=1), "rate_limited")
            Message.objects.filter(pk=message.pk).update(attempts=F("attempts") - 1)
            return 0
        if message.attempts >= settings.MESSAGING_MAX_ATTEMPTS:
            _set(message, MessageStatus.FAILED, error.detail)
        else:
            backoff = min(15 * 4 ** (message.attempts - 1), 3600)
            _hold([message.pk], now + timedelta(seconds=backoff), error.detail)
        return 1
    if isinstance(error, OptedOutError):
        _set(message, MessageStatus.SUPPRESSED, error.detail)
        if message.contact is not None:
            from .audience import contact_unsubscribe

            contact_unsubscribe(
                workspace=workspace,
                contact=message.contact,
                source="provider_opt_out",
                channel="sms",
                message=message,
            )
        return 0
    if isinstance(error, BounceError):
        _bounced(workspace, message, error.detail)
        return 0
    if isinstance(error, OutcomeUnknownError):
        _set(message, MessageStatus.FAILED, error.detail)
        return 1
    _set(message, MessageStatus.FAILED, error.detail)
    if message.channel != Channel.EMAIL and message.contact is not None:
        _event(workspace, message, "sms.failed", {"error": error.detail})
    if isinstance(error, UnsupportedAddress):
        return 0  # ours, not the provider's: no reason to pause the workspace's sending
    return 0 if error.detail.startswith("render failed") else 1


def _set(message: Message, status: str, error: str) -> None:
    Message.objects.filter(pk=message.pk).update(
        status=status, error=error[:500], updated_at=timezone.now()
    )


def _bounced(workspace: Workspace, message: Message, detail: str) -> None:
    from .audience import suppression_add

    now = timezone.now()
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.BOUNCED,
        bounced_at=now,
        error=detail[:500],
        updated_at=now,
        meta={**message.meta, "bounce": "hard"},
    )
    if message.source_type == SourceType.TEST or not message.to_address:
        return
    if message.channel == Channel.EMAIL:
        deliverability_check(workspace=workspace, message=message)
    channel = "email" if message.channel == Channel.EMAIL else "sms"
    suppression_add(
        workspace=workspace,
        channel=channel,
        address=message.to_address,
        reason=SuppressionReason.HARD_BOUNCE if channel == "email" else SuppressionReason.INVALID,
        detail=detail,
        source="provider",
    )
    if message.contact is not None:
        name = "email.bounced" if channel == "email" else "sms.failed"
        _event(workspace, message, name, {"bounce": "hard", "detail": detail[:200]})


def _burst_paused(workspace: Workspace, error: DeliveryError) -> bool:
    if not ratelimit.failure_burst_reached(workspace.pk):
        return False
    sending_pause(
        workspace=workspace,
        reason=(
            f"Paused automatically after {settings.MESSAGING_PAUSE_AFTER_FAILURES} delivery "
            f"failures in {settings.MESSAGING_PAUSE_WINDOW}s. Last error: {error.detail}"
        )[:300],
    )
    return True


def _event(workspace: Workspace, message: Message, name: str, extra: dict[str, Any]) -> None:
    event = event_record(
        workspace=workspace,
        contact=message.contact,  # type: ignore[arg-type]
        name=name,
        properties={**message_properties(message), **extra},
        message_id=f"msg-{message.pk}-{name}",
    )
    events_enqueue_processing(workspace=workspace, event_ids=[event.pk])


def message_properties(message: Message) -> dict[str, Any]:
    props: dict[str, Any] = {
        "message_id": message.pk,
        "channel": message.channel,
        "source_type": message.source_type,
        "source_id": message.source_id,
    }
    if message.broadcast_id:
        props["broadcast_id"] = message.broadcast_id
    if message.variant_id:
        props["variant_id"] = message.variant_id
    if message.source_owner:
        props["source_owner"] = message.source_owner
    if message.email_version_id:
        props["template_id"] = message.email_version.template_id  # type: ignore[union-attr]
        props["template_version"] = message.email_version.number  # type: ignore[union-attr]
    if message.sms_version_id:
        props["template_id"] = message.sms_version.template_id  # type: ignore[union-attr]
    if message.topic_id:
        props["topic_id"] = message.topic_id
    if message.subject:
        props["subject"] = message.subject
    return props


def _record_sent(workspace: Workspace, messages: list[Message]) -> None:
    """`email.sent` / `sms.sent` on each contact's timeline (idempotent per message)."""
    events = [
        NewEvent(
            contact_id=message.contact_id,
            name="email.sent" if message.channel == Channel.EMAIL else "sms.sent",
            properties=message_properties(message),
            message_id=f"msg-{message.pk}-sent",
            timestamp=message.sent_at,
        )
        for message in messages
        if message.contact_id is not None and message.source_type != SourceType.TEST
    ]
    if not events:
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            _commit_without_waiting_for_disk(cursor)
        # existing=True: a retried batch finds the events it recorded the first time and
        # hands them to the pipeline again.
        ids = events_record(workspace=workspace, events=events, existing=True)
        events_enqueue_processing(workspace=workspace, event_ids=[pk for pk in ids if pk])


def _finish_already_sent(workspace: Workspace, message_ids: Sequence[int]) -> None:
    """A retried task whose messages went out before it failed: finish their bookkeeping."""
    done = list(
        Message.objects.filter(workspace=workspace, pk__in=list(message_ids))
        .exclude(source_type=SourceType.TEST)
        .select_related("contact", "email_version", "sms_version")
    )
    if done:
        _record_sent(workspace, done)
