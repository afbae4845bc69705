"""Deliverability: complaint and hard-bounce rates per sending domain, broadcast and
workflow, the guard's holds and their Resume button (docs/deliverability.md)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from workspaces.errors import NotFound
from workspaces.export import csv_response
from workspaces.scoping import workspace_view

from ..selectors import deliverability_overview, sending_health_table, source_names
from ..services import sending_hold_release
from .common import EDIT, page


@workspace_view
def deliverability(request: HttpRequest) -> HttpResponse:
    context = deliverability_overview(workspace=request.workspace)  # type: ignore[attr-defined]
    return page(request, "messaging/deliverability.html", context, tab="deliverability")


@workspace_view
def deliverability_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The Sending health table as CSV (the shared streaming helper), the same numbers."""
    header, rows = sending_health_table(workspace=request.workspace)  # type: ignore[attr-defined]
    return csv_response(rows, filename="sending-health", header=header)


@workspace_view(write=EDIT)
@require_POST
def sending_hold_resume(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        hold = sending_hold_release(
            workspace=request.workspace,  # type: ignore[attr-defined]
            hold_id=pk,
            user=request.user,  # type: ignore[arg-type]
        )
    except NotFound as error:  # another workspace's, or resumed already
        raise Http404(str(error)) from error
    key = (hold.source_type, hold.source_owner)
    name = source_names(workspace=request.workspace, keys=[key]).get(key, hold.source_owner)  # type: ignore[attr-defined]
    messages.success(
        request,
        f"Sending resumed for the {hold.get_source_type_display().lower()} “{name}”: "
        "its held messages go out now.",
    )
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("messaging:deliverability")
