"""Workspace sending settings, default topic, pause and resume."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.text import slugify

from workspaces.errors import ValidationFailed
from workspaces.models import Workspace

from .. import ratelimit
from ..models import MessagingSettings, Topic

SETTINGS_FIELDS = (
    "physical_address",
    "from_name",
    "from_email",
    "reply_to",
    "email_requires_opt_in",
    "quiet_hours_start",
    "quiet_hours_end",
    "quiet_hours_email",
    "quiet_hours_sms",
    "frequency_cap_count",
    "frequency_cap_days",
    "utm_enabled",
    "utm_source",
    "utm_medium",
    "sms_from",
    "whatsapp_from",
)


def messaging_settings(*, workspace: Workspace) -> MessagingSettings:
    found = (
        MessagingSettings.objects.filter(workspace=workspace).select_related("workspace").first()
    )
    if found is not None:
        return found
    created, _ = MessagingSettings.objects.get_or_create(workspace=workspace)
    created.workspace = workspace
    return created


@transaction.atomic
def messaging_settings_update(*, workspace: Workspace, **values: object) -> MessagingSettings:
    unknown = set(values) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValidationFailed(f"unknown settings: {', '.join(sorted(unknown))}")
    current = messaging_settings(workspace=workspace)
    for name, value in values.items():
        setattr(current, name, value)
    if current.frequency_cap_count and not current.frequency_cap_days:
        raise ValidationFailed(
            "frequency_cap_days: must be at least 1 when a cap is set",
            fields={"frequency_cap_days": "must be at least 1"},
        )
    current.save()
    return current


@transaction.atomic
def esp_webhook_secret_rotate(*, workspace: Workspace) -> str:
    """A new secret for the workspace's ESP webhook addresses; the old addresses stop
    answering at once (set the new one at the ESP first, or expect its retries)."""
    current = messaging_settings(workspace=workspace)
    current.esp_webhook_secret = secrets.token_urlsafe(32)
    current.save(update_fields=["esp_webhook_secret", "updated_at"])
    return current.esp_webhook_secret


def esp_webhook_secret_matches(*, workspace_id: int, secret: str) -> bool:
    """Whether `secret` is the workspace's ESP webhook secret (constant time; call inside
    the workspace's scope). False when it has none."""
    stored = (
        MessagingSettings.objects.filter(workspace_id=workspace_id)
        .values_list("esp_webhook_secret", flat=True)
        .first()
    )
    return bool(stored) and constant_time_compare(stored, secret)


def topic_default(*, workspace: Workspace) -> Topic:
    topic = Topic.objects.filter(workspace=workspace, is_default=True).first()
    if topic is not None:
        return topic
    topic, _ = Topic.objects.get_or_create(
        workspace=workspace,
        key="general",
        defaults={"name": "General", "description": "News and updates", "is_default": True},
    )
    return topic


@transaction.atomic
def topic_save(
    *, workspace: Workspace, name: str, description: str = "", topic: Topic | None = None
) -> Topic:
    name = name.strip()
    if not name:
        raise ValidationFailed("name: a topic needs a name", fields={"name": "required"})
    key = slugify(name)[:60] or "topic"
    clash = Topic.objects.filter(workspace=workspace, key=key)
    if topic is not None:
        clash = clash.exclude(pk=topic.pk)
    if clash.exists():
        raise ValidationFailed(
            f"name: a topic called “{name}” exists", fields={"name": "already exists"}
        )
    if topic is None:
        topic = Topic(
            workspace=workspace, is_default=not Topic.objects.filter(workspace=workspace).exists()
        )
    topic.name, topic.key, topic.description = name, key, description.strip()
    topic.save()
    return topic


def sending_pause(*, workspace: Workspace, reason: str) -> MessagingSettings:
    current = messaging_settings(workspace=workspace)
    if not current.sending_paused:
        MessagingSettings.objects.filter(pk=current.pk).update(
            sending_paused=True, paused_reason=reason[:300], paused_at=timezone.now()
        )
        current.refresh_from_db()
    return current


def sending_resume(*, workspace: Workspace) -> MessagingSettings:
    """Resume sending: messages held while paused are dispatched on the next tick (or now)."""
    current = messaging_settings(workspace=workspace)
    MessagingSettings.objects.filter(pk=current.pk).update(
        sending_paused=False, paused_reason="", paused_at=None
    )
    ratelimit.failure_burst_clear(workspace.pk)
    current.refresh_from_db()
    from .dispatch import messages_dispatch_due

    transaction.on_commit(lambda: messages_dispatch_due(workspace_ids=[workspace.pk]))
    return current
