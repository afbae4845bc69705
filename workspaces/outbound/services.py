"""Signed webhook deliveries: the one way Tendril sends a message to a user-given URL.

- `delivery_send` makes one attempt now and returns what came back (workflow webhook nodes:
  the workflow engine retries the step with backoff, as rows).
- `delivery_enqueue` records a delivery and attempts it after commit on a worker; a failed
  attempt that is worth retrying becomes a new row due later (`OUTBOUND_RETRY_BASE_SECONDS`
  · 4^(n−1), at most 6 h, `OUTBOUND_MAX_ATTEMPTS` in all), claimed by the beat sweep
  `deliveries_claim_due` — no worker ever sleeps.
- Every attempt is a `WebhookDelivery` row; an endpoint that keeps failing is disabled
  (`OUTBOUND_DISABLE_AFTER_FAILURES` in a row, or failing for `OUTBOUND_DISABLE_AFTER_DAYS`)
  until an admin enables it again; `delivery_replay` sends a logged message once more.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from workspaces.errors import Conflict, NotFound
from workspaces.models import Workspace

from . import client
from .models import WebhookDelivery, WebhookEndpoint
from .signing import body_of, extra_headers, signed_headers

# A claimed attempt not finished after this long (its worker died) is attempted again.
LEASE = timedelta(minutes=2)
Status = WebhookDelivery.Status


def retry_delay(attempt: int) -> timedelta:
    """After attempt n: base · 4^(n−1) (30 s, 2 min, 8 min, 32 min …), at most 6 h."""
    return timedelta(
        seconds=min(settings.OUTBOUND_RETRY_BASE_SECONDS * 4 ** (attempt - 1), 6 * 3600)
    )


# --- endpoints ---------------------------------------------------------------------------------


def endpoint_ensure(
    *,
    workspace: Workspace,
    source: str,
    kind: str,
    name: str,
    url: str,
    secret: str | None = None,
) -> WebhookEndpoint:
    """The endpoint of `source`, created or brought up to date. A new URL starts with a
    clean record (enabled, no failures). `secret` None keeps (or generates) its own."""
    endpoint = WebhookEndpoint.objects.for_workspace(workspace).filter(source=source).first()
    if endpoint is None:
        endpoint, _ = WebhookEndpoint.objects.get_or_create(
            workspace=workspace,
            source=source,
            defaults={"kind": kind, "name": name[:200], "url": url, **_secret(secret)},
        )
    changed: dict[str, Any] = {}
    if endpoint.url != url:
        changed.update(url=url, consecutive_failures=0, failing_since=None)
        changed.update(is_enabled=True, disabled_at=None, disabled_reason="")
    if endpoint.name != name[:200]:
        changed["name"] = name[:200]
    if secret is not None and endpoint.secret != secret:
        changed["secret"] = secret
    if changed:
        for field, value in changed.items():
            setattr(endpoint, field, value)
        endpoint.save(update_fields=[*changed, "updated_at"])
    return endpoint


def _secret(secret: str | None) -> dict[str, str]:
    return {"secret": secret} if secret is not None else {}


def endpoint_remove(*, workspace: Workspace, source: str) -> None:
    """The owner no longer sends anywhere (a CRM URL cleared): drop the endpoint and its log."""
    WebhookEndpoint.objects.for_workspace(workspace).filter(source=source).delete()


def endpoint_enable(*, workspace: Workspace, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    if endpoint.workspace_id != workspace.pk:
        raise NotFound("No such webhook endpoint.")
    endpoint.is_enabled, endpoint.disabled_at, endpoint.disabled_reason = True, None, ""
    endpoint.consecutive_failures, endpoint.failing_since = 0, None
    endpoint.save(
        update_fields=[
            "is_enabled",
            "disabled_at",
            "disabled_reason",
            "consecutive_failures",
            "failing_since",
            "updated_at",
        ]
    )
    return endpoint


def _endpoint_record(endpoint: WebhookEndpoint, *, ok: bool) -> None:
    """Count the attempt towards the endpoint's health; disable it when it keeps failing."""
    now = timezone.now()
    rows = WebhookEndpoint.objects.filter(pk=endpoint.pk, workspace_id=endpoint.workspace_id)
    if ok:
        rows.update(consecutive_failures=0, failing_since=None, last_success_at=now)
        return
    rows.update(
        consecutive_failures=F("consecutive_failures") + 1,
        failing_since=Coalesce(F("failing_since"), now),
    )
    current = rows.values("consecutive_failures", "failing_since").first()
    if current is None:
        return
    failures, since = current["consecutive_failures"], current["failing_since"]
    limit, days = settings.OUTBOUND_DISABLE_AFTER_FAILURES, settings.OUTBOUND_DISABLE_AFTER_DAYS
    if failures >= limit:
        reason = f"{failures} failed attempts in a row"
    elif since is not None and since <= now - timedelta(days=days):
        reason = f"failing since {since:%Y-%m-%d %H:%M} UTC without a success"
    else:
        return
    rows.filter(is_enabled=True).update(
        is_enabled=False, disabled_at=now, disabled_reason=f"Disabled automatically: {reason}."
    )


