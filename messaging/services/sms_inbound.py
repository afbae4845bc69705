"""Inbound SMS/WhatsApp: opt-out and opt-in keywords, HELP, and replies.

Keywords follow the carriers' (and Twilio's) list, matched on the whole message, any case:
STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT (and OPTOUT, REVOKE) stop at once;
START, UNSTOP (and YES) resubscribe; HELP (INFO) answers with who is writing and how to
stop. Anything else is recorded as `sms.replied` on the contact.

A number belongs to the workspaces that send from it, so a STOP applies in each of them,
also when no contact has that phone yet (the number is suppressed until START).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from contacts.models import Contact
from contacts.services import event_record, events_enqueue_processing
from workspaces.models import Workspace
from workspaces.scoping import dangerously_all_workspaces, workspace_scope

from ..models import MessagingSettings, Suppression
from ..models.audience import SuppressionReason, address_hash
from .audience import contact_resubscribe, contact_unsubscribe, suppression_add

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
START_WORDS = {"START", "UNSTOP", "YES"}
HELP_WORDS = {"HELP", "INFO"}


@dataclass
class InboundResult:
    action: str  # stop, start, help, reply, unknown
    reply: str | None
    contacts: int


def _workspaces_for(sender: str, whatsapp: bool) -> list[Workspace]:
    """The workspaces sending from this number: those that set it, and when it is the
    platform's default number, those that set none (settings rows are created lazily)."""
    field = "whatsapp_from" if whatsapp else "sms_from"
    default = settings.TWILIO_WHATSAPP_FROM if whatsapp else settings.TWILIO_FROM
    # Each workspace's own number is in its settings row: the number names the workspaces.
    with dangerously_all_workspaces(reason="find the workspaces a Twilio number sends for"):
        own = MessagingSettings.objects.filter(**{field: sender}).values("workspace_id")
        match = Q(pk__in=own)
        if sender and sender == default:
            with_other_number = MessagingSettings.objects.exclude(**{field: ""}).values(
                "workspace_id"
            )
            match |= ~Q(pk__in=with_other_number)
        return list(Workspace.objects.filter(match).order_by("pk"))


def _strip(address: str) -> tuple[str, bool]:
    if address.startswith("whatsapp:"):
        return address.removeprefix("whatsapp:"), True
    return address, False


@transaction.atomic
def sms_inbound(*, from_: str, to: str, body: str) -> InboundResult:
    phone, whatsapp = _strip(from_.strip())
    sender, _ = _strip(to.strip())
    if not phone or not sender:
        # Without both numbers nothing can be matched (and an empty sender would match
        # every workspace without its own number).
        return InboundResult("unknown", None, 0)
    body = body.replace("\x00", "")  # PostgreSQL text/jsonb cannot hold NUL
    keyword = " ".join(body.split()).upper()
    workspaces = _workspaces_for(sender, whatsapp)
    names = ", ".join(w.name for w in workspaces) or "this sender"
    touched = 0
    if keyword in STOP_WORDS:
        for workspace in workspaces:
            with workspace_scope(workspace):
                suppression_add(
                    workspace=workspace,
                    channel="sms",
                    address=phone,
                    reason=SuppressionReason.UNSUBSCRIBED,
                    detail=f"replied {keyword}",
                    source="sms",
                )
                for contact in _contacts(workspace, phone):
                    contact_unsubscribe(
                        workspace=workspace,
                        contact=contact,
                        channel="sms",
                        source=f"sms_{keyword.lower()}",
                    )
                    touched += 1
        return InboundResult(
            "stop",
            f"You are unsubscribed from {names}. No more messages will be sent. Reply START to resubscribe.",
            touched,
        )
    if keyword in START_WORDS:
        for workspace in workspaces:
            with workspace_scope(workspace):
                Suppression.objects.filter(
                    workspace=workspace,
                    channel="sms",
                    address_hash=address_hash(phone),
                    reason=SuppressionReason.UNSUBSCRIBED,
                ).delete()
                for contact in _contacts(workspace, phone):
                    contact_resubscribe(
                        workspace=workspace, contact=contact, channel="sms", source="sms_start"
                    )
                    touched += 1
        return InboundResult(
            "start", f"You are subscribed to {names} again. Reply STOP to unsubscribe.", touched
        )
    if keyword in HELP_WORDS:
        return InboundResult(
            "help",
            f"{names}: marketing messages. Reply STOP to unsubscribe. Msg & data rates may apply.",
            0,
        )
    for workspace in workspaces:
        with workspace_scope(workspace):
            for contact in _contacts(workspace, phone):
                event = event_record(
                    workspace=workspace,
                    contact=contact,
                    name="sms.replied",
                    properties={"body": body[:1600], "to": sender, "whatsapp": whatsapp},
                )
                events_enqueue_processing(workspace=workspace, event_ids=[event.pk])
                touched += 1
    return InboundResult("reply" if touched else "unknown", None, touched)


def _contacts(workspace: Workspace, phone: str) -> list[Contact]:
    if not phone:
        return []
    return list(Contact.objects.filter(workspace=workspace, phone=phone))
