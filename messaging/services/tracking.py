"""Engagement and delivery feedback: open pixel, click redirects, ESP webhooks (through
django-anymail's `tracking` signal) and Twilio status callbacks. Each lands on the Message
and as an event on the contact's timeline (email.opened, email.clicked, email.bounced …)."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from contacts.services import event_record, events_enqueue_processing
from workspaces.scoping import dangerously_all_workspaces, in_workspace

from .. import tokens
from ..machine import Hit, click_burst, machine_reason
from ..models import Message, MessageStatus, SourceType
from ..models.audience import SuppressionReason
from ..tokens import MessageRef
from .deliverability import deliverability_check
from .sending import message_properties

logger = logging.getLogger(__name__)


def _message(ref: MessageRef) -> Message | None:
    return (
        Message.objects.filter(workspace_id=ref.workspace_id, pk=ref.message_id)
        .select_related("workspace", "contact", "email_version", "sms_version")
        .first()
    )


def _tracked(message: Message | None) -> bool:
    return (
        message is not None
        and message.contact is not None
        and message.source_type != SourceType.TEST
    )


def _emit(
    message: Message, name: str, key: str, extra: dict[str, Any], at: datetime | None = None
) -> None:
    event = event_record(
        workspace=message.workspace,
        contact=message.contact,  # type: ignore[arg-type]
        name=name,
        properties={**message_properties(message), **extra},
        message_id=key,
        timestamp=at,
    )
    events_enqueue_processing(workspace=message.workspace, event_ids=[event.pk])


@transaction.atomic
def message_opened(
    *,
    ref: MessageRef,
    user_agent: str = "",
    at: datetime | None = None,
    ip: str = "",
    method: str = "GET",
) -> bool:
    """The first human open of a message becomes `email.opened` (later opens change nothing);
    a machine's (messaging/machine.py) sets `machine_opened_at` and becomes
    `email.machine_opened` instead. True when this was the message's first human open."""
    message = _message(ref)
    if not _tracked(message):
        return False
    assert message is not None
    return _open(message, Hit(user_agent=user_agent, ip=ip, method=method, at=at or timezone.now()))


def _open(message: Message, hit: Hit, reason: str | None = None) -> bool:
    """Record an open; `reason` given: the caller already judged the hit (a click's)."""
    assert hit.at is not None
    if reason is None:
        reason = machine_reason(hit, sent_at=message.sent_at, delivered_at=message.delivered_at)
    if reason:
        machine = Message.objects.filter(pk=message.pk, machine_opened_at__isnull=True).update(
            machine_opened_at=hit.at
        )
        if machine:
            _emit(
                message,
                "email.machine_opened",
                f"msg-{message.pk}-machine-opened",
                {"reason": reason, "user_agent": hit.user_agent[:200]},
                hit.at,
            )
        return False
    first = Message.objects.filter(pk=message.pk, opened_at__isnull=True).update(opened_at=hit.at)
    if first:
        _emit(
            message,
            "email.opened",
            f"msg-{message.pk}-opened",
            {"user_agent": hit.user_agent[:200]},
            hit.at,
        )
    return bool(first)


CLICKS_KEPT = 10  # the last clicks of a message kept in its meta, to see a burst


@transaction.atomic
def message_clicked(
    *,
    ref: MessageRef,
    url: str,
    user_agent: str = "",
    at: datetime | None = None,
    ip: str = "",
    method: str = "GET",
) -> bool:
    """A person's click (each distinct URL once per message) becomes `email.clicked` — the
    message's first one with `first: true` — and implies an open. A machine's (a scanner:
    its agent, a HEAD, within seconds of delivery, or another link of the message clicked
    within MESSAGING_MACHINE_CLICK_BURST_SECONDS) becomes `email.machine_clicked`; when a
    burst shows that the message's first click was a scanner's too, that click is taken
    back (clicked_at cleared, `email.machine_clicked` with `retracts_click: true`)."""
    message = _message(ref)
    if not _tracked(message):
        return False
    assert message is not None
    at = at or timezone.now()
    digest = hashlib.sha1(url.encode(), usedforsecurity=False).hexdigest()[:16]
    hit = Hit(user_agent=user_agent, ip=ip, method=method, at=at)
    meta = (
        Message.objects.select_for_update().filter(pk=message.pk).values_list("meta", flat=True)
    ).first() or {}
    earlier = [(str(key), float(when)) for key, when in meta.get("clicks", [])]
    # Mail gateways scan at delivery; a text message's link is not scanned then, so the
    # time rule is email's only (agents, HEAD and bursts hold for both).
    email = message.channel == "email"
    reason = machine_reason(
        hit,
        sent_at=message.sent_at if email else None,
        delivered_at=message.delivered_at if email else None,
    )
    burst = not reason and click_burst(earlier, digest, at.timestamp())
    clicks = [*earlier, (digest, at.timestamp())][-CLICKS_KEPT:]
    Message.objects.filter(pk=message.pk).update(
        meta={**meta, "clicks": clicks, **({"machine_clicks": True} if reason or burst else {})}
    )
    if reason or burst:
        _machine_click(message, url, reason or "click_burst", at, earlier if burst else [])
        if message.channel == "email":
            _open(message, hit, reason or "click_burst")
        return False
    first = Message.objects.filter(pk=message.pk, clicked_at__isnull=True).update(clicked_at=at)
    if message.channel == "email":
        _open(message, hit, "")
    name = "email.clicked" if message.channel == "email" else "sms.clicked"
    props = {"url": url[:2000], **({"first": True} if first else {})}
    _emit(message, name, f"msg-{message.pk}-clicked-{digest}", props, at)
    return True