# --- attempts ----------------------------------------------------------------------------------


def _attempt(
    delivery: WebhookDelivery, *, headers: dict[str, Any] | None = None
) -> client.Response:
    """Make the claimed attempt `delivery` and record its outcome on it and its endpoint."""
    endpoint = WebhookEndpoint.objects.filter(
        pk=delivery.endpoint_id, workspace_id=delivery.workspace_id
    ).first()
    if endpoint is None or not endpoint.is_enabled:
        reason = endpoint.disabled_reason if endpoint else "The endpoint was removed."
        response = client.Response(status=None, error=f"endpoint disabled — {reason}")
        _record(delivery, response, status=Status.SKIPPED)
        return response
    now = timezone.now()
    body = body_of(delivery.payload)
    signed = signed_headers(
        secret=endpoint.secret, message_id=delivery.message_id, timestamp=now, body=body
    )
    response = client.post(delivery.url, body=body, headers={**extra_headers(headers), **signed})
    _record(delivery, response, status=Status.SUCCEEDED if response.ok else Status.FAILED)
    _endpoint_record(endpoint, ok=response.ok)
    return response


def _record(delivery: WebhookDelivery, response: client.Response, *, status: str) -> None:
    delivery.status = status
    delivery.response_status = response.status
    delivery.response_excerpt = response.excerpt[: client.EXCERPT_CHARS]
    delivery.duration_ms = response.elapsed_ms
    delivery.error = response.error[:500] or (
        f"HTTP {response.status}" if status == Status.FAILED else ""
    )
    delivery.next_attempt_at = None
    delivery.save(
        update_fields=[
            "status",
            "response_status",
            "response_excerpt",
            "duration_ms",
            "error",
            "next_attempt_at",
            "updated_at",
        ]
    )


def delivery_send(
    *,
    workspace: Workspace,
    endpoint: WebhookEndpoint,
    event_type: str,
    payload: dict[str, Any],
    message_id: str,
    headers: dict[str, Any] | None = None,
) -> client.Response:
    """One attempt now (outside any transaction), logged. The caller retries: the attempt
    number counts the earlier attempts of the same message to this endpoint."""
    mine = WebhookDelivery.objects.for_workspace(workspace).filter(
        endpoint=endpoint, message_id=message_id, replay_of=None
    )
    # An attempt still "sending" was cut off by a dying worker; the caller's retry is this.
    mine.filter(status=Status.SENDING).update(
        status=Status.FAILED, error="the worker stopped during the attempt"
    )
    earlier = mine.count()
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        workspace=workspace,
        endpoint=endpoint,
        event_type=event_type,
        message_id=message_id,
        url=endpoint.url,
        payload=payload,
        attempt=earlier + 1,
        status=Status.SENDING,
        attempted_at=now,
        next_attempt_at=None,  # the caller retries, not the sweep
    )
    return _attempt(delivery, headers=headers)


