"""Settings → Webhooks and /api/v1/webhook-{endpoints,deliveries}/: the delivery log with
replay, the re-enable button; another workspace's delivery or endpoint is a 404."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from workspaces.outbound import services
from workspaces.outbound.models import WebhookDelivery, WebhookEndpoint

from .servers import reply, serving

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    with serving(reply(500, b"receiver down")) as server:
        yield server


def logged(workspace, url, n=1, source="scoring.crm"):
    endpoint = services.endpoint_ensure(
        workspace=workspace, source=source, kind="crm", name="CRM (lifecycle)", url=url
    )
    for i in range(n):
        services.delivery_send(
            workspace=workspace,
            endpoint=endpoint,
            event_type="lifecycle.changed",
            payload={"contact": f"c{i}@acme.test"},
            message_id=f"msg_{source}_{i}",
        )
    return endpoint


def test_the_log_shows_endpoints_and_attempts_with_their_answers(ws, owner_client, receiver):
    logged(ws, receiver.url, n=3)
    page = owner_client.get(reverse("webhooks"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "CRM (lifecycle)" in html and "HTTP 500" in html and "receiver down" in html
    assert html.count("Replay</button>") == 3 and "c2@acme.test" in html


def test_the_log_reads_a_fixed_number_of_queries(ws, owner_client, receiver):
    logged(ws, receiver.url, n=2)
    with CaptureQueriesContext(connection) as few:
        owner_client.get(reverse("webhooks"))
    logged(ws, receiver.url, n=6, source="scoring.slack")
    with CaptureQueriesContext(connection) as many:
        assert owner_client.get(reverse("webhooks")).content.count(b"Replay</button>") == 8
    assert len(many) == len(few)


def test_replay_from_the_page_queues_the_message_again(
    ws, owner_client, receiver, django_capture_on_commit_callbacks
):
    logged(ws, receiver.url)
    first = WebhookDelivery.objects.get(workspace=ws)
    with django_capture_on_commit_callbacks(execute=True):
        answer = owner_client.post(
            reverse("webhook_delivery_replay", args=[first.pk]), HTTP_HX_REQUEST="true"
        )
    assert answer.status_code == 200 and b'id="deliveries"' in answer.content
    assert b"<html" not in answer.content  # the partial only
    replay = WebhookDelivery.objects.get(workspace=ws, replay_of=first, attempt=1)
    assert replay.message_id == first.message_id and len(receiver.requests) == 2


def test_a_disabled_endpoint_shows_why_and_can_be_enabled(ws, owner_client, receiver):
    endpoint = logged(ws, receiver.url)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_enabled=False, disabled_reason="Disabled automatically: 20 failed attempts in a row."
    )
    assert b"20 failed attempts in a row" in owner_client.get(reverse("webhooks")).content
    first = WebhookDelivery.objects.get(workspace=ws)
    refused = owner_client.post(
        reverse("webhook_delivery_replay", args=[first.pk]), HTTP_HX_REQUEST="true"
    )
    assert refused.status_code == 409 and b"enable it first" in refused.content
    owner_client.post(reverse("webhook_endpoint_enable", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.is_enabled


def test_marketers_cannot_see_the_log(ws, member_client, receiver):
    logged(ws, receiver.url)
    assert member_client.get(reverse("webhooks")).status_code == 403


def test_another_workspaces_deliveries_are_not_found(ws, outsider_client, receiver):
    endpoint = logged(ws, receiver.url)
    delivery = WebhookDelivery.objects.get(workspace=ws)
    page = outsider_client.get(reverse("webhooks"))
    assert page.status_code == 200 and b"CRM (lifecycle)" not in page.content
    assert (
        outsider_client.post(reverse("webhook_delivery_replay", args=[delivery.pk])).status_code
        == 404
    )
    assert (
        outsider_client.post(reverse("webhook_endpoint_enable", args=[endpoint.pk])).status_code
        == 404
    )
    assert WebhookDelivery.objects.filter(workspace=ws).count() == 1
    assert len(receiver.requests) == 1


# --- API -------------------------------------------------------------------------------------


def test_the_api_lists_filters_and_replays(ws, api, receiver, django_capture_on_commit_callbacks):
    endpoint = logged(ws, receiver.url, n=2)
    listed = api.get("/api/v1/webhook-deliveries/", {"endpoint": endpoint.pk, "status": "failed"})
    assert listed.status_code == 200
    rows = listed.json()["results"]
    assert len(rows) == 2 and rows[0]["response_excerpt"] == "receiver down"
    assert rows[0]["request_excerpt"].startswith('{"contact":')
    assert "headers" not in rows[0]
    with django_capture_on_commit_callbacks(execute=True):
        replayed = api.post(f"/api/v1/webhook-deliveries/{rows[0]['id']}/replay/")
    assert replayed.status_code == 202 and replayed.json()["replay_of"] == rows[0]["id"]
    endpoints = api.get("/api/v1/webhook-endpoints/").json()["results"]
    assert endpoints[0]["secret"].startswith("whsec_") and endpoints[0]["consecutive_failures"] == 3


def test_the_api_names_a_bad_filter(ws, api):
    bad = api.get("/api/v1/webhook-deliveries/", {"status": "nope"})
    assert bad.status_code == 400 and bad.json()["error"]["fields"]["status"]
    bad = api.get("/api/v1/webhook-deliveries/", {"endpoint": "x"})
    assert bad.status_code == 400 and "endpoint" in bad.json()["error"]["fields"]


def test_the_api_404s_for_another_workspace(ws, outsider_api, receiver):
    endpoint = logged(ws, receiver.url)
    delivery = WebhookDelivery.objects.get(workspace=ws)
    assert outsider_api.get(f"/api/v1/webhook-deliveries/{delivery.pk}/").status_code == 404
    assert outsider_api.post(f"/api/v1/webhook-deliveries/{delivery.pk}/replay/").status_code == 404
    assert outsider_api.post(f"/api/v1/webhook-endpoints/{endpoint.pk}/enable/").status_code == 404
    assert outsider_api.get(f"/api/v1/webhook-endpoints/{endpoint.pk}/").status_code == 404
    assert outsider_api.get("/api/v1/webhook-deliveries/").json()["results"] == []
    assert WebhookDelivery.objects.filter(workspace=ws).count() == 1
