"""Helpers shared by the Messages pages."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from contacts.models import Contact
from workspaces.roles import Capability
from workspaces.scoping import scoped

from ..models import EmailTemplate
from ..selectors import merge_tags
from ..services.config import messaging_settings

EDIT = Capability.EDIT_MARKETING


def page(
    request: HttpRequest, template: str, context: dict[str, Any], *, tab: str, status: int = 200
) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    context = {
        "tab": tab,
        "config": messaging_settings(workspace=workspace),
        "can_edit": request.membership.can(EDIT),  # type: ignore[attr-defined]
        "can_edit_contacts": request.membership.can(Capability.EDIT_CONTACTS),  # type: ignore[attr-defined]
        **context,
    }
    return render(request, template, context, status=status)


def preview_contact(request: HttpRequest, value: str | None) -> Contact | None:
    """The contact a preview is rendered for: by id or email, in this workspace only."""
    value = (value or "").strip()
    if not value:
        return None
    contacts = scoped(request, Contact)
    if value.isdigit():
        return contacts.filter(pk=int(value)).first()
    return contacts.filter(email=value.lower()).first()


def block_editor_boot(
    request: HttpRequest, template: EmailTemplate | None = None
) -> dict[str, object]:
    """What the block editor island starts from (json_script "email-boot"): the template
    (None: a new one), the workspace's merge tags, where a saved template lives."""
    workspace = request.workspace  # type: ignore[attr-defined]
    boot: dict[str, object] = {
        "template": None,
        "mergeTags": [
            {"group": t.group, "label": t.label, "tag": t.tag}
            for t in merge_tags(workspace=workspace)
        ],
        "urls": {"edit": reverse("messaging:template_edit", args=[0])},
        "starters": request.GET.get("start") == "starter",
        "testTo": request.user.email,  # type: ignore[union-attr]
    }
    if template is not None:
        boot["template"] = {
            "id": template.pk,
            "name": template.name,
            "subject": template.subject,
            "preheader": template.preheader,
            "document": template.document,
            "version": template.current_version.number if template.current_version else None,
        }
    return boot
