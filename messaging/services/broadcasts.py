"""Broadcasts: a one-off send to a segment.

- now, or scheduled; with `local_time` the scheduled wall-clock time is honoured in each
  contact's own time zone (fan-out starts when the first zone reaches it, UTC+14);
- the audience is the segment's members minus those of any exclusion segment
  (`segments_bridge.audience_contacts`, also what the form's live count uses);
- an A/B test sends each variant to an even share of a sample, waits, and sends the winner
  to everyone else. A winner is called only when the leader is best with 95 % probability
  on its click (or open) rate, every variant reached `ab_min_recipients` and the split shows
  no sample-ratio mismatch (workspaces.experiments); otherwise the first variant goes to the
  rest and `ab_no_winner_reason` says why and what it would take;
- a smart A/B test (`ab_mode` "smart") sends in `ab_waves` waves instead: the first splits
  the sample evenly, each later wave (after `ab_wait_minutes`) gives each variant its
  Thompson-sampling share of the results so far (at least `ab_floor_percent`), the last
  takes everyone left; the page reports what that saved against an even split;
- send-time optimisation delivers at each contact's best hour (see `sto`).

Fan-out writes Message rows in bulk (`bulk_create(ignore_conflicts=True)` on the unique
(workspace, source, contact) key, so a retried fan-out or the A/B remainder never doubles a
recipient) and enqueues send tasks in chunks.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from workspaces.errors import ValidationFailed
from workspaces.experiments import (
    Arm,
    Decision,
    ab_decide,
    pick_by_shares,
    regret_saved,
    thompson_allocation,
)
from workspaces.models import User, Workspace

from .. import segments_bridge
from ..models import (
    Broadcast,
    BroadcastVariant,
    EmailTemplate,
    Message,
    MessageStatus,
    SmsTemplate,
    SourceType,
    Topic,
)
from ..selectors import broadcast_progress, contact_zone, postal_address_missing
from . import sto
from .config import topic_default
from .enqueue import messages_enqueue_sending

EARLIEST_ZONE = timedelta(hours=14)  # UTC+14 reaches a wall-clock time first
FANOUT_CHUNK = 5000


@dataclass
class VariantInput:
    label: str
    subject: str = ""
    email_template: EmailTemplate | None = None


@dataclass
class BroadcastInput:
    name: str
    segment_id: int | None
    channel: str = "email"
    email_template: EmailTemplate | None = None
    sms_template: SmsTemplate | None = None
    topic: Topic | None = None
    scheduled_at: datetime | None = None
    local_time: bool = False
    utm_campaign: str = ""
    sto_enabled: bool = False
    ab_enabled: bool = False
    ab_sample_percent: int = 20
    ab_wait_minutes: int = 240
    ab_metric: str = "click"
    ab_min_recipients: int = 500
    ab_mode: str = "fixed"
    ab_waves: int = 4
    ab_floor_percent: int = 10
    exclude_segment_ids: list[int] = field(default_factory=list)
    variants: list[VariantInput] = field(default_factory=list)


def _check(workspace: Workspace, data: BroadcastInput) -> None:
    errors: dict[str, str] = {}
    if not data.name.strip():
        errors["name"] = "a broadcast needs a name"
    if data.segment_id is None or not segments_bridge.segment_exists(
        workspace=workspace, segment_id=str(data.segment_id)
    ):
        errors["segment"] = "choose a segment"
    for excluded in data.exclude_segment_ids:
        if excluded == data.segment_id:
            errors["exclude_segments"] = "the segment you send to cannot also be left out"
        elif not segments_bridge.segment_exists(workspace=workspace, segment_id=str(excluded)):
            errors["exclude_segments"] = f"there is no segment {excluded}"
    if data.channel == "email":
        if data.email_template is None or data.email_template.workspace_id != workspace.pk:
            errors["email_template"] = "choose an email template"
    elif data.channel in ("sms", "whatsapp"):
        if data.sms_template is None or data.sms_template.workspace_id != workspace.pk:
            errors["sms_template"] = "choose an SMS template"
    else:
        errors["channel"] = "email, sms or whatsapp"
    if data.local_time and data.scheduled_at is None:
        errors["scheduled_at"] = "sending in each contact's time zone needs a date and time"
    if data.sto_enabled and (data.ab_enabled or data.local_time):
        errors["sto_enabled"] = "send-time optimisation cannot be combined with A/B or local time"
    if data.ab_enabled:
        _check_ab(workspace, data, errors)
    if errors:
        first = next(iter(errors))
        raise ValidationFailed(f"{first}: {errors[first]}", fields=errors)


def _check_ab(workspace: Workspace, data: BroadcastInput, errors: dict[str, str]) -> None:
    if data.channel != "email":
        errors["ab_enabled"] = "A/B tests are for email"
    labels = [v.label.strip() for v in data.variants]
    if len(labels) < 2 or len(set(labels)) != len(labels) or not all(labels):
        errors["variants"] = "an A/B test needs at least two variants with different labels"
    for variant in data.variants:
        if variant.email_template and variant.email_template.workspace_id != workspace.pk:
            errors["variants"] = "unknown template in a variant"
    if not 2 <= data.ab_sample_percent <= 90:
        errors["ab_sample_percent"] = "between 2 and 90 percent"
    if data.ab_metric not in ("open", "click"):
        errors["ab_metric"] = "open or click"
    if not 1 <= data.ab_min_recipients <= 1_000_000:
        errors["ab_min_recipients"] = "between 1 and 1,000,000 recipients per variant"
    if data.ab_mode not in ("fixed", "smart"):
        errors["ab_mode"] = "fixed or smart"
    elif data.ab_mode == "smart":
        if not 2 <= data.ab_waves <= 10:
            errors["ab_waves"] = "between 2 and 10 waves (the test wave included)"
        if not 0 <= data.ab_floor_percent * max(len(labels), 1) <= 100:
            errors["ab_floor_percent"] = (
                f"at most {100 // max(len(labels), 1)} % for {len(labels)} variants"
            )


BROADCAST_FIELDS = (
    "name",
    "channel",
    "email_template",
    "sms_template",
    "topic",
    "scheduled_at",
    "local_time",
    "utm_campaign",
    "sto_enabled",
    "ab_enabled",
    "ab_sample_percent",
    "ab_wait_minutes",
    "ab_metric",
    "ab_min_recipients",
    "ab_mode",
    "ab_waves",
    "ab_floor_percent",
    "exclude_segment_ids",
)


@transaction.atomic
def broadcast_save(
    *,
    workspace: Workspace,
    data: BroadcastInput,
    broadcast: Broadcast | None = None,
    user: User | None = None,
) -> Broadcast:
    """Create or edit a draft broadcast."""
    if broadcast is not None and broadcast.status != Broadcast.Status.DRAFT:
        raise ValidationFailed("status: only a draft can be edited", fields={"status": "sent"})
    _check(workspace, data)
    if broadcast is None:
        broadcast = Broadcast(workspace=workspace, created_by=user)
    for name in BROADCAST_FIELDS:
        setattr(broadcast, name, getattr(data, name))
    broadcast.segment_id = int(data.segment_id)  # type: ignore[arg-type]
    broadcast.exclude_segment_ids = sorted({int(pk) for pk in data.exclude_segment_ids})
    broadcast.name = data.name.strip()
    broadcast.save()
    BroadcastVariant.objects.filter(broadcast=broadcast).delete()
    if data.ab_enabled:
        BroadcastVariant.objects.bulk_create(
            BroadcastVariant(
                workspace=workspace,
                broadcast=broadcast,
                label=v.label.strip()[:8],
                subject=v.subject.strip(),
                email_template=v.email_template,
            )
            for v in data.variants
        )
    return broadcast


def fanout_at(broadcast: Broadcast) -> datetime:
    start = broadcast.scheduled_at or timezone.now()
    return start - EARLIEST_ZONE if broadcast.local_time else start


@transaction.atomic
def broadcast_send(*, workspace: Workspace, broadcast: Broadcast) -> Broadcast:
    """Send now, or schedule (status 'scheduled' until the tick starts it)."""
    broadcast = Broadcast.objects.select_for_update().get(workspace=workspace, pk=broadcast.pk)
    if broadcast.status != Broadcast.Status.DRAFT:
        raise ValidationFailed("status: this broadcast was already sent", fields={"status": "sent"})
    _check(workspace, _input_of(broadcast))
    _require_postal_address(workspace)
    if fanout_at(broadcast) > timezone.now():
        broadcast.status = Broadcast.Status.SCHEDULED
        broadcast.save(update_fields=["status", "updated_at"])
        return broadcast
    _start(broadcast)
    return broadcast


def _require_postal_address(workspace: Workspace) -> None:
    if postal_address_missing(workspace=workspace):
        raise ValidationFailed(
            "physical_address: set your postal address in Messages › Sending settings before "
            "sending or scheduling email — every marketing email must show it",
            fields={"physical_address": "required before sending email"},
        )


def _input_of(broadcast: Broadcast) -> BroadcastInput:
    values = {name: getattr(broadcast, name) for name in BROADCAST_FIELDS}
    variants = [
        VariantInput(v.label, v.subject, v.email_template) for v in broadcast.variants.all()
    ]
    return BroadcastInput(segment_id=broadcast.segment_id, variants=variants, **values)


def _start(broadcast: Broadcast) -> None:
    from ..tasks import broadcast_fanout_task

    broadcast.status = Broadcast.Status.SENDING
    broadcast.started_at = timezone.now()
    broadcast.save(update_fields=["status", "started_at", "updated_at"])
    workspace_id, pk = broadcast.workspace_id, broadcast.pk
    transaction.on_commit(lambda: broadcast_fanout_task.delay(workspace_id, pk))


@transaction.atomic
def broadcast_cancel(*, workspace: Workspace, broadcast: Broadcast) -> Broadcast:
    """Stop a scheduled or running broadcast: what has not gone out yet will not."""
    broadcast = Broadcast.objects.select_for_update().get(workspace=workspace, pk=broadcast.pk)
    pending = Message.objects.filter(
        workspace=workspace,
        broadcast=broadcast,
        status__in=(MessageStatus.QUEUED, MessageStatus.SCHEDULED),
    )
    finished = broadcast.status in (Broadcast.Status.SENT, Broadcast.Status.CANCELLED)
    if finished and not pending.exists():
        raise ValidationFailed("status: nothing left to cancel", fields={"status": "done"})
    broadcast.status = Broadcast.Status.CANCELLED
    broadcast.finished_at = timezone.now()
    broadcast.save(update_fields=["status", "finished_at", "updated_at"])
    pending.update(status=MessageStatus.SKIPPED, error="cancelled")
    return broadcast


# --- Fan-out ------------------------------------------------------------------------------------


def broadcast_fanout(*, workspace: Workspace, broadcast_id: int) -> None:
    broadcast = (
        Broadcast.objects.filter(workspace=workspace, pk=broadcast_id)
        .select_related("email_template", "sms_template", "ab_winner", "topic")
        .first()
    )
    if broadcast is None or broadcast.status != Broadcast.Status.SENDING:
        return
    try:
        if broadcast.ab_enabled and broadcast.ab_winner_id is None:
            _fanout_ab_sample(workspace, broadcast)
        else:
            _fanout_everyone(workspace, broadcast)
    except ValidationFailed as error:  # segment or template deleted since
        Broadcast.objects.filter(pk=broadcast.pk).update(
            status=Broadcast.Status.FAILED, error=error.message[:500]
        )


def _versions(broadcast: Broadcast, variant: BroadcastVariant | None) -> dict[str, Any]:
    if broadcast.channel == "email":
        template = (variant.email_template if variant else None) or broadcast.email_template
        return {"email_version_id": template.current_version_id}  # type: ignore[union-attr]
    return {"sms_version_id": broadcast.sms_template.current_version_id}  # type: ignore[union-attr]


def _topic(broadcast: Broadcast) -> Topic:
    template = broadcast.email_template or broadcast.sms_template
    return (
        broadcast.topic
        or (template.topic if template else None)
        or topic_default(workspace=broadcast.workspace)
    )


@dataclass
class _Plan:
    """Per contact: when to send, and what the STO chose (kept in Message.meta)."""

    send_after: datetime | None
    meta: dict[str, Any]


def _plans(
    workspace: Workspace, broadcast: Broadcast, contact_ids: Sequence[int], now: datetime
) -> dict[int, _Plan]:
    if broadcast.sto_enabled:
        return {
            cid: _Plan(choice.send_after, choice.meta)
            for cid, choice in sto.schedule(
                workspace=workspace, broadcast=broadcast, contact_ids=contact_ids, now=now
            ).items()
        }
    if not broadcast.local_time:
        return {}
    from contacts.models import Contact

    wall = (
        (broadcast.scheduled_at or now).astimezone(_zone(workspace.timezone)).replace(tzinfo=None)
    )
    plans = {}
    for contact in Contact.objects.filter(workspace=workspace, pk__in=contact_ids).only(
        "pk", "timezone"
    ):
        local = wall.replace(tzinfo=contact_zone(contact, workspace))
        plans[contact.pk] = _Plan(local, {"local_time": True})
    return plans


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def _create_messages(
    workspace: Workspace,
    broadcast: Broadcast,
    contact_ids: Sequence[int],
    variant_of: dict[int, BroadcastVariant | None],
) -> None:
    now = timezone.now()
    plans = _plans(workspace, broadcast, contact_ids, now)
    topic = _topic(broadcast)
    rows = []
    for cid in contact_ids:
        plan = plans.get(cid)
        later = plan is not None and plan.send_after is not None and plan.send_after > now
        variant = variant_of.get(cid)
        rows.append(
            Message(
                workspace=workspace,
                contact_id=cid,
                channel=broadcast.channel,
                topic=topic,
                source_type=SourceType.BROADCAST,
                source_id=str(broadcast.pk),
                source_owner=str(broadcast.pk),
                broadcast=broadcast,
                variant=variant,
                status=MessageStatus.SCHEDULED if later else MessageStatus.QUEUED,
                send_after=plan.send_after if later else None,  # type: ignore[union-attr]
                meta=plan.meta if plan else {},
                **_versions(broadcast, variant),
            )
        )
    with transaction.atomic():
        Message.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
        queued = list(
            Message.objects.filter(
                workspace=workspace,
                source_type=SourceType.BROADCAST,
                source_id=str(broadcast.pk),
                contact_id__in=list(contact_ids),
                status=MessageStatus.QUEUED,
            ).values_list("pk", flat=True)
        )
        messages_enqueue_sending(workspace_id=workspace.pk, message_ids=queued)


def _audience(workspace: Workspace, broadcast: Broadcast) -> Any:
    return segments_bridge.audience_contacts(
        workspace=workspace,
        segment_id=broadcast.segment_id,
        exclude_segment_ids=broadcast.exclude_segment_ids,
    )


def _fanout_everyone(workspace: Workspace, broadcast: Broadcast) -> None:
    winner = broadcast.ab_winner
    for chunk in segments_bridge.contact_id_chunks(
        _audience(workspace, broadcast), size=FANOUT_CHUNK
    ):
        _create_messages(workspace, broadcast, chunk, dict.fromkeys(chunk, winner))
    recipients = Message.objects.filter(workspace=workspace, broadcast=broadcast).count()
    Broadcast.objects.filter(pk=broadcast.pk).update(
        status=Broadcast.Status.SENT,
        recipients_total=recipients,
        finished_at=timezone.now(),
    )


def _fanout_ab_sample(workspace: Workspace, broadcast: Broadcast) -> None:
    members = [
        cid
        for chunk in segments_bridge.contact_id_chunks(
            _audience(workspace, broadcast), size=FANOUT_CHUNK
        )
        for cid in chunk
    ]
    variants = list(broadcast.variants.order_by("label"))
    rng = random.Random(broadcast.pk)  # the same sample if the fan-out is retried
    sample_size = max(len(variants), round(len(members) * broadcast.ab_sample_percent / 100))
    sample = rng.sample(members, min(sample_size, len(members)))
    assignment = {cid: variants[index % len(variants)] for index, cid in enumerate(sample)}
    for start in range(0, len(sample), FANOUT_CHUNK):
        chunk = sample[start : start + FANOUT_CHUNK]
        _create_messages(workspace, broadcast, chunk, {cid: assignment[cid] for cid in chunk})
    Broadcast.objects.filter(pk=broadcast.pk).update(
        status=Broadcast.Status.TESTING,
        recipients_total=len(members),
        ab_test_ends_at=timezone.now() + timedelta(minutes=broadcast.ab_wait_minutes),
        ab_allocations=[
            {"size": len(sample), "shares": {v.label: 1 / len(variants) for v in variants}}
        ],
    )


# --- A/B winner and the tick -----------------------------------------------------------------------


def ab_results(*, broadcast: Broadcast) -> list[dict[str, Any]]:
    """Per variant: sent, opened, clicked and their rates."""
    from django.db.models import Count, Q

    from ..models.messages import SENT_STATUSES

    rows = (
        Message.objects.filter(workspace_id=broadcast.workspace_id, broadcast=broadcast)
        .exclude(variant=None)
        .values("variant_id")
        .annotate(
            recipients=Count("id"),
            sent=Count("id", filter=Q(status__in=SENT_STATUSES)),
            opened=Count("id", filter=Q(opened_at__isnull=False)),
            clicked=Count("id", filter=Q(clicked_at__isnull=False)),
        )
    )
    by_variant = {row["variant_id"]: row for row in rows}
    results = []
    for variant in broadcast.variants.order_by("label"):
        row = by_variant.get(variant.pk, {"recipients": 0, "sent": 0, "opened": 0, "clicked": 0})
        sent = row["sent"]
        results.append(
            {
                "variant": variant,
                "recipients": row["recipients"],
                "sent": sent,
                "opened": row["opened"],
                "clicked": row["clicked"],
                "open_rate": row["opened"] / sent if sent else 0.0,
                "click_rate": row["clicked"] / sent if sent else 0.0,
            }
        )
    return results


def ab_decision(*, broadcast: Broadcast, results: list[dict[str, Any]]) -> Decision:
    """The call on the test (workspaces.experiments): a winner only when the leader is best
    with 95 % probability, every variant reached `ab_min_recipients` and the split is sound.
    Variants split the sample evenly; the metric is the broadcast's (clicks or opens)."""
    return ab_decide(
        _arms(broadcast, results),
        min_sample=broadcast.ab_min_recipients,
        check_ratio=broadcast.ab_mode != "smart",  # smart waves move the shares on purpose
    )


