"""`{% postal_address_banner %}`: the warning that marketing email is refused until the
workspace's postal address is set, for pages outside Messages (workflow pages, the
dashboard). Messages pages show the same banner from their tabs, without another query."""

from __future__ import annotations

from typing import Any

from django import template

from workspaces.roles import Capability

from ..services.config import messaging_settings

register = template.Library()


@register.inclusion_tag("messaging/_postal_address_banner.html", takes_context=True)
def postal_address_banner(context: dict[str, Any]) -> dict[str, Any]:
    request = context.get("request")
    workspace = getattr(request, "workspace", None)
    membership = getattr(request, "membership", None)
    if workspace is None:
        return {"config": None}
    return {
        "config": messaging_settings(workspace=workspace),
        "can_edit": membership is not None and membership.can(Capability.EDIT_MARKETING),
    }
