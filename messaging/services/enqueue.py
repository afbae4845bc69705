"""Creating messages: the Message row before any provider call, the send task after commit.

`message_enqueue` is the public entry for one message (workflows, broadcasts' callers, test
code); `messages_enqueue_many` does the same for a batch of recipients of one template with
one INSERT … ON CONFLICT DO NOTHING and one send task per MESSAGING_SEND_BATCH_SIZE
messages (the workflow engine's chunks). Both rely on the unique constraint on (workspace,
source_type, source_id, contact): a retried caller gets the existing row, never a second
one. Nothing is checked against consent, suppression or caps here — the send task re-checks
all of it at send time, so a message created now never bypasses a change made meanwhile.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from contacts.models import Contact
from workspaces.errors import ValidationFailed
from workspaces.models import Workspace

from ..models import (
    Channel,
    EmailTemplate,
    Message,
    MessageStatus,
    SmsTemplate,
    SmsTemplateVersion,
    SourceType,
    TemplateVersion,
    Topic,
)
from ..selectors import template_get
from .config import topic_default

CHANNELS = {c.value for c in Channel}
SOURCE_TYPES = {s.value for s in SourceType}
SOURCE_ID_MAX = 120


def template_resolve(
    workspace: Workspace, channel: str, template: Any
) -> tuple[TemplateVersion | None, SmsTemplateVersion | None, Topic | None]:
    """A template (instance, version or id) → the version to send and its topic."""
    email = channel == Channel.EMAIL
    version: Any = template
    if not isinstance(template, TemplateVersion | SmsTemplateVersion):
        found = (
            template
            if isinstance(template, EmailTemplate | SmsTemplate)
            else template_get(workspace=workspace, template_id=template, channel=channel)
        )
        version = found.current_version if found is not None else None
    expected = TemplateVersion if email else SmsTemplateVersion
    if not isinstance(version, expected) or version.workspace_id != workspace.pk:
        kind = "email" if email else "SMS"
        raise ValidationFailed(
            f"template: no such {kind} template", fields={"template": "unknown template"}
        )
    if email:
        return version, None, version.topic
    return None, version, version.topic


def _validate(workspace: Workspace, channel: str, source_type: str, contacts: Any) -> None:
    if channel not in CHANNELS:
        raise ValidationFailed(
            "channel: must be email, sms or whatsapp", fields={"channel": channel}
        )
    if source_type not in SOURCE_TYPES:
        raise ValidationFailed("source_type: unknown", fields={"source_type": source_type})
    if any(contact.workspace_id != workspace.pk for contact in contacts):
        raise ValidationFailed("contact: not in this workspace", fields={"contact": "unknown"})


def _is_scheduled(send_after: datetime | None, now: datetime) -> bool:
    return send_after is not None and send_after > now


def message_enqueue(
    *,
    workspace: Workspace,
    contact: Contact,
    channel: str,
    template: Any,
    source_type: str,
    source_id: str,
    context: dict[str, Any] | None = None,
    topic: Topic | None = None,
    send_after: datetime | None = None,
) -> Message:
    """Create (or find) the Message for this source and contact; send it after commit.

    `template`: an EmailTemplate/SmsTemplate (its current version), a pinned version, or an
    id. `source_id` for workflows is f"{run_id}:{node_id}". `context` carries what the
    template may read as `event`: {"event": {"name", "properties", "timestamp"}} (or just the
    event's properties). `send_after` holds the message until then (no Celery countdown).
    """
    _validate(workspace, channel, source_type, [contact])
    email_version, sms_version, template_topic = template_resolve(workspace, channel, template)
    topic = topic or template_topic or topic_default(workspace=workspace)
    scheduled = _is_scheduled(send_after, timezone.now())
    message, _ = Message.objects.get_or_create(
        workspace=workspace,
        source_type=source_type,
        source_id=str(source_id)[:SOURCE_ID_MAX],
        contact=contact,
        defaults={
            "channel": channel,
            "email_version": email_version,
            "sms_version": sms_version,
            "topic": topic,
            "context": context or {},
            "source_owner": source_owner(source_type, context),
            "status": MessageStatus.SCHEDULED if scheduled else MessageStatus.QUEUED,
            "send_after": send_after if scheduled else None,
        },
    )
    if message.status == MessageStatus.QUEUED:
        messages_enqueue_sending(workspace_id=workspace.pk, message_ids=[message.pk])
    return message


def source_owner(source_type: str, context: dict[str, Any] | None) -> str:
    """The workflow a workflow message belongs to: workflows put {"workflow": {"id"}} in its
    context. (A broadcast's messages name their broadcast when the fan-out writes them.)"""
    if source_type != "workflow" or not isinstance(context, dict):
        return ""
    workflow = context.get("workflow")
    owner = workflow.get("id") if isinstance(workflow, dict) else None
    return str(owner)[:40] if isinstance(owner, int | str) and str(owner) else ""


@dataclass(frozen=True)
class MessageSpec:
    """One recipient of `messages_enqueue_many`."""

    contact: Contact
    source_id: str
    context: dict[str, Any] | None = None
    send_after: datetime | None = None


@dataclass(frozen=True)
class Enqueued:
    """What became of one MessageSpec: its row, its status, whether this call created it."""

    message_id: int
    status: str
    created: bool


INSERT_MANY_SQL = """
INSERT INTO messaging_message (
    workspace_id, created_at, updated_at, contact_id, channel, email_version_id, sms_version_id,
    topic_id, source_type, source_id, status, send_after, attempts, to_address, subject,
    context, provider_message_id, error, meta, source_owner, sending_domain)
SELECT %(workspace)s, %(now)s, %(now)s, u.contact_id, %(channel)s, %(email_version)s,
    %(sms_version)s, %(topic)s, %(source_type)s, u.source_id, u.status, u.send_after, 0, '', '',
    coalesce(u.context, '{}'::jsonb), '', '', '{}'::jsonb, coalesce(u.owner, ''), ''
FROM jsonb_to_recordset(%(rows)s::jsonb)
    AS u(contact_id bigint, source_id text, status text, send_after timestamptz, context jsonb,
         owner text)
ON CONFLICT (workspace_id, source_type, source_id, contact_id) DO NOTHING
RETURNING id, source_id, contact_id, status
"""

EXISTING_SQL = """
SELECT m.id, m.source_id, m.contact_id, m.status
FROM messaging_message AS m
JOIN unnest(%(source_ids)s::text[], %(contacts)s::bigint[]) AS u(source_id, contact_id)
  ON m.source_id = u.source_id AND m.contact_id = u.contact_id
WHERE m.workspace_id = %(workspace)s AND m.source_type = %(source_type)s
"""


Key = tuple[str, int]  # (source_id, contact_id)
Row = tuple[int, str]  # (message id, status)


def messages_enqueue_many(
    *,
    workspace: Workspace,
    channel: str,
    template: Any,
    source_type: str,
    items: Sequence[MessageSpec],
    topic: Topic | None = None,
) -> list[Enqueued]:
    """`message_enqueue` for many recipients of one template, set-based: one INSERT … ON
    CONFLICT DO NOTHING for the rows, one SELECT for those that already existed (a retried
    caller), and the queued ones handed to the send task after commit in batches.

    Returns one Enqueued per item, in order. Items naming the same (source_id, contact)
    get the same row."""
    if not items:
        return []
    _validate(workspace, channel, source_type, [item.contact for item in items])
    email_version, sms_version, template_topic = template_resolve(workspace, channel, template)
    topic = topic or template_topic or topic_default(workspace=workspace)
    keys = [(str(item.source_id)[:SOURCE_ID_MAX], item.contact.pk) for item in items]
    shared = {
        "workspace": workspace.pk,
        "channel": channel,
        "email_version": email_version.pk if email_version else None,
        "sms_version": sms_version.pk if sms_version else None,
        "topic": topic.pk if topic else None,
        "source_type": source_type,
    }
    created = _insert(shared, keys, items)
    missing = [key for key in dict.fromkeys(keys) if key not in created]
    rows = {**_existing(shared, missing), **created}
    queued = sorted(pk for pk, status in rows.values() if status == MessageStatus.QUEUED)
    messages_enqueue_sending(workspace_id=workspace.pk, message_ids=queued)
    results, seen = [], set()
    for key in keys:
        results.append(Enqueued(*rows[key], created=key in created and key not in seen))
        seen.add(key)
    return results


def _insert(
    shared: dict[str, Any], keys: list[Key], items: Sequence[MessageSpec]
) -> dict[Key, Row]:
    now = timezone.now()
    rows = []
    for (source_id, contact_id), item in zip(keys, items, strict=True):
        later = _is_scheduled(item.send_after, now)
        rows.append(
            {
                "contact_id": contact_id,
                "source_id": source_id,
                "status": MessageStatus.SCHEDULED.value if later else MessageStatus.QUEUED.value,
                "send_after": item.send_after.isoformat() if item.send_after and later else None,
                "context": item.context or None,
                "owner": source_owner(shared["source_type"], item.context),
            }
        )
    with connection.cursor() as cursor:
        # One JSON document rather than an array per column: psycopg quotes every element
        # of a text array in Python, which cost more than the INSERT itself.
        cursor.execute(
            INSERT_MANY_SQL, {**shared, "now": now, "rows": json.dumps(rows, default=str)}
        )
        return {(s, c): (pk, status) for pk, s, c, status in cursor.fetchall()}


def _existing(shared: dict[str, Any], keys: list[Key]) -> dict[Key, Row]:
    if not keys:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            EXISTING_SQL,
            {
                "workspace": shared["workspace"],
                "source_type": shared["source_type"],
                "source_ids": [source_id for source_id, _ in keys],
                "contacts": [contact_id for _, contact_id in keys],
            },
        )
        return {(s, c): (pk, status) for pk, s, c, status in cursor.fetchall()}


def messages_enqueue_sending(*, workspace_id: int, message_ids: Sequence[int]) -> None:
    """Enqueue send tasks for these messages (in batches) once the transaction commits."""
    from ..tasks import messages_send_task

    ids = list(message_ids)
    size = settings.MESSAGING_SEND_BATCH_SIZE

    def enqueue() -> None:
        for start in range(0, len(ids), size):
            messages_send_task.delay(workspace_id, ids[start : start + size])

    if ids:
        transaction.on_commit(enqueue)
