"""Reads of endpoints and the delivery log."""

from __future__ import annotations

from django.db.models import QuerySet

from workspaces.models import Workspace

from .models import WebhookDelivery, WebhookEndpoint


def endpoint_list(*, workspace: Workspace) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.for_workspace(workspace).order_by("kind", "name", "pk")


def endpoint_get(*, workspace: Workspace, source: str) -> WebhookEndpoint | None:
    return WebhookEndpoint.objects.for_workspace(workspace).filter(source=source).first()


def delivery_list(
    *, workspace: Workspace, endpoint_id: int | None = None, status: str | None = None
) -> QuerySet[WebhookDelivery]:
    rows = (
        WebhookDelivery.objects.for_workspace(workspace)
        .select_related("endpoint")
        .order_by("-created_at", "-pk")
    )
    if endpoint_id is not None:
        rows = rows.filter(endpoint_id=endpoint_id)
    if status:
        rows = rows.filter(status=status)
    return rows