def _arms(broadcast: Broadcast, results: list[dict[str, Any]]) -> list[Arm]:
    counted = "opened" if broadcast.ab_metric == "open" else "clicked"
    return [Arm(row["variant"].label, row["sent"], row[counted]) for row in results]


@transaction.atomic
def ab_next_wave(*, workspace: Workspace, broadcast: Broadcast) -> None:
    """A smart test's next wave: the variants' shares are Thompson sampling on the results so
    far (each at least `ab_floor_percent`); the wave is an even part of those not sent to yet
    (the last wave: all of them). Recorded in `ab_allocations`."""
    broadcast = Broadcast.objects.select_for_update().get(workspace=workspace, pk=broadcast.pk)
    if broadcast.status != Broadcast.Status.TESTING:
        return
    variants = list(broadcast.variants.order_by("label"))
    shares = thompson_allocation(
        _arms(broadcast, ab_results(broadcast=broadcast)),
        floor=broadcast.ab_floor_percent / 100,
        seed=len(broadcast.ab_allocations),
    )
    reached = set(
        Message.objects.filter(workspace=workspace, broadcast=broadcast).values_list(
            "contact_id", flat=True
        )
    )
    left = [
        cid
        for chunk in segments_bridge.contact_id_chunks(
            _audience(workspace, broadcast), size=FANOUT_CHUNK
        )
        for cid in chunk
        if cid not in reached
    ]
    waves_left = max(1, broadcast.ab_waves - len(broadcast.ab_allocations))
    rng = random.Random(f"{broadcast.pk}:{len(broadcast.ab_allocations)}")  # a retry: the same
    wave = rng.sample(left, math.ceil(len(left) / waves_left))
    assignment = {cid: variants[pick_by_shares(shares, rng.random())] for cid in wave}
    for start in range(0, len(wave), FANOUT_CHUNK):
        chunk = wave[start : start + FANOUT_CHUNK]
        _create_messages(workspace, broadcast, chunk, {cid: assignment[cid] for cid in chunk})
    broadcast.ab_allocations = [
        *broadcast.ab_allocations,
        {
            "size": len(wave),
            "shares": {v.label: round(s, 4) for v, s in zip(variants, shares, strict=True)},
        },
    ]
    if waves_left == 1:
        broadcast.status = Broadcast.Status.SENT
        broadcast.finished_at = timezone.now()
        broadcast.recipients_total = len(reached) + len(wave)
    else:
        broadcast.ab_test_ends_at = timezone.now() + timedelta(minutes=broadcast.ab_wait_minutes)
    broadcast.save(
        update_fields=[
            "ab_allocations", "status", "finished_at", "recipients_total", "ab_test_ends_at",
            "updated_at",
        ]
    )  # fmt: skip


