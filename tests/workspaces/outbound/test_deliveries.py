"""Signed deliveries: Standard Webhooks signatures verified by the reference library on a
real local receiver, retries as rows with backoff, the auto-disable, replay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from workspaces.errors import Conflict
from workspaces.outbound import services
from workspaces.outbound.models import WebhookDelivery, WebhookEndpoint
from workspaces.outbound.tasks import deliveries_due

from .servers import reply, serving

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]


def endpoint_for(ws, url, source="test.crm"):
    return services.endpoint_ensure(workspace=ws, source=source, kind="crm", name="CRM", url=url)


def enqueue(ws, endpoint, capture, payload=None):
    with capture(execute=True):
        return services.delivery_enqueue(
            workspace=ws,
            endpoint=endpoint,
            event_type="thing.happened",
            payload=payload or {"n": 1},
        )


def test_a_delivery_is_signed_the_standard_webhooks_way(ws, django_capture_on_commit_callbacks):
    with serving(reply(204, b"")) as receiver:
        endpoint = endpoint_for(ws, receiver.url)
        delivery = enqueue(ws, endpoint, django_capture_on_commit_callbacks, {"é": [1, 2]})
    [request] = receiver.requests
    assert Webhook(endpoint.secret).verify(request["body"], request["headers"]) == {"é": [1, 2]}
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["webhook-id"] == delivery.message_id and headers["webhook-signature"].startswith(
        "v1,"
    )
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_status, delivery.attempt) == ("succeeded", 204, 1)
    assert delivery.duration_ms is not None and delivery.request_excerpt == '{"\\u00e9":[1,2]}'
    other = endpoint_for(ws, receiver.url, source="test.other")
    assert other.secret != endpoint.secret  # a secret per endpoint


def test_failures_are_retried_as_rows_with_growing_backoff_up_to_the_cap(
    ws, settings, django_capture_on_commit_callbacks
):
    settings.OUTBOUND_MAX_ATTEMPTS = 3
    with serving(reply(503, b"busy")) as receiver:
        endpoint = endpoint_for(ws, receiver.url)
        enqueue(ws, endpoint, django_capture_on_commit_callbacks)
        for expected in (2, 3):
            pending = WebhookDelivery.objects.get(workspace=ws, status="pending")
            assert pending.attempt == expected
            wait = pending.next_attempt_at - timezone.now()
            assert wait > timedelta(seconds=25 * 4 ** (expected - 2))
            WebhookDelivery.objects.filter(pk=pending.pk).update(
                next_attempt_at=timezone.now() - timedelta(seconds=1)
            )
            assert deliveries_due.apply().get() == 1
    attempts = list(WebhookDelivery.objects.filter(workspace=ws).order_by("attempt"))
    assert [(d.attempt, d.status, d.response_status) for d in attempts] == [
        (1, "failed", 503),
        (2, "failed", 503),
        (3, "failed", 503),
    ]
    assert len({d.message_id for d in attempts}) == 1 and len(receiver.requests) == 3


def test_a_client_error_is_not_retried(ws, django_capture_on_commit_callbacks):
    with serving(reply(400, b"bad")) as receiver:
        enqueue(ws, endpoint_for(ws, receiver.url), django_capture_on_commit_callbacks)
    [only] = WebhookDelivery.objects.filter(workspace=ws)
    assert (only.status, only.response_status, only.error) == ("failed", 400, "HTTP 400")


def test_an_attempt_lost_with_its_worker_is_picked_up_after_the_lease(ws):
    with serving(reply(200)) as receiver:
        endpoint = endpoint_for(ws, receiver.url)
        lost = WebhookDelivery.objects.create(
            workspace=ws,
            endpoint=endpoint,
            event_type="x",
            message_id="msg_lost",
            url=endpoint.url,
            payload={},
            status="sending",
            next_attempt_at=timezone.now() - timedelta(seconds=1),
        )
        assert deliveries_due.apply().get() == 1
    lost.refresh_from_db()
    assert lost.status == "succeeded" and len(receiver.requests) == 1


def test_an_endpoint_that_keeps_failing_is_disabled_and_then_skipped(ws, settings):
    settings.OUTBOUND_DISABLE_AFTER_FAILURES = 3
    with serving(reply(500)) as receiver:
        endpoint = endpoint_for(ws, receiver.url)
        for i in range(4):
            response = services.delivery_send(
                workspace=ws, endpoint=endpoint, event_type="x", payload={}, message_id=f"m{i}"
            )
            assert not response.ok
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled and "3 failed attempts in a row" in endpoint.disabled_reason
    assert len(receiver.requests) == 3
    skipped = WebhookDelivery.objects.get(workspace=ws, message_id="m3")
    assert skipped.status == "skipped" and "disabled" in skipped.error
    services.endpoint_enable(workspace=ws, endpoint=endpoint)
    endpoint.refresh_from_db()
    assert endpoint.is_enabled and endpoint.consecutive_failures == 0


def test_an_endpoint_failing_for_days_is_disabled_and_a_success_resets_the_count(ws, settings):
    with serving(reply(500)) as failing:
        endpoint = endpoint_for(ws, failing.url)
        services.delivery_send(
            workspace=ws, endpoint=endpoint, event_type="x", payload={}, message_id="a"
        )
    endpoint.refresh_from_db()
    assert endpoint.is_enabled and endpoint.consecutive_failures == 1
    with serving(reply(200)) as fine:
        endpoint = endpoint_for(ws, fine.url)  # a new URL starts clean, too
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=5)
        services.delivery_send(
            workspace=ws, endpoint=endpoint, event_type="x", payload={}, message_id="b"
        )
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0 and endpoint.last_success_at is not None
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(days=settings.OUTBOUND_DISABLE_AFTER_DAYS + 1),
        consecutive_failures=1,
    )
    services.delivery_send(
        workspace=ws, endpoint=endpoint, event_type="x", payload={}, message_id="c"
    )
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled and "without a success" in endpoint.disabled_reason


def test_replay_sends_the_same_message_again_and_is_refused_on_a_disabled_endpoint(
    ws, django_capture_on_commit_callbacks
):
    with serving(reply(200)) as receiver:
        endpoint = endpoint_for(ws, receiver.url)
        first = enqueue(ws, endpoint, django_capture_on_commit_callbacks, {"order": 7})
        with django_capture_on_commit_callbacks(execute=True):
            replay = services.delivery_replay(workspace=ws, delivery=first)
    replay.refresh_from_db()
    assert replay.replay_of_id == first.pk and replay.status == "succeeded"
    one, two = receiver.requests
    assert one["body"] == two["body"]
    assert one["headers"]["webhook-id"] == two["headers"]["webhook-id"] == first.message_id
    Webhook(endpoint.secret).verify(two["body"], two["headers"])
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_enabled=False)
    with pytest.raises(Conflict, match="disabled"):
        services.delivery_replay(workspace=ws, delivery=first)


def test_the_log_is_pruned_after_its_retention(ws, settings):
    with serving(reply(200)) as receiver:
        endpoint = endpoint_for(ws, receiver.url)
        for key in ("old", "new"):
            services.delivery_send(
                workspace=ws, endpoint=endpoint, event_type="x", payload={}, message_id=key
            )
    WebhookDelivery.objects.filter(message_id="old").update(
        created_at=timezone.now() - timedelta(days=settings.OUTBOUND_LOG_DAYS + 1)
    )
    assert services.deliveries_prune() == 1
    assert list(WebhookDelivery.objects.values_list("message_id", flat=True)) == ["new"]
