"""Send-time optimisation: each contact's best hour, the workspace fallback, exploration and
the control group, and the report comparing them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from contacts.services import event_record
from messaging.models import Message
from messaging.services import sto
from messaging.services.broadcasts import BroadcastInput, broadcast_save, broadcast_send

from .conftest import make_contact
from .test_broadcasts import static_segment

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 6, 0, tzinfo=UTC)  # a Monday, 06:00 UTC


def opened_at(ws, contact, local_hour, zone, days_ago, base=NOW):
    local = (base - timedelta(days=days_ago)).astimezone(ZoneInfo(zone))
    at = local.replace(hour=local_hour, minute=15)
    event_record(workspace=ws, contact=contact, name="email.opened", timestamp=at)


def test_a_contact_with_history_gets_their_own_best_hour(ws):
    night_owl = make_contact(ws, email="owl@example.com", timezone="America/New_York")
    for days in (1, 3, 8):
        opened_at(ws, night_owl, 21, "America/New_York", days)
    opened_at(ws, night_owl, 9, "America/New_York", 2)
    best = sto.contact_best_hours(workspace=ws, contact_ids=[night_owl.pk], now=NOW)
    assert best == {night_owl.pk: 21}


def test_one_open_is_not_enough_history(ws):
    once = make_contact(ws, email="once@example.com")
    opened_at(ws, once, 14, "UTC", 1)
    assert sto.contact_best_hours(workspace=ws, contact_ids=[once.pk], now=NOW) == {}


def test_the_workspace_fallback_is_the_most_common_local_hour(ws):
    for index in range(3):
        person = make_contact(ws, email=f"m{index}@example.com", timezone="Europe/Paris")
        opened_at(ws, person, 7, "Europe/Paris", index + 1)
    assert sto.workspace_best_hour(workspace=ws, now=NOW) == 7


def test_schedule_mixes_personal_fallback_explore_and_control(ws, template):
    owl = make_contact(ws, email="owl@example.com", timezone="America/New_York")
    for days in (1, 2):
        opened_at(ws, owl, 21, "America/New_York", days)
    newbies = [
        make_contact(ws, email=f"n{i}@example.com", timezone="Asia/Tokyo") for i in range(200)
    ]
    segment = static_segment(ws, [owl, *newbies])
    broadcast = broadcast_save(
        workspace=ws,
        data=BroadcastInput(
            name="STO", segment_id=segment.pk, email_template=template, sto_enabled=True
        ),
    )
    choices = sto.schedule(
        workspace=ws, broadcast=broadcast, contact_ids=[owl.pk] + [n.pk for n in newbies], now=NOW
    )
    kinds = [choices[n.pk].meta["sto"] for n in newbies]
    assert 5 <= kinds.count("control") <= 40 and 5 <= kinds.count("explore") <= 40
    assert kinds.count("workspace") > 100
    # The workspace's best hour comes from the owl's opens at 21:00 New York time.
    fallback = next(choices[n.pk] for n in newbies if choices[n.pk].meta["sto"] == "workspace")
    assert fallback.meta["sto_hour"] == 21
    assert fallback.send_after.astimezone(ZoneInfo("Asia/Tokyo")).hour == 21
    if choices[owl.pk].meta["sto"] == "contact":
        assert choices[owl.pk].send_after == datetime(
            2025, 3, 10, 21, tzinfo=ZoneInfo("America/New_York")
        )
    control = next(choices[n.pk] for n in newbies if choices[n.pk].meta["sto"] == "control")
    assert control.send_after == NOW
    assert all(NOW <= c.send_after <= NOW + timedelta(hours=24) for c in choices.values())


def test_an_sto_broadcast_holds_messages_until_each_best_hour(
    ws, template, django_capture_on_commit_callbacks
):
    owl = make_contact(ws, email="owl@example.com", timezone="UTC")
    for days in (1, 2, 3):
        opened_at(ws, owl, (timezone.now() + timedelta(hours=5)).hour, "UTC", days, timezone.now())
    segment = static_segment(ws, [owl])
    broadcast = broadcast_save(
        workspace=ws,
        data=BroadcastInput(
            name="STO", segment_id=segment.pk, email_template=template, sto_enabled=True
        ),
    )
    broadcast.sto_control_percent = broadcast.sto_explore_percent = 0
    broadcast.save()
    with django_capture_on_commit_callbacks(execute=True):
        broadcast_send(workspace=ws, broadcast=broadcast)
    message = Message.objects.get(broadcast=broadcast)
    assert message.status == "scheduled" and message.meta["sto"] == "contact"
    assert 4 <= (message.send_after - timezone.now()).total_seconds() / 3600 <= 5


def test_the_report_compares_optimised_sends_with_the_fixed_time_control(ws, template):
    segment = static_segment(ws, [make_contact(ws, email="x@example.com")])
    broadcast = broadcast_save(
        workspace=ws,
        data=BroadcastInput(
            name="STO", segment_id=segment.pk, email_template=template, sto_enabled=True
        ),
    )
    now = timezone.now()
    for index in range(10):
        person = make_contact(ws, email=f"r{index}@example.com")
        kind = "control" if index < 4 else "contact"
        opened = index in (0, 4, 5, 6)  # control: 1 of 4 opened; optimised: 3 of 6
        Message.objects.create(
            workspace=ws,
            contact=person,
            channel="email",
            source_type="broadcast",
            source_id=str(broadcast.pk),
            broadcast=broadcast,
            status="sent",
            sent_at=now,
            email_version=template.current_version,
            meta={"sto": kind},
            opened_at=now if opened else None,
        )
    report = sto.sto_report(workspace=ws, broadcast=broadcast)
    assert report["control"] == {"sent": 4, "opened": 1, "open_rate": 0.25}
    assert report["optimised"] == {"sent": 6, "opened": 3, "open_rate": 0.5}
    assert report["lift"] == pytest.approx(1.0)
