"""Reads for messaging: may this contact be sent this now, message lists and stats.

`can_send` is the public check (workflows use it); `SendChecker` answers it for a whole
batch in a handful of queries, which is what the send task uses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import CharField, Count, Exists, Func, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from contacts.models import ConsentStatus, Contact
from contacts.selectors import attribute_definition_list, event_definition_list
from workspaces.experiments import in_control_group
from workspaces.models import Workspace

from .guard import Health as Health
from .guard import deliverability_health as deliverability_health
from .guard import deliverability_overview as deliverability_overview
from .guard import guard_since as guard_since
from .guard import held_sources as held_sources
from .guard import sending_health_table as sending_health_table
from .guard import sending_hold_for as sending_hold_for
from .guard import sending_holds_active as sending_holds_active
from .guard import source_health as source_health
from .guard import source_names as source_names
from .models import (
    Broadcast,
    EmailTemplate,
    Message,
    MessageStatus,
    MessagingSettings,
    SmsTemplate,
    Suppression,
    Topic,
    TopicOptOut,
)
from .models.audience import address_hash
from .models.messages import SENT_STATUSES

# Reasons a message is not sent (stored in Message.error, returned by can_send).
NO_ADDRESS = "no_address"
UNSUBSCRIBED = "unsubscribed"
CONSENT_PENDING = "consent_pending"
NO_CONSENT = "no_consent"
SUPPRESSED = "suppressed"
TOPIC_OPT_OUT = "topic_opt_out"
FREQUENCY_CAP = "frequency_cap"
QUIET_HOURS = "quiet_hours"
NO_POSTAL_ADDRESS = "no_postal_address"
CONTROL_GROUP = "control_group"
OK = "ok"

REASON_TEXT = {
    NO_ADDRESS: "The contact has no address for this channel.",
    UNSUBSCRIBED: "The contact unsubscribed.",
    CONSENT_PENDING: "The contact has not confirmed their subscription yet.",
    NO_CONSENT: "The contact has not opted in.",
    SUPPRESSED: "The address is on the suppression list.",
    TOPIC_OPT_OUT: "The contact opted out of this topic.",
    FREQUENCY_CAP: "The contact reached the frequency cap.",
    QUIET_HOURS: "Quiet hours in the contact's time zone.",
    CONTROL_GROUP: (
        "The contact is in the workspace's global control group: it receives no marketing, "
        "so its conversions can be compared with everyone else's (Settings › Workspace)."
    ),
    NO_POSTAL_ADDRESS: (
        "The workspace has no postal address: set it in Messages › Sending settings "
        "(every marketing email must show it)."
    ),
}


class SendCheck(NamedTuple):
    allowed: bool
    reason: str


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = OK
    defer_until: dt.datetime | None = None

    @property
    def status(self) -> str:
        if self.allowed:
            return MessageStatus.QUEUED
        if self.defer_until is not None:
            return MessageStatus.SCHEDULED
        return MessageStatus.SUPPRESSED if self.reason == SUPPRESSED else MessageStatus.SKIPPED


def messaging_config(workspace: Workspace) -> MessagingSettings:
    from .services.config import messaging_settings

    return messaging_settings(workspace=workspace)


def contact_zone(contact: Contact, workspace: Workspace) -> ZoneInfo:
    for name in (contact.timezone, workspace.timezone, "UTC"):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def quiet_hours_end(
    *, start: dt.time, end: dt.time, zone: ZoneInfo, now: dt.datetime
) -> dt.datetime | None:
    """When quiet hours (start → end, may wrap midnight) are over, or None if not in them."""
    local = now.astimezone(zone)
    clock = local.time()
    if start == end:
        return None
    inside = (start <= clock < end) if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + dt.timedelta(days=1)
    wall = dt.datetime.combine(day, end)
    return wall.replace(tzinfo=zone).astimezone(dt.UTC)


def channel_address(contact: Contact, channel: str) -> str:
    return contact.email if channel == "email" else contact.phone


class SendChecker:
    """Answers "may we send this now?" for many (contact, channel, topic) at once."""

    def __init__(
        self,
        workspace: Workspace,
        config: MessagingSettings | None = None,
        now: dt.datetime | None = None,
    ):
        self.workspace = workspace
        self.config = config or messaging_config(workspace)
        self.now = now or timezone.now()

    def check_many(
        self,
        items: Sequence[tuple[Contact, str, int | None]],
        *,
        exclude_message_ids: Iterable[int] = (),
    ) -> list[Decision]:
        suppressed = self._suppressed(items)
        opted_out = self._opted_out(items)
        sent_counts = self._recent_counts(items, exclude_message_ids)
        return [
            self._decide(contact, channel, topic_id, suppressed, opted_out, sent_counts)
            for contact, channel, topic_id in items
        ]

    def _decide(
        self,
        contact: Contact,
        channel: str,
        topic_id: int | None,
        suppressed: set[tuple[str, str]],
        opted_out: set[tuple[int, int]],
        sent_counts: dict[tuple[int, str], int],
    ) -> Decision:
        if channel == "email" and not self.config.postal_address.strip():
            # CAN-SPAM/GDPR: no marketing email without the sender's postal address.
            return Decision(False, NO_POSTAL_ADDRESS)
        address = channel_address(contact, channel)
        if not address:
            return Decision(False, NO_ADDRESS)
        consent = contact.email_consent if channel == "email" else contact.sms_consent
        if consent == ConsentStatus.UNSUBSCRIBED:
            return Decision(False, UNSUBSCRIBED)
        if consent == ConsentStatus.PENDING:
            return Decision(False, CONSENT_PENDING)
        opt_in_needed = channel != "email" or self.config.email_requires_opt_in
        if opt_in_needed and consent != ConsentStatus.SUBSCRIBED:
            return Decision(False, NO_CONSENT)
        if (_suppression_channel(channel), address_hash(address)) in suppressed:
            return Decision(False, SUPPRESSED)
        if topic_id is not None and (contact.pk, topic_id) in opted_out:
            return Decision(False, TOPIC_OPT_OUT)
        cap = self.config.frequency_cap_count
        if cap and sent_counts.get((contact.pk, channel), 0) >= cap:
            return Decision(False, FREQUENCY_CAP)
        # Last of the refusals, so the control group is those who would have been sent to:
        # the same kind of contact as those who are (analytics compares the two).
        if in_control_group(
            workspace_id=self.workspace.pk,
            contact_id=contact.pk,
            percent=self.workspace.control_group_percent,
        ):
            return Decision(False, CONTROL_GROUP)
        quiet = self.config.quiet_hours_email if channel == "email" else self.config.quiet_hours_sms
        if quiet:
            until = quiet_hours_end(
                start=self.config.quiet_hours_start,
                end=self.config.quiet_hours_end,
                zone=contact_zone(contact, self.workspace),
                now=self.now,
            )
            if until is not None:
                return Decision(False, QUIET_HOURS, defer_until=until)
        if cap:
            # Count it: a second message to this contact in the same batch sees this one.
            sent_counts[(contact.pk, channel)] = sent_counts.get((contact.pk, channel), 0) + 1
        return Decision(True)

    def _suppressed(self, items: Sequence[tuple[Contact, str, int | None]]) -> set[tuple[str, str]]:
        hashes = {
            address_hash(channel_address(c, ch)) for c, ch, _ in items if channel_address(c, ch)
        }
        if not hashes:
            return set()
        rows = Suppression.objects.filter(
            workspace=self.workspace, active=True, address_hash__in=hashes
        ).values_list("channel", "address_hash")
        return set(rows)

    def _opted_out(self, items: Sequence[tuple[Contact, str, int | None]]) -> set[tuple[int, int]]:
        topics = {t for _, _, t in items if t is not None}
        if not topics:
            return set()
        rows = TopicOptOut.objects.filter(
            workspace=self.workspace,
            contact_id__in={c.pk for c, _, _ in items},
            topic_id__in=topics,
        ).values_list("contact_id", "topic_id")
        return set(rows)

    def _recent_counts(
        self, items: Sequence[tuple[Contact, str, int | None]], exclude: Iterable[int]
    ) -> dict[tuple[int, str], int]:
        if not self.config.frequency_cap_count:
            return {}
        since = self.now - dt.timedelta(days=self.config.frequency_cap_days or 1)
        rows = (
            Message.objects.filter(
                workspace=self.workspace,
                contact_id__in={c.pk for c, _, _ in items},
                sent_at__gte=since,
                status__in=SENT_STATUSES,
            )
            .exclude(source_type="test")
            .exclude(pk__in=list(exclude))
            .values("contact_id", "channel")
            .annotate(n=Count("id"))
        )
        return {(row["contact_id"], row["channel"]): row["n"] for row in rows}


def _suppression_channel(channel: str) -> str:
    return "sms" if channel == "whatsapp" else channel


def can_send(
    *,
    workspace: Workspace,
    contact: Contact,
    channel: str,
    topic: Topic | int | None = None,
    now: dt.datetime | None = None,
) -> SendCheck:
    """(allowed, reason): consent, suppression, topic subscription, frequency cap, quiet hours.

    A "quiet_hours" answer means "not now": the send task defers such a message to the end
    of quiet hours rather than dropping it.
    """
    topic_id = topic.pk if isinstance(topic, Topic) else topic
    decision = SendChecker(workspace, now=now).check_many([(contact, channel, topic_id)])[0]
    return SendCheck(decision.allowed, decision.reason)


def postal_address_missing(*, workspace: Workspace) -> bool:
    """True while marketing email is refused: the workspace has no postal address (and the
    platform sets no default)."""
    return not messaging_config(workspace).postal_address.strip()


# --- A broadcast's audience ------------------------------------------------------------------


class _AddressHash(Func):
    """`address_hash` in SQL: PostgreSQL's built-in sha256 (Django's SHA256 needs pgcrypto)."""

    template = "ENCODE(SHA256(CONVERT_TO(LOWER(BTRIM(%(expressions)s)), 'UTF8')), 'hex')"
    output_field = CharField()


def sendable_condition(
    *,
    workspace: Workspace,
    channel: str,
    topic_id: int | None,
    now: dt.datetime | None = None,
) -> Q:
    """Which contacts SendChecker would let this send reach now, as one SQL condition: an
    address, consent (opt-in where required), not suppressed, not opted out of the topic,
    under the frequency cap. Quiet hours only delay a message, so they are not applied.

    SendChecker decides per message at send time; this is its count for a whole audience
    before sending (tests hold the two to the same answer)."""
    config = messaging_config(workspace)
    address = "email" if channel == "email" else "phone"
    consent = "email_consent" if channel == "email" else "sms_consent"
    condition = ~Q(**{address: ""}) & ~Q(
        **{f"{consent}__in": (ConsentStatus.UNSUBSCRIBED, ConsentStatus.PENDING)}
    )
    if channel != "email" or config.email_requires_opt_in:
        condition &= Q(**{consent: ConsentStatus.SUBSCRIBED})
    suppressed = Suppression.objects.filter(
        workspace=workspace,
        active=True,
        channel=_suppression_channel(channel),
        address_hash=_AddressHash(OuterRef(address)),
    )
    condition &= ~Exists(suppressed)
    if topic_id is not None:
        opted_out = TopicOptOut.objects.filter(
            workspace=workspace, contact_id=OuterRef("pk"), topic_id=topic_id
        )
        condition &= ~Exists(opted_out)
    if config.frequency_cap_count:
        since = (now or timezone.now()) - dt.timedelta(days=config.frequency_cap_days or 1)
        capped = (
            Message.objects.filter(
                workspace=workspace,
                contact_id=OuterRef("pk"),
                channel=channel,
                sent_at__gte=since,
                status__in=SENT_STATUSES,
            )
            .exclude(source_type="test")
            .values("contact_id")
            .annotate(n=Count("id"))
            .filter(n__gte=config.frequency_cap_count)
        )
        condition &= ~Exists(capped)
    return condition


def sendable_contacts(
    contacts: QuerySet[Contact],
    *,
    workspace: Workspace,
    channel: str,
    topic_id: int | None,
    now: dt.datetime | None = None,
) -> QuerySet[Contact]:
    """The contacts among `contacts` that the send check would let through now."""
    return contacts.filter(
        sendable_condition(workspace=workspace, channel=channel, topic_id=topic_id, now=now)
    )


@dataclass(frozen=True)
class AudienceSize:
    members: int  # in the segment
    excluded: int  # of those, in an exclusion segment
    recipients: int  # of the rest, those the send checks let through now

    @property
    def unreachable(self) -> int:
        """No address, no consent, unsubscribed, suppressed, opted out, over the cap."""
        return self.members - self.excluded - self.recipients


def broadcast_topic_id(
    *, workspace: Workspace, topic: Topic | None, template: EmailTemplate | SmsTemplate | None
) -> int | None:
    """The topic a broadcast is sent under: its own, else its template's, else the default."""
    if topic is not None:
        return topic.pk
    if template is not None and template.topic_id is not None:
        return template.topic_id
    default: int | None = (
        Topic.objects.filter(workspace=workspace, is_default=True)
        .values_list("pk", flat=True)
        .first()
    )
    return default


