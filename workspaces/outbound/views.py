"""Settings → Webhooks: the workspace's endpoints (secret, health) and the delivery log,
with replay and re-enable. Admins only (MANAGE_WORKSPACE): deliveries carry contact data."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from workspaces.errors import TendrilError
from workspaces.htmx import HtmxHttpRequest
from workspaces.roles import Capability
from workspaces.scoping import scoped, workspace_view

from . import selectors, services
from .models import WebhookDelivery, WebhookEndpoint

MANAGE = Capability.MANAGE_WORKSPACE
PAGE = 50


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 19 else None


def _context(request: HttpRequest) -> dict[str, Any]:
    workspace = request.workspace  # type: ignore[attr-defined]
    endpoints = list(selectors.endpoint_list(workspace=workspace))
    endpoint_id = _int(request.GET.get("endpoint"))
    status = request.GET.get("status", "")
    if status not in WebhookDelivery.Status.values:
        status = ""
    rows = selectors.delivery_list(
        workspace=workspace, endpoint_id=endpoint_id, status=status or None
    )
    before = _int(request.GET.get("before"))
    if before is not None:
        rows = rows.filter(pk__lt=before)
    page = list(rows[: PAGE + 1])
    return {
        "endpoints": endpoints,
        "deliveries": page[:PAGE],
        "older": page[PAGE - 1].pk if len(page) > PAGE else None,
        "endpoint_filter": endpoint_id,
        "status_filter": status,
        "statuses": WebhookDelivery.Status.choices,
    }


@workspace_view(read=MANAGE, write=MANAGE)
def webhooks(request: HtmxHttpRequest) -> HttpResponse:
    template = "outbound/webhooks.html"
    if request.htmx:
        template += "#deliveries"
    return render(request, template, _context(request))


@workspace_view(read=MANAGE, write=MANAGE)
@require_POST
def delivery_replay(request: HtmxHttpRequest, delivery_id: int) -> HttpResponse:
    delivery = get_object_or_404(scoped(request, WebhookDelivery), pk=delivery_id)
    try:
        replay = services.delivery_replay(
            workspace=request.workspace,  # type: ignore[attr-defined]
            delivery=delivery,
        )
    except TendrilError as error:
        messages.error(request, error.message)
        status = 409
    else:
        messages.success(request, f"Replay of delivery {delivery.pk} queued as {replay.pk}.")
        status = 200
    if request.htmx:
        return render(
            request, "outbound/webhooks.html#deliveries", _context(request), status=status
        )
    return redirect(reverse("webhooks"))


@workspace_view(read=MANAGE, write=MANAGE)
@require_POST
def endpoint_enable(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = get_object_or_404(scoped(request, WebhookEndpoint), pk=endpoint_id)
    services.endpoint_enable(workspace=request.workspace, endpoint=endpoint)  # type: ignore[attr-defined]
    messages.success(request, f"“{endpoint.name}” is enabled again.")
    return redirect(reverse("webhooks"))
