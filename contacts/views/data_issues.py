"""The "Data issues" page: what ingestion rejected or corrected, by kind and field."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from contacts.models import DataIssue
from contacts.services.data_issues import data_issue_dismiss
from workspaces.htmx import HtmxHttpRequest
from workspaces.roles import Capability
from workspaces.scoping import scoped, workspace_view

# What each kind means, for people who did not write the integration.
KIND_HELP = {
    "nul_character": "A string contained a NUL character (\\u0000), which cannot be stored.",
    "too_deep": "Objects nested deeper than the limit (INGEST_MAX_DEPTH).",
    "too_many_keys": "More traits or properties in one call than the limit (INGEST_MAX_KEYS).",
    "string_too_long": "A string or key longer than the limit (INGEST_MAX_STRING_LENGTH).",
    "timestamp_out_of_range": "A timestamp before 1970 or more than a day ahead, after the "
    "clock-skew correction (sentAt).",
    "invalid_trait": "A trait whose value is not valid (email, phone, time zone …): it was "
    "left out, the rest of the call was stored.",
    "attribute_limit": "A new custom attribute beyond the workspace's limit "
    "(CONTACTS_MAX_ATTRIBUTES): it was left out, the rest of the call was stored.",
    "invalid": "A malformed call (a required field missing, a wrong type …).",
    "payload_too_large": "A call or batch over the size limit (32 KB / 500 KB).",
}
ACTIONS = {"rejected", "corrected"}


@workspace_view(read=Capability.VIEW, write=Capability.EDIT_CONTACTS)
def data_issues(request: HtmxHttpRequest) -> HttpResponse:
    action = request.GET.get("action", "")
    issues = scoped(request, DataIssue).order_by("-last_seen_at", "kind", "field")
    if action in ACTIONS:
        issues = issues.filter(action=action)
    rows = [(issue, KIND_HELP.get(issue.kind, "")) for issue in issues[:200]]
    context = {
        "rows": rows,
        "action": action if action in ACTIONS else "",
        "can_edit": request.membership.can(Capability.EDIT_CONTACTS),  # type: ignore[attr-defined]
    }
    if request.htmx and request.htmx.target == "data-issues":
        return render(request, "contacts/data_issues.html#issues", context)
    return render(request, "contacts/data_issues.html", context)


@workspace_view(read=Capability.EDIT_CONTACTS, write=Capability.EDIT_CONTACTS)
def data_issue_clear(request: HttpRequest, issue_id: int) -> HttpResponse:
    issue = get_object_or_404(scoped(request, DataIssue), pk=issue_id)
    if request.method == "POST":
        data_issue_dismiss(issue=issue)
        messages.success(request, "Cleared; it shows again if it happens again.")
    return redirect("contacts:data_issues")