def _machine_click(
    message: Message, url: str, reason: str, at: datetime, burst: list[tuple[str, float]]
) -> None:
    name = "email.machine_clicked" if message.channel == "email" else "sms.machine_clicked"
    _emit(
        message,
        name,
        f"msg-{message.pk}-machine-clicked",
        {"reason": reason, "url": url[:2000]},
        at,
    )
    if not burst:
        return
    # The burst's first click was counted as the person's: take it back when the message's
    # first click (clicked_at) falls inside the burst.
    since = at - timedelta(seconds=settings.MESSAGING_MACHINE_CLICK_BURST_SECONDS)
    taken = Message.objects.filter(pk=message.pk, clicked_at__gte=since, clicked_at__lte=at).update(
        clicked_at=None
    )
    if taken:
        _emit(
            message,
            name,
            f"msg-{message.pk}-click-retracted",
            {"reason": "click_burst", "retracts_click": True},
            at,
        )


def short_link_target(ref: MessageRef, index: int) -> str | None:
    """The URL behind an SMS's short link: its position in the links kept on the message."""
    meta = (
        Message.objects.filter(workspace_id=ref.workspace_id, pk=ref.message_id)
        .values_list("meta", flat=True)
        .first()
    )
    links = (meta or {}).get("links") or []
    return links[index] if 0 <= index < len(links) and isinstance(links[index], str) else None


# --- ESP webhooks (anymail) ---------------------------------------------------------------------


SOFT_TYPES = {"SoftBounce", "Transient", "DnsError", "soft", "temporary"}


def _is_soft(event: Any) -> bool:
    raw = event.esp_event if isinstance(event.esp_event, dict) else {}
    ses = raw.get("bounce")
    if isinstance(ses, dict) and "bounceType" in ses:
        # Amazon SES: only a Permanent bounce is hard (Transient, Undetermined are not).
        return ses["bounceType"] != "Permanent"
    kind = str(raw.get("Type") or raw.get("type") or raw.get("severity") or "")
    if kind in SOFT_TYPES:
        return True
    response = (event.mta_response or "").strip()
    return response[:1] == "4" or "soft" in (event.description or "").lower()


def esp_message_ref(event: Any, *, workspace_id: int | None = None) -> MessageRef | None:
    """The message a (verified) ESP event is about: by the signed reference we gave the ESP,
    else by the ESP's own message id. A reference that does not verify names nothing — it
    is forged or altered, and falling back to the id would let it through. An event that
    came through a workspace's own webhook address (`workspace_id`) names only its messages."""
    metadata = event.metadata if isinstance(event.metadata, dict) else {}
    reference = metadata.get("tendril_message")
    if reference:
        try:
            ref = tokens.esp_reference_read(str(reference))
        except tokens.BadToken:
            logger.warning("ESP event with an invalid message reference %r", str(reference)[:80])
            return None
        if workspace_id is not None and ref.workspace_id != workspace_id:
            logger.warning("ESP event for workspace %s at another's address", ref.workspace_id)
            return None
        return ref
    if event.message_id and isinstance(event.message_id, str):
        # One webhook batch at the shared address may carry several workspaces' events: the
        # ESP's id names the message, and so its workspace.
        with dangerously_all_workspaces(reason="find the message an ESP's message id names"):
            found = Message.objects.filter(provider_message_id=event.message_id)
            if workspace_id is not None:
                found = found.filter(workspace_id=workspace_id)
            row = found.values_list("workspace_id", "pk").first()
        return MessageRef(*row) if row else None
    return None


def esp_event_apply(event: Any, *, esp_name: str = "", workspace_id: int | None = None) -> str:
    """Apply one anymail AnymailTrackingEvent, in the scope of the workspace its message
    belongs to. Returns what was done (for logs and tests). `workspace_id`: the event came
    through that workspace's webhook address."""
    ref = esp_message_ref(event, workspace_id=workspace_id)
    if ref is None:
        return "unknown message"
    return in_workspace(ref.workspace_id, _esp_event_apply, ref, event, esp_name) or (
        "unknown message"  # its workspace is gone
    )