def audience_size(
    *,
    workspace: Workspace,
    segment_id: int | str,
    exclude_segment_ids: Sequence[int | str] = (),
    channel: str,
    topic_id: int | None,
) -> AudienceSize:
    """How many people a broadcast would reach if sent now (raises ValidationFailed for a
    segment that is not the workspace's)."""
    from . import segments_bridge

    members = segments_bridge.segment_contacts(workspace=workspace, segment_id=segment_id)
    audience = segments_bridge.audience_contacts(
        workspace=workspace, segment_id=segment_id, exclude_segment_ids=exclude_segment_ids
    )
    # Three plain counts: one aggregate with FILTER clauses made PostgreSQL run the
    # exclusion and send-check subqueries per row (4× slower on 100,000 contacts).
    member_count = members.count()
    audience_count = audience.count() if exclude_segment_ids else member_count
    recipients = sendable_contacts(
        audience, workspace=workspace, channel=channel, topic_id=topic_id
    ).count()
    return AudienceSize(member_count, member_count - audience_count, recipients)


# --- Lists and stats ---------------------------------------------------------------------------


def broadcast_progress(*, broadcast: Broadcast) -> dict[str, Any]:
    counts = dict(
        Message.objects.filter(workspace_id=broadcast.workspace_id, broadcast=broadcast)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    engaged = Message.objects.filter(
        workspace_id=broadcast.workspace_id, broadcast=broadcast
    ).aggregate(
        opened=Count("id", filter=Q(opened_at__isnull=False)),
        machine_opened=Count("id", filter=Q(machine_opened_at__isnull=False)),
        clicked=Count("id", filter=Q(clicked_at__isnull=False)),
    )
    total = sum(counts.values())
    sent = counts.get(MessageStatus.SENT, 0) + counts.get(MessageStatus.DELIVERED, 0)
    done = total - counts.get(MessageStatus.QUEUED, 0) - counts.get(MessageStatus.SENDING, 0)
    done -= counts.get(MessageStatus.SCHEDULED, 0)
    return {
        "total": total,
        "counts": counts,
        "sent": sent,
        "done": done,
        "percent": round(100 * done / total) if total else 0,
        "opened": engaged["opened"],
        "machine_opened": engaged["machine_opened"],
        "clicked": engaged["clicked"],
        "open_rate": engaged["opened"] / sent if sent else 0.0,
        "machine_open_rate": engaged["machine_opened"] / sent if sent else 0.0,
        "click_rate": engaged["clicked"] / sent if sent else 0.0,
    }


def broadcast_get(*, workspace: Workspace, broadcast_id: Any) -> Broadcast | None:
    """One broadcast of the workspace with its variants loaded, or None."""
    try:
        pk = int(broadcast_id)
    except (TypeError, ValueError):
        return None
    return Broadcast.objects.filter(workspace=workspace, pk=pk).prefetch_related("variants").first()


def template_get(
    *, workspace: Workspace, template_id: Any, channel: str = "email"
) -> EmailTemplate | SmsTemplate | None:
    """One email (channel "email") or SMS/WhatsApp template of the workspace, or None."""
    model: Any = EmailTemplate if channel == "email" else SmsTemplate
    try:
        pk = int(template_id)
    except (TypeError, ValueError):
        return None
    return (
        model.objects.filter(workspace=workspace, pk=pk).select_related("current_version").first()
    )


def template_names(*, workspace: Workspace, channel: str, ids: Iterable[Any]) -> dict[int, str]:
    """id -> name of these templates of a channel (one query; unknown ids are left out)."""
    wanted = [int(i) for i in ids if str(i).isdigit()]
    if not wanted:
        return {}
    model: Any = EmailTemplate if channel == "email" else SmsTemplate
    return dict(model.objects.filter(workspace=workspace, pk__in=wanted).values_list("pk", "name"))


def message_stats_by_source_key(
    *,
    workspace_id: int,
    source_type: str,
    owner_ids: QuerySet[Any, Any],
    keys: list[str],
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> dict[str, dict[str, int]]:
    """Per key: messages created, sent, delivered, opened, clicked, bounced, failed, suppressed
    — of the messages whose source id is "<owner id>:<key>" with the owner in `owner_ids` (a
    subquery of ids) and the key in `keys` (a workflow's messages: run id : node id)."""
    messages = Message.objects.filter(workspace_id=workspace_id, source_type=source_type)
    if since is not None:
        messages = messages.filter(created_at__gte=since)
    if until is not None:
        messages = messages.filter(created_at__lt=until)
    rows = (
        _by_source_key(messages)
        .filter(owner__in=owner_ids, key__in=keys)
        .values("key")
        .annotate(
            created=Count("id"),
            sent=Count("id", filter=Q(sent_at__isnull=False)),
            delivered=Count("id", filter=Q(delivered_at__isnull=False)),
            opened=Count("id", filter=Q(opened_at__isnull=False)),
            clicked=Count("id", filter=Q(clicked_at__isnull=False)),
            bounced=Count("id", filter=Q(bounced_at__isnull=False)),
            failed=Count("id", filter=Q(status="failed")),
            suppressed=Count("id", filter=Q(status__in=["suppressed", "skipped"])),
        )
    )
    return {row.pop("key"): row for row in rows}


def _by_source_key(messages: QuerySet[Message]) -> QuerySet[Message]:
    """Messages annotated with the two halves of a source id "<owner id>:<key>"."""
    from django.db.models import BigIntegerField, F, TextField, Value
    from django.db.models.functions import Cast

    def part(n: int) -> Func:
        return Func(F("source_id"), Value(":"), Value(n), function="split_part",
                    output_field=TextField())  # fmt: skip

    return messages.annotate(key=part(2), owner=Cast(part(1), BigIntegerField()))


def message_owners_clicked(
    *, workspace_id: int, source_type: str, keys: list[str]
) -> QuerySet[Any, Any]:
    """The owners (a workflow's run ids) with a clicked message whose source id is
    "<owner id>:<key>" for a key in `keys` — a subquery of ids, to filter runs by."""
    messages = Message.objects.filter(
        workspace_id=workspace_id, source_type=source_type, clicked_at__isnull=False
    )
    return _by_source_key(messages).filter(key__in=keys).values("owner")


# --- Merge tags (the composers' "Insert" menu) ------------------------------------------------

CONTACT_MERGE_TAGS = [
    ("First name", 'first_name | default("there")'),
    ("Last name", 'last_name | default("")'),
    ("Full name", 'full_name | default("")'),
    ("Company", 'company | default("")'),
    ("Job title", 'job_title | default("")'),
    ("City", 'city | default("")'),
    ("Email", "email"),
    ("Phone", "phone"),
    ("Workspace name", "workspace.name"),
]


@dataclass(frozen=True)
class MergeTag:
    group: str
    label: str
    tag: str  # what is inserted, e.g. {{ first_name | default("there") }}


MAX_EVENT_PROPERTY_TAGS = 100
# commerce's recommended products for the contact (docs/commerce.md); the products block
# shows several, these insert the first one's fields.
RECOMMENDATION_MERGE_TAGS = [
    ("Top recommendation: name", 'recommendations[0].name | default("")'),
    ("Top recommendation: link", 'recommendations[0].url | default("")'),
    ("Top recommendation: image", 'recommendations[0].image_url | default("")'),
    ("Top recommendation: price", 'recommendations[0].price | default("")'),
]


def merge_tags(*, workspace: Workspace) -> list[MergeTag]:
    """Contact fields, the workspace's own attributes (from the attribute registry), then the
    properties of the events it has received — `event` is the event that triggered a workflow
    send — each with a fallback so a missing value (a broadcast has no event) never leaves a
    gap."""
    tags = [MergeTag("Contact", label, f"{{{{ {expr} }}}}") for label, expr in CONTACT_MERGE_TAGS]
    for definition in attribute_definition_list(workspace=workspace)[:200]:
        key = definition.key
        access = f"attributes.{key}" if key.isidentifier() else f"attributes[{key!r}]"
        tags.append(
            MergeTag("Attributes", definition.label or key, f'{{{{ {access} | default("") }}}}')
        )
    tags += [
        MergeTag("Recommendations", label, f"{{{{ {expr} }}}}")
        for label, expr in RECOMMENDATION_MERGE_TAGS
    ]
    seen: dict[str, list[str]] = {}
    for event in event_definition_list(workspace=workspace):
        for key in event.property_keys or []:
            if len(seen) < MAX_EVENT_PROPERTY_TAGS or key in seen:
                seen.setdefault(key, []).append(event.name)
    for key, events in sorted(seen.items()):
        access = f"event.properties.{key}" if key.isidentifier() else f"event.properties[{key!r}]"
        label = f"{key} ({', '.join(events[:2])}{', …' if len(events) > 2 else ''})"
        tags.append(MergeTag("Event properties", label, f'{{{{ {access} | default("") }}}}'))
    return tags


def marketing_exposures(
    *, workspace: Workspace, start: dt.datetime, end: dt.datetime
) -> list[tuple[int, dt.datetime | None, dt.datetime | None]]:
    """Per contact with a broadcast or workflow message created in [start, end): when the
    first one was sent, and when the first one was withheld for the global control group
    (None: none was). Test sends are not marketing and are left out. One query."""
    rows = (
        Message.objects.filter(
            workspace=workspace,
            created_at__gte=start,
            created_at__lt=end,
            contact_id__isnull=False,
        )
        .exclude(source_type="test")
        .values("contact_id")
        .annotate(
            first_sent=Min("created_at", filter=Q(sent_at__isnull=False)),
            first_withheld=Min(
                "created_at", filter=Q(status=MessageStatus.SKIPPED, error=CONTROL_GROUP)
            ),
        )
        .filter(Q(first_sent__isnull=False) | Q(first_withheld__isnull=False))
        .order_by("contact_id")
    )
    return [(row["contact_id"], row["first_sent"], row["first_withheld"]) for row in rows]
