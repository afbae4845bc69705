"""Platform endpoints that belong to no app: health."""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

from workspaces.scoping import public_view


@public_view("load-balancer health probe; returns no tenant data")
def healthz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["postgres"] = "ok"
        # Row Level Security applies only when the connection could become DB_APP_ROLE: a
        # server running as the owner would serve without the second wall (docs/security.md).
        if settings.TENANT_RLS and not getattr(connection, "tenant_role_active", False):
            checks["postgres"] = f"error: cannot SET ROLE {settings.DB_APP_ROLE} (TENANT_RLS)"
    except Exception as error:  # noqa: BLE001 — any failure means unhealthy
        checks["postgres"] = f"error: {error.__class__.__name__}"
    try:
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2)
        client.ping()
        checks["redis"] = "ok"
    except Exception as error:  # noqa: BLE001
        checks["redis"] = f"error: {error.__class__.__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unhealthy", "checks": checks},
        status=200 if healthy else 503,
    )
