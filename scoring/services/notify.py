"""Outbound messages about leads: notification emails and CRM lifecycle webhooks."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from contacts.models import Contact
from workspaces.models import Workspace

from ..models import Notification


def notification_email(*, workspace: Workspace, notification_id: int) -> bool:
    """Email one in-app notification to its user (once: `emailed` is not tracked per row, so
    the task is the unit of retry and sends only after a successful SMTP conversation)."""
    notification = (
        Notification.objects.for_workspace(workspace)
        .select_related("user")
        .filter(pk=notification_id)
        .first()
    )
    if notification is None or not notification.user.email:
        return False
    link = f"{settings.SITE_URL}{notification.url}" if notification.url else settings.SITE_URL
    send_mail(
        subject=f"[{workspace.name}] {notification.title}",
        message=f"{notification.body}\n\nOpen: {link}\n",
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[notification.user.email],
    )
    return True


def crm_lifecycle_payload(*, workspace: Workspace, changes: list[dict[str, Any]]) -> dict[str, Any]:
    """What the CRM receives: each stage change with the contact's identity and score."""
    contacts = (
        Contact.objects.for_workspace(workspace)
        .select_related("owner")
        .in_bulk([c["contact_id"] for c in changes])
    )
    items = []
    for change in changes:
        contact = contacts.get(change["contact_id"])
        if contact is None:
            continue
        items.append(
            {
                **change,
                "email": contact.email,
                "external_id": contact.external_id,
                "first_name": contact.first_name,
                "last_name": contact.last_name,
                "company": contact.company,
                "score": contact.score,
                "lifecycle_stage": contact.lifecycle_stage,
                "owner": contact.owner.email if contact.owner else None,
            }
        )
    return {
        "type": "lifecycle.changed",
        "workspace_id": workspace.pk,
        "sent_at": timezone.now().isoformat(),
        "changes": items,
    }


def crm_lifecycle_send(*, workspace: Workspace, url: str, changes: list[dict[str, Any]]) -> None:
    """Queue the lifecycle changes for the CRM endpoint: a signed webhook delivery
    (workspaces.outbound), recorded in this transaction and sent after commit."""
    from workspaces.outbound import services as outbound

    payload = crm_lifecycle_payload(workspace=workspace, changes=changes)
    if not payload["changes"]:
        return
    endpoint = outbound.endpoint_ensure(
        workspace=workspace, source="scoring.crm", kind="crm", name="CRM (lifecycle)", url=url
    )
    outbound.delivery_enqueue(
        workspace=workspace, endpoint=endpoint, event_type="lifecycle.changed", payload=payload
    )
