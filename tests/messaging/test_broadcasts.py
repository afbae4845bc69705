"""Broadcasts: fan-out to a segment, scheduling, local time, A/B tests, cancel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from messaging.models import Broadcast, Message, MessageStatus
from messaging.services.broadcasts import (
    BroadcastInput,
    VariantInput,
    broadcast_cancel,
    broadcast_fanout,
    broadcast_save,
    broadcast_send,
    broadcasts_tick,
)
from segments.services import segment_create, static_list_add
from workspaces.errors import ValidationFailed

from .conftest import make_contact, make_template

pytestmark = pytest.mark.django_db


def static_segment(ws, contacts, name="List"):
    segment = segment_create(workspace=ws, name=name, kind="static")
    static_list_add(segment=segment, contact_ids=[c.pk for c in contacts], source="manual")
    return segment


@pytest.fixture
def people(ws):
    return [make_contact(ws, email=f"p{i}@example.com", first_name=f"P{i}") for i in range(10)]


def new_broadcast(ws, template, segment, **fields):
    return broadcast_save(
        workspace=ws,
        data=BroadcastInput(
            name=fields.pop("name", "Spring sale"),
            segment_id=segment.pk,
            email_template=template,
            **fields,
        ),
    )


def test_a_broadcast_reaches_every_member_once_and_skips_the_unsubscribed(
    ws, people, template, smtp_settings, django_capture_on_commit_callbacks
):
    people[0].email_consent = "unsubscribed"
    people[0].save()
    outsider = make_contact(ws, email="not-in-list@example.com")
    broadcast = new_broadcast(ws, template, static_segment(ws, people))
    with django_capture_on_commit_callbacks(execute=True):
        broadcast_send(workspace=ws, broadcast=broadcast)
    received = smtp_settings.wait_for(9)
    assert sorted(smtp_settings.recipients()) == sorted(p.email for p in people[1:])
    assert outsider.email not in smtp_settings.recipients()
    assert all(m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" for m in received)
    assert {m["Subject"] for m in received} == {f"Welcome, P{i}" for i in range(1, 10)}
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.SENT and broadcast.recipients_total == 10
    skipped = Message.objects.get(broadcast=broadcast, contact=people[0])
    assert (skipped.status, skipped.error) == (MessageStatus.SKIPPED, "unsubscribed")


def test_a_repeated_fanout_creates_no_second_message(
    ws, people, template, smtp_settings, django_capture_on_commit_callbacks
):
    broadcast = new_broadcast(ws, template, static_segment(ws, people))
    with django_capture_on_commit_callbacks(execute=True):
        broadcast_send(workspace=ws, broadcast=broadcast)
    smtp_settings.wait_for(10)
    Broadcast.objects.filter(pk=broadcast.pk).update(status=Broadcast.Status.SENDING)
    with django_capture_on_commit_callbacks(execute=True):
        broadcast_fanout(workspace=ws, broadcast_id=broadcast.pk)
    assert Message.objects.filter(broadcast=broadcast).count() == 10
    assert len(smtp_settings.messages) == 10


def test_a_scheduled_broadcast_waits_for_its_time(
    ws, people, template, smtp_settings, django_capture_on_commit_callbacks
):
    later = timezone.now() + timedelta(hours=2)
    broadcast = new_broadcast(ws, template, static_segment(ws, people), scheduled_at=later)
    broadcast = broadcast_send(workspace=ws, broadcast=broadcast)
    assert broadcast.status == Broadcast.Status.SCHEDULED
    broadcasts_tick(now=timezone.now())
    assert not Message.objects.filter(broadcast=broadcast).exists()
    with django_capture_on_commit_callbacks(execute=True):
        broadcasts_tick(now=later + timedelta(seconds=1))
    smtp_settings.wait_for(10)


def test_local_time_delivers_at_the_wall_clock_time_in_each_zone(
    ws, template, django_capture_on_commit_callbacks
):
    berlin = make_contact(ws, email="b@example.com", timezone="Europe/Berlin")
    tokyo = make_contact(ws, email="t@example.com", timezone="Asia/Tokyo")
    # 09:00 on a day two days ahead, as the workspace (UTC) sees it
    day = (timezone.now() + timedelta(days=2)).date()
    nine = datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)
    broadcast = new_broadcast(
        ws, template, static_segment(ws, [berlin, tokyo]), scheduled_at=nine, local_time=True
    )
    broadcast_send(workspace=ws, broadcast=broadcast)
    with django_capture_on_commit_callbacks(execute=True):
        broadcasts_tick(now=nine - timedelta(hours=13))  # Tokyo's 09:00 is near
    due = {m.contact_id: m.send_after for m in Message.objects.filter(broadcast=broadcast)}
    assert due[berlin.pk].astimezone(ZoneInfo("Europe/Berlin")).hour == 9
    assert due[tokyo.pk].astimezone(ZoneInfo("Asia/Tokyo")).hour == 9
    assert due[tokyo.pk] < due[berlin.pk]
    assert set(Message.objects.filter(broadcast=broadcast).values_list("status", flat=True)) == {
        "scheduled"
    }


def test_an_ab_test_sends_variants_to_a_sample_then_the_winner_to_the_rest(
    ws, people, template, layout, smtp_settings, django_capture_on_commit_callbacks
):
    other = make_template(ws, layout, name="Other", subject="Different content")
    broadcast = new_broadcast(
        ws,
        template,
        static_segment(ws, people),
        ab_enabled=True,
        ab_sample_percent=80,  # 4 per variant: 4 of 4 against 0 of 4 is best at 99.6 %
        ab_wait_minutes=60,
        ab_min_recipients=4,
        ab_metric="open",
        variants=[VariantInput("A", subject="Subject A"), VariantInput("B", email_template=other)],
    )
    with django_capture_on_commit_callbacks(execute=True):
        broadcast_send(workspace=ws, broadcast=broadcast)
    sample = smtp_settings.wait_for(8)
    assert sorted(m["Subject"] for m in sample) == ["Different content"] * 4 + ["Subject A"] * 4
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.TESTING
    # Variant B's recipients open it; A's do not.
    Message.objects.filter(broadcast=broadcast, variant__label="B").update(opened_at=timezone.now())
    broadcasts_tick(now=timezone.now())  # the wait is not over: nothing happens
    assert len(smtp_settings.messages) == 8
    with django_capture_on_commit_callbacks(execute=True):
        broadcasts_tick(now=timezone.now() + timedelta(minutes=61))
    everyone = smtp_settings.wait_for(10)
    broadcast.refresh_from_db()
    assert broadcast.ab_winner.label == "B" and broadcast.status == Broadcast.Status.SENT
    assert broadcast.ab_no_winner_reason == ""
    assert [m["Subject"] for m in everyone[8:]] == ["Different content"] * 2
    assert sorted(smtp_settings.recipients()) == sorted(p.email for p in people)


def test_cancelling_stops_what_has_not_gone_out(ws, people, template):
    later = timezone.now() + timedelta(days=1)
    broadcast = new_broadcast(ws, template, static_segment(ws, people), scheduled_at=later)
    broadcast_send(workspace=ws, broadcast=broadcast)
    broadcast_cancel(workspace=ws, broadcast=broadcast)
    broadcasts_tick(now=later + timedelta(minutes=1))
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.CANCELLED
    assert not Message.objects.filter(broadcast=broadcast).exists()


def test_a_broadcast_needs_a_segment_and_a_template(ws, template):
    with pytest.raises(ValidationFailed) as caught:
        broadcast_save(workspace=ws, data=BroadcastInput(name="x", segment_id=999999))
    assert set(caught.value.fields) == {"segment", "email_template"}


def test_a_sent_broadcast_cannot_be_sent_again(ws, people, template, smtp_settings):
    broadcast = new_broadcast(ws, template, static_segment(ws, people))
    broadcast_send(workspace=ws, broadcast=broadcast)
    with pytest.raises(ValidationFailed):
        broadcast_send(workspace=ws, broadcast=broadcast)