@transaction.atomic
def _esp_event_apply(_: Any, ref: MessageRef, event: Any, esp_name: str) -> str:
    message = _message(ref)
    if message is None:
        return "unknown message"
    at = event.timestamp or timezone.now()
    kind = event.event_type
    if kind == "delivered":
        Message.objects.filter(pk=message.pk, status=MessageStatus.SENT).update(
            status=MessageStatus.DELIVERED, delivered_at=at
        )
        if _tracked(message):
            _emit(message, "email.delivered", f"msg-{message.pk}-delivered", {"esp": esp_name}, at)
        return "delivered"
    if kind == "opened":
        hit = Hit(user_agent=event.user_agent or "", at=at)
        return "opened" if _tracked(message) and _open(message, hit) else "ignored"
    if kind == "clicked":
        url = event.click_url or ""
        if _tracked(message) and url:
            message_clicked(
                ref=MessageRef(message.workspace_id, message.pk),
                url=url,
                user_agent=event.user_agent or "",
                at=at,
            )
            return "clicked"
        return "ignored"
    if kind == "bounced" or (kind == "rejected" and event.reject_reason in ("invalid", "bounced")):
        return _esp_bounce(message, event, at)
    if kind == "complained" or (kind == "rejected" and event.reject_reason == "spam"):
        return _esp_complaint(message, at)
    if kind == "unsubscribed":
        if _tracked(message):
            from .audience import contact_unsubscribe

            assert message.contact is not None
            contact_unsubscribe(
                workspace=message.workspace,
                contact=message.contact,
                source=f"esp:{esp_name}"[:64],
                message=message,
            )
        return "unsubscribed"
    if kind in ("failed", "rejected"):
        Message.objects.filter(pk=message.pk).update(
            status=MessageStatus.FAILED,
            error=(event.description or event.mta_response or kind)[:500],
        )
        return "failed"
    return "ignored"


def _esp_bounce(message: Message, event: Any, at: datetime) -> str:
    from .audience import suppression_add, suppression_record_soft_bounce

    soft = _is_soft(event)
    before = message.meta.get("bounce") if message.status == MessageStatus.BOUNCED else None
    if before == "hard" or (before == "soft" and soft):
        return "already bounced"  # a replayed webhook must not count a bounce twice
    detail = str(event.mta_response or event.description or "")[:500]
    # The message's own recipient: an event's `recipient` field could name anyone.
    address = message.to_address
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.BOUNCED,
        bounced_at=at,
        error=detail,
        meta={**message.meta, "bounce": "soft" if soft else "hard"},
    )
    if message.source_type != SourceType.TEST and address:
        if soft:
            suppression_record_soft_bounce(
                workspace=message.workspace, address=address, detail=detail, source="esp"
            )
        else:
            suppression_add(
                workspace=message.workspace,
                channel="email",
                address=address,
                reason=SuppressionReason.HARD_BOUNCE,
                detail=detail,
                source="esp",
            )
    if _tracked(message):
        _emit(
            message,
            "email.bounced",
            f"msg-{message.pk}-bounced",
            {"bounce": "soft" if soft else "hard", "detail": detail[:200]},
            at,
        )
    if not soft:
        message.meta = {**message.meta, "bounce": "hard"}
        message.status = MessageStatus.BOUNCED
        transaction.on_commit(lambda: _guard(message))
    return "soft bounce" if soft else "hard bounce"


def _guard(message: Message) -> None:
    """After the bounce or complaint is committed (the guard counts committed rows)."""
    in_workspace(
        message.workspace_id,
        lambda workspace: deliverability_check(workspace=workspace, message=message),
    )


def _esp_complaint(message: Message, at: datetime) -> str:
    from .audience import contact_unsubscribe, suppression_add

    if Message.objects.filter(pk=message.pk, complained_at__isnull=True).update(complained_at=at):
        transaction.on_commit(lambda: _guard(message))
    if message.to_address and message.source_type != SourceType.TEST:
        suppression_add(
            workspace=message.workspace,
            channel="email",
            address=message.to_address,
            reason=SuppressionReason.COMPLAINT,
            detail="spam complaint",
            source="esp",
        )
    if _tracked(message):
        _emit(message, "email.complained", f"msg-{message.pk}-complained", {}, at)
        assert message.contact is not None
        contact_unsubscribe(
            workspace=message.workspace,
            contact=message.contact,
            source="complaint",
            message=message,
        )
    return "complaint"


# --- Twilio status callbacks -------------------------------------------------------------------

TWILIO_STATUS = {
    "delivered": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.FAILED,
    "failed": MessageStatus.FAILED,
}


@transaction.atomic
def sms_status_apply(*, ref: MessageRef, sid: str, status: str, error_code: str = "") -> str:
    message = _message(ref)
    if message is None or (
        message.provider_message_id and sid and message.provider_message_id != sid
    ):
        return "unknown message"
    new_status = TWILIO_STATUS.get(status)
    if new_status is None:
        return "ignored"
    now = timezone.now()
    if new_status == MessageStatus.DELIVERED:
        Message.objects.filter(pk=message.pk, status=MessageStatus.SENT).update(
            status=new_status, delivered_at=now
        )
        if _tracked(message):
            _emit(message, "sms.delivered", f"msg-{message.pk}-delivered", {}, now)
        return "delivered"
    Message.objects.filter(pk=message.pk).update(
        status=new_status, error=f"Twilio {status} {error_code}".strip()
    )
    if _tracked(message):
        _emit(
            message, "sms.failed", f"msg-{message.pk}-sms.failed", {"error_code": error_code}, now
        )
    return status