@transaction.atomic
def ab_pick_winner(*, workspace: Workspace, broadcast: Broadcast) -> BroadcastVariant | None:
    """Send the winning variant to the rest; when the data cannot call one, send the first
    variant (the default) and record why."""
    broadcast = Broadcast.objects.select_for_update().get(workspace=workspace, pk=broadcast.pk)
    if broadcast.status != Broadcast.Status.TESTING:
        return broadcast.ab_winner
    results = ab_results(broadcast=broadcast)
    if not results:
        return None
    chosen = results[0]
    reason = ""
    if len(results) >= 2:
        decision = ab_decision(broadcast=broadcast, results=results)
        reason = decision.reason
        chosen = next(
            (row for row in results if row["variant"].label == decision.winner), results[0]
        )
    broadcast.ab_winner = chosen["variant"]
    broadcast.ab_no_winner_reason = reason[:300]
    broadcast.save(update_fields=["ab_winner", "ab_no_winner_reason", "updated_at"])
    _start(broadcast)
    return broadcast.ab_winner


def broadcasts_tick(*, now: datetime | None = None) -> None:
    """Start due scheduled broadcasts; finish A/B tests whose wait is over."""
    now = now or timezone.now()
    due = Broadcast.objects.filter(
        status=Broadcast.Status.SCHEDULED, scheduled_at__lte=now + EARLIEST_ZONE
    ).select_related("workspace")
    for broadcast in due:
        if fanout_at(broadcast) <= now:
            with transaction.atomic():
                locked = (
                    Broadcast.objects.select_for_update(skip_locked=True)
                    .filter(pk=broadcast.pk, status=Broadcast.Status.SCHEDULED)
                    .first()
                )
                if locked is not None:
                    _start(locked)
    for broadcast in Broadcast.objects.filter(
        status=Broadcast.Status.TESTING, ab_test_ends_at__lte=now
    ).select_related("workspace"):
        if broadcast.ab_mode == "smart":
            ab_next_wave(workspace=broadcast.workspace, broadcast=broadcast)
        else:
            ab_pick_winner(workspace=broadcast.workspace, broadcast=broadcast)


def broadcast_status(*, broadcast: Broadcast) -> dict[str, Any]:
    progress = broadcast_progress(broadcast=broadcast)
    results = ab_results(broadcast=broadcast) if broadcast.ab_enabled else []
    decision = ab_decision(broadcast=broadcast, results=results) if len(results) >= 2 else None
    if decision is not None:  # each variant's row carries its figures from the decision
        for row, arm in zip(results, decision.arms, strict=True):
            row.update(
                prob_best=arm.prob_best,
                expected_loss=arm.expected_loss,
                p_value=arm.p_value,
                lift=arm.lift,
            )
    progress["ab"] = results
    progress["ab_decision"] = decision
    smart = broadcast.ab_mode == "smart" and len(results) >= 2
    progress["ab_regret"] = regret_saved(_arms(broadcast, results)) if smart else None
    return progress
