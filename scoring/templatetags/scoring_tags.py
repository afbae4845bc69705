"""Template helpers for scoring pages."""

from typing import Any

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context: dict[str, Any]) -> int:
    """The current user's unread notification count (the bell's badge)."""
    from scoring.selectors import notifications_unread

    request = context.get("request")
    workspace = getattr(request, "workspace", None)
    if workspace is None or not request.user.is_authenticated:  # type: ignore[union-attr]
        return 0
    return notifications_unread(workspace=workspace, user=request.user)  # type: ignore[union-attr]
