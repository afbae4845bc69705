"""Settings → Webhooks in a real browser: the admin sees a failed delivery with the
receiver's status and excerpt, replays it (htmx), and the receiver gets the same message."""

import pytest
from standardwebhooks import Webhook

from tests.conftest import browser_login
from tests.support.worker import wait_for
from tests.workspaces.outbound.servers import reply, serving
from workspaces.outbound import services
from workspaces.outbound.models import WebhookDelivery

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_admin_replays_a_failed_delivery(ws, owner, page, settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    with serving(reply(502, b"bad gateway")) as receiver:
        endpoint = services.endpoint_ensure(
            workspace=ws, source="scoring.crm", kind="crm", name="CRM (lifecycle)", url=receiver.url
        )
        services.delivery_send(
            workspace=ws,
            endpoint=endpoint,
            event_type="lifecycle.changed",
            payload={"changes": [{"email": "ada@example.test"}]},
            message_id="msg_first",
        )
        browser_login(page, owner)
        page.goto("/settings/webhooks/")
        row = page.locator("#deliveries tbody tr").first
        assert "HTTP 502" in row.inner_text() and "bad gateway" in row.inner_text()
        row.get_by_role("button", name="Replay").click()
        page.locator("#deliveries .flash").wait_for()
        assert "queued" in page.locator("#deliveries .flash").inner_text()
        assert "replay of" in page.locator("#deliveries").inner_text()
        wait_for(lambda: len(receiver.requests) == 2, message="the replay to arrive")
    first, again = receiver.requests
    assert first["body"] == again["body"] and again["headers"]["webhook-id"] == "msg_first"
    Webhook(endpoint.secret).verify(again["body"], again["headers"])
    assert WebhookDelivery.objects.filter(workspace=ws, replay_of__isnull=False).exists()
