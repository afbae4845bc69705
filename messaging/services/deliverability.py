"""The deliverability guard: a broadcast or workflow whose complaint or hard-bounce rate goes
red stops sending, its workspace's owners are told, and a person resumes it.

Evaluated from the paths that record bounces and complaints (`deliverability_check`: one
indexed count of the source's messages, at most once per MESSAGING_GUARD_MIN_INTERVAL per
source) and by the beat sweep (`deliverability_sweep`, every workspace's sources in one
query each), which catches what the interval skipped. Thresholds and window: settings
MESSAGING_GUARD_* and docs/deliverability.md.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from workspaces.errors import NotFound
from workspaces.models import Membership, User, Workspace
from workspaces.roles import Role
from workspaces.services import audit_record

from .. import selectors
from ..models import Message, MessageStatus, SendingHold, SourceType
from .enqueue import messages_enqueue_sending

logger = logging.getLogger(__name__)

GUARDED_SOURCES = (SourceType.BROADCAST, SourceType.WORKFLOW)
HOLD_ERROR = "deliverability_hold"
# A held message waits as 'scheduled' this far ahead: the dispatcher leaves it alone until a
# person resumes its source (which makes it due at once).
HOLD_PARKED = timedelta(days=3650)


def deliverability_check(*, workspace: Workspace, message: Message) -> SendingHold | None:
    """After a bounce or a complaint on `message`: is its source now red? Cheap: at most one
    evaluation per source per MESSAGING_GUARD_MIN_INTERVAL seconds (the sweep catches the
    rest)."""
    if message.source_type not in GUARDED_SOURCES or not message.source_owner:
        return None
    interval = settings.MESSAGING_GUARD_MIN_INTERVAL
    key = f"guard:{workspace.pk}:{message.source_type}:{message.source_owner}"
    if interval and not cache.add(key, 1, timeout=interval):
        return None
    return source_guard(
        workspace=workspace, source_type=message.source_type, owner=message.source_owner
    )


def source_guard(
    *, workspace: Workspace, source_type: str, owner: str, now: datetime | None = None
) -> SendingHold | None:
    """Hold the source if its rates are red (its active hold if it already has one). After a
    person resumed it, only the messages handed over since then are judged."""
    holds = SendingHold.objects.filter(
        workspace=workspace, source_type=source_type, source_owner=owner
    )
    active = holds.filter(released_at__isnull=True).first()
    if active is not None:
        return active
    since = selectors.guard_since(now)
    resumed = holds.aggregate(last=Max("released_at"))["last"]
    if resumed is not None and resumed > since:
        since = resumed
    health = selectors.source_health(
        workspace=workspace, source_type=source_type, owner=owner, since=since
    )
    return _hold(workspace, health) if health.level == "red" else None


def deliverability_sweep(*, workspace: Workspace, now: datetime | None = None) -> int:
    """Evaluate every broadcast and workflow that sent in the window; returns holds made."""
    health = selectors.deliverability_health(workspace=workspace, now=now)
    made = 0
    for row in health["broadcast"] + health["workflow"]:
        if row.level != "red":
            continue
        held = SendingHold.objects.filter(
            workspace=workspace,
            source_type=row.scope,
            source_owner=row.key,
            released_at__isnull=True,
        ).exists()
        if not held and source_guard(
            workspace=workspace, source_type=row.scope, owner=row.key, now=now
        ):
            made += 1
    return made


def _hold(workspace: Workspace, health: selectors.Health) -> SendingHold:
    reason = f"Paused by the deliverability guard: {health.reason()}"[:300]
    try:
        with transaction.atomic():
            hold = SendingHold.objects.create(
                workspace=workspace,
                source_type=health.scope,
                source_owner=health.key,
                reason=reason,
                complaint_rate=health.complaint_rate,
                hard_bounce_rate=health.hard_bounce_rate,
                volume=health.volume,
            )
    except IntegrityError:  # another worker held it first
        return SendingHold.objects.get(
            workspace=workspace,
            source_type=health.scope,
            source_owner=health.key,
            released_at__isnull=True,
        )
    logger.warning(
        "workspace %s: %s %s held: %s", workspace.pk, hold.source_type, hold.source_owner, reason
    )
    audit_record(
        workspace=workspace,
        actor=None,
        action="messaging.sending_held",
        target=f"{hold.source_type}:{hold.source_owner}",
        reason=reason,
    )
    _notify_owners(workspace, hold)
    return hold


def _notify_owners(workspace: Workspace, hold: SendingHold) -> None:
    """The in-app notification (bell) for each owner, emailed too when the workspace has
    notification emails on (scoring's notifications)."""
    from scoring.services import notification_create

    name = selectors.source_names(
        workspace=workspace, keys=[(hold.source_type, hold.source_owner)]
    ).get((hold.source_type, hold.source_owner), hold.source_owner)
    owners = User.objects.filter(
        pk__in=Membership.objects.filter(workspace=workspace, role=Role.OWNER).values("user_id")
    )
    for user in owners:
        notification_create(
            workspace=workspace,
            user=user,
            kind="deliverability.held",
            title=f"Sending paused: {hold.get_source_type_display()} “{name}”",
            body=f"{hold.reason}. Review it and resume sending when the cause is fixed.",
            url=reverse("messaging:deliverability"),
        )


@transaction.atomic
def sending_hold_release(*, workspace: Workspace, hold_id: int, user: User | None) -> SendingHold:
    """A person resumes a held source: its parked messages are queued again (sent after
    commit), and the guard judges it afresh from here on."""
    hold = (
        SendingHold.objects.select_for_update()
        .filter(workspace=workspace, pk=hold_id, released_at__isnull=True)
        .first()
    )
    if hold is None:
        raise NotFound("No such sending hold (it may have been resumed already).")
    now = timezone.now()
    hold.released_at, hold.released_by = now, user
    hold.save(update_fields=["released_at", "released_by", "updated_at"])
    parked = list(
        Message.objects.filter(
            workspace=workspace,
            source_type=hold.source_type,
            source_owner=hold.source_owner,
            status=MessageStatus.SCHEDULED,
            error=HOLD_ERROR,
        ).values_list("pk", flat=True)
    )
    if parked:
        Message.objects.filter(pk__in=parked).update(
            status=MessageStatus.QUEUED, send_after=None, error="", updated_at=now
        )
        messages_enqueue_sending(workspace_id=workspace.pk, message_ids=parked)
    audit_record(
        workspace=workspace,
        actor=user,
        action="messaging.sending_resumed",
        target=f"{hold.source_type}:{hold.source_owner}",
        messages=len(parked),
    )
    return hold
