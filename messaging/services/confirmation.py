"""The double opt-in confirmation email (a system email: not a campaign, no tracking)."""

from __future__ import annotations

from email.utils import formataddr

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from contacts.models import ConsentStatus, Contact
from workspaces.models import Workspace

from .. import tokens
from ..channels import email as email_channel
from .config import messaging_settings


def confirmation_email_send(*, workspace: Workspace, contact_id: int, source: str) -> bool:
    contact = Contact.objects.filter(workspace=workspace, pk=contact_id).first()
    if contact is None or not contact.email or contact.email_consent != ConsentStatus.PENDING:
        return False
    config = messaging_settings(workspace=workspace)
    context = {
        "workspace": workspace,
        "contact": contact,
        "confirm_url": tokens.confirm_url(workspace.pk, contact.pk, source),
        "address": config.postal_address,
    }
    message = EmailMultiAlternatives(
        subject=f"Please confirm your subscription to {workspace.name}",
        body=render_to_string("messaging/email/confirm_subscription.txt", context),
        from_email=formataddr((config.sender_name, config.sender_email)),
        to=[contact.email],
        reply_to=[config.reply_to] if config.reply_to else None,
    )
    message.attach_alternative(
        render_to_string("messaging/email/confirm_subscription.html", context), "text/html"
    )
    email_channel.send(message)
    return True
