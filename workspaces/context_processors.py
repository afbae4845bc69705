"""What the base layout needs: navigation, the current workspace and the switcher."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from .selectors import workspace_list_for_user

# (label, url name, icon). An entry whose url is not routed yet shows as "coming soon",
# so the shell never links to a page that does not exist.
NAVIGATION = [
    ("Home", "home", "home"),
    ("Contacts", "contacts:list", "users"),
    ("Data issues", "contacts:data_issues", "alert"),
    ("Segments", "segments:list", "filter"),
    ("Workflows", "workflows:list", "flow"),
    ("Messages", "messaging:list", "mail"),
    ("Products", "commerce:catalogue", "bag"),
    ("Leads", "scoring:leads", "star"),
    ("Predictions", "predictions:list", "trend"),
    ("Analytics", "analytics:dashboard", "chart"),
    ("Settings", "settings", "gear"),
]


def _nav(request: HttpRequest) -> list[dict[str, Any]]:
    items = []
    for label, url_name, icon in NAVIGATION:
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            url = None
        items.append({"label": label, "url": url, "icon": icon, "active": False})
    # One current item (announced as aria-current="page"): the longest address the path is
    # under, so Data issues (/contacts/data-issues/) is current there and Contacts is not.
    matches = [
        item
        for item in items
        if item["url"]
        and (request.path == "/" if item["url"] == "/" else request.path.startswith(item["url"]))
    ]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["active"] = True
    return items


def workspace_shell(request: HttpRequest) -> dict[str, Any]:
    workspace = getattr(request, "workspace", None)
    if workspace is None or not request.user.is_authenticated:
        return {}
    return {
        "nav_items": _nav(request),
        "current_workspace": workspace,
        "current_membership": getattr(request, "membership", None),
        "switchable_workspaces": workspace_list_for_user(user=request.user),  # type: ignore[arg-type]
    }
