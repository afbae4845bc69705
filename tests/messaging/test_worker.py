"""End to end with a real Celery worker process: a broadcast and a test send leave through the
worker's persistent SMTP connection and arrive at the sink correct in every header."""

from __future__ import annotations

import pytest

from messaging.models import Broadcast, Message
from messaging.services import test_send as send_a_test
from messaging.services.broadcasts import BroadcastInput, broadcast_save, broadcast_send
from tests.support.worker import running_worker, smtp_env, wait_for

from .conftest import make_contact, make_template

pytestmark = [pytest.mark.integration]

SITE = "https://app.tendril.test"


@pytest.fixture
def worker(transactional_db, smtp_sink):
    with running_worker(extra_env=smtp_env(smtp_sink, SITE_URL=SITE)) as proc:
        yield proc


def test_a_broadcast_and_a_test_send_arrive_through_a_real_worker(ws, worker, smtp_sink):
    from messaging.services import layout_save
    from segments.services import segment_create, static_list_add

    from .conftest import LAYOUT

    layout = layout_save(workspace=ws, name="Default", html=LAYOUT)
    template = make_template(
        ws, layout, from_email="news@acme.test", from_name="Acme News", reply_to="help@acme.test"
    )
    people = [make_contact(ws, email=f"w{i}@example.com", first_name=f"W{i}") for i in range(3)]
    segment = segment_create(workspace=ws, name="Everyone", kind="static")
    static_list_add(segment=segment, contact_ids=[p.pk for p in people], source="manual")
    broadcast = broadcast_save(
        workspace=ws,
        data=BroadcastInput(name="Launch", segment_id=segment.pk, email_template=template),
    )
    broadcast_send(workspace=ws, broadcast=broadcast)
    send_a_test(workspace=ws, template=template, to="qa@acme.test", contact=people[0])

    received = smtp_sink.wait_for(4, timeout=60)
    by_to = {m["To"]: m for m in received}
    assert set(by_to) == {"w0@example.com", "w1@example.com", "w2@example.com", "qa@acme.test"}
    for address, mail in by_to.items():
        assert mail["From"] == "Acme News <news@acme.test>"
        assert mail["Reply-To"] == "help@acme.test"
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "<https://app.tendril.test/m/u/" in mail["List-Unsubscribe"]
        assert "<mailto:unsubscribe@" in mail["List-Unsubscribe"]
        assert mail["Message-ID"].endswith("@tendril.local>")
        html = mail.get_body(("html",)).get_content()
        assert 'style="color: #0f766e;"' in html and "https://app.tendril.test/m/o/" in html
        assert mail.get_body(("plain",)) is not None
    assert by_to["w1@example.com"]["Subject"] == "Welcome, W1"
    assert by_to["qa@acme.test"]["Subject"] == "[Test] Welcome, W0"
    wait_for(
        lambda: Broadcast.objects.get(pk=broadcast.pk).status == "sent", message="broadcast sent"
    )
    wait_for(
        lambda: Message.objects.filter(broadcast=broadcast, status="sent").count() == 3,
        message="messages marked sent",
    )
    stored = {m.to_address: m.provider_message_id for m in Message.objects.filter(workspace=ws)}
    assert stored["w2@example.com"] == by_to["w2@example.com"]["Message-ID"]
    assert smtp_sink.handler.connections == 1  # the worker held one SMTP session for all four
