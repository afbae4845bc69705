"""Sending health and messages over time in a real browser (issue #17): the dashboard's health
panel with a broadcast the guard paused, resumed from there; a broadcast's messages per day
drawn as a chart with its table. Screenshots go to artifacts/deliverability/ (git-ignored)."""

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from analytics.rollups import dirty_hours_mark, rollups_refresh
from contacts.models import Contact
from contacts.services import event_record
from messaging.models import Broadcast, Message, SendingHold
from messaging.services.deliverability import source_guard
from tests.conftest import browser_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "deliverability"


def _shot(page, name):  # noqa: ANN001
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _handed_over(ws, broadcast, contact, n, complaints):  # noqa: ANN001
    now = timezone.now()
    Message.objects.bulk_create(
        Message(
            workspace=ws, contact=contact, channel="email", source_type="broadcast",
            source_id=f"{broadcast.pk}:{i}", source_owner=str(broadcast.pk), broadcast=broadcast,
            status="delivered", provider_called_at=now, sent_at=now, sending_domain="acme.test",
            complained_at=now if i < complaints else None,
        )
        for i in range(n)
    )  # fmt: skip


def test_the_health_panel_shows_a_paused_broadcast_and_resumes_it(page, ws, owner, settings):
    settings.MESSAGING_GUARD_MIN_VOLUME = 1000
    ada = Contact.objects.create(workspace=ws, email="ada@example.test")
    spring = Broadcast.objects.create(workspace=ws, name="Spring sale", segment_id=1)
    autumn = Broadcast.objects.create(workspace=ws, name="Autumn news", segment_id=1)
    _handed_over(ws, spring, ada, 1000, complaints=6)  # 0.6 %: red
    _handed_over(ws, autumn, ada, 1000, complaints=1)  # 0.1 %: amber
    assert source_guard(workspace=ws, source_type="broadcast", owner=str(spring.pk))

    browser_login(page, owner)
    page.goto("/analytics/")
    panel = page.locator("#deliverability-health")
    panel.wait_for()
    assert (
        panel.locator("[data-scope=workspace] [data-level=red]").count() == 1
    )  # 7 of 2,000 = 0.35 %
    assert panel.locator("[data-scope=domain][data-key='acme.test'] [data-level=red]").count() == 1
    holds = panel.locator("#sending-holds")
    assert "Spring sale" in holds.inner_text() and "complaint rate 0.60%" in holds.inner_text()
    _shot(page, "dashboard-health")

    page.goto("/messages/deliverability/")
    rows = page.locator("#deliverability-scopes")
    assert rows.locator(
        f"[data-scope=broadcast][data-key='{autumn.pk}'] [data-level=amber]"
    ).count()
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#sending-holds button:has-text('Resume sending')")
    page.wait_for_selector("text=Sending resumed")
    assert page.locator("#sending-holds").count() == 0
    assert SendingHold.objects.get(workspace=ws).released_by == owner
    _shot(page, "deliverability-resumed")


def test_a_broadcasts_messages_over_time_chart_and_table(page, ws, owner):
    ada = Contact.objects.create(workspace=ws, email="ada@example.test")
    broadcast = Broadcast.objects.create(
        workspace=ws, name="Spring sale", segment_id=1, status="sent", started_at=timezone.now()
    )
    props = {"source_type": "broadcast", "source_id": str(broadcast.pk), "channel": "email"}
    yesterday = timezone.now() - timedelta(days=1)
    for i, (name, extra) in enumerate(
        [("email.sent", {})] * 4
        + [("email.opened", {}), ("email.machine_opened", {"reason": "apple_mpp"})] * 2
        + [("email.clicked", {"first": True})]
    ):
        event_record(
            workspace=ws, contact=ada, name=name, properties={**props, **extra},
            message_id=f"e2e-{i}", timestamp=yesterday,
        )  # fmt: skip
    dirty_hours_mark(workspace=ws, timestamps=[yesterday])
    rollups_refresh()

    browser_login(page, owner)
    page.goto(f"/messages/broadcasts/{broadcast.pk}/")
    page.wait_for_selector("#message-stats-table")
    page.wait_for_function("document.querySelector('#message-stats canvas')._tendrilChart")
    day = yesterday.astimezone(ZoneInfo(ws.timezone or "UTC")).strftime("%Y-%m-%d")
    cells = page.locator(f"#message-stats-table tr[data-day='{day}'] td").all_inner_texts()
    assert cells[:7] == ["4", "0", "0", "0", "2", "2", "1"]
    assert (
        page.locator("#message-stats-csv")
        .get_attribute("href")
        .startswith(f"/analytics/messages/broadcast/{broadcast.pk}/csv/")
    )
    page.locator("#message-stats").scroll_into_view_if_needed()
    _shot(page, "broadcast-messages-over-time")