def delivery_enqueue(
    *,
    workspace: Workspace,
    endpoint: WebhookEndpoint,
    event_type: str,
    payload: dict[str, Any],
    replay_of: WebhookDelivery | None = None,
) -> WebhookDelivery:
    """Record a delivery (in the caller's transaction) and attempt it on a worker after
    commit; failures worth retrying are retried with backoff."""
    from .tasks import delivery_attempt_task

    delivery = WebhookDelivery.objects.create(
        workspace=workspace,
        endpoint=endpoint,
        event_type=event_type,
        message_id=replay_of.message_id if replay_of else f"msg_{uuid.uuid4().hex}",
        url=endpoint.url,
        payload=payload,
        attempt=1,
        status=Status.PENDING,
        # If the task is lost (broker restart), the sweep finds the row after the lease.
        next_attempt_at=timezone.now() + LEASE,
        replay_of=replay_of,
    )
    transaction.on_commit(lambda: delivery_attempt_task.delay(workspace.pk, delivery.pk))
    return delivery


def delivery_attempt(*, workspace: Workspace, delivery_id: int) -> WebhookDelivery | None:
    """Attempt a queued delivery (task body). Only the worker that claims the pending row
    attempts it; a failure worth retrying queues attempt n + 1 for later."""
    now = timezone.now()
    claimed = (
        WebhookDelivery.objects.for_workspace(workspace)
        .filter(pk=delivery_id, status=Status.PENDING)
        .update(status=Status.SENDING, attempted_at=now, next_attempt_at=now + LEASE)
    )
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.for_workspace(workspace).get(pk=delivery_id)
    response = _attempt(delivery)
    if (
        not response.ok
        and delivery.status == Status.FAILED
        and response.retryable
        and delivery.attempt < settings.OUTBOUND_MAX_ATTEMPTS
    ):
        WebhookDelivery.objects.create(
            workspace=workspace,
            endpoint_id=delivery.endpoint_id,
            event_type=delivery.event_type,
            message_id=delivery.message_id,
            url=delivery.url,
            payload=delivery.payload,
            attempt=delivery.attempt + 1,
            status=Status.PENDING,
            next_attempt_at=timezone.now() + retry_delay(delivery.attempt),
            replay_of=delivery.replay_of,
        )
    return delivery


def delivery_replay(*, workspace: Workspace, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a logged message again (same `webhook-id` and payload) to its endpoint's
    current URL, as a new queued delivery."""
    if delivery.workspace_id != workspace.pk:
        raise NotFound("No such delivery.")
    endpoint = WebhookEndpoint.objects.for_workspace(workspace).get(pk=delivery.endpoint_id)
    if not endpoint.is_enabled:
        raise Conflict(f"The endpoint “{endpoint.name}” is disabled; enable it first.")
    return delivery_enqueue(
        workspace=workspace,
        endpoint=endpoint,
        event_type=delivery.event_type,
        payload=delivery.payload,
        replay_of=delivery,
    )


CLAIM_DUE_SQL = """
UPDATE outbound_webhookdelivery AS d
SET status = 'pending', next_attempt_at = %(lease_until)s
FROM (
    SELECT id FROM outbound_webhookdelivery
    WHERE status IN ('pending', 'sending') AND next_attempt_at <= %(now)s
    ORDER BY next_attempt_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
) AS due
WHERE d.id = due.id
RETURNING d.workspace_id, d.id
"""


def deliveries_claim_due(*, limit: int = 500) -> list[tuple[int, int]]:
    """(workspace id, delivery id) of the deliveries whose time has come: retries whose
    backoff is over, and attempts whose worker died (lease over). Across workspaces: this
    is the beat sweep, which only hands each row to a per-workspace task."""
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(CLAIM_DUE_SQL, {"now": now, "lease_until": now + LEASE, "limit": limit})
        return [(int(w), int(d)) for w, d in cursor.fetchall()]


def deliveries_prune(*, now: datetime | None = None) -> int:
    """Drop finished deliveries older than OUTBOUND_LOG_DAYS (the log is for debugging and
    replay, not an archive; it holds contact data)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.OUTBOUND_LOG_DAYS)
    deleted, _ = WebhookDelivery.objects.filter(
        created_at__lt=cutoff, status__in=[Status.SUCCEEDED, Status.FAILED, Status.SKIPPED]
    ).delete()
    return deleted
