"""Send-time rules: quiet hours, frequency cap, rate limit, auto-pause, the dispatcher,
segment-only blocks and the public can_send check."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from messaging.models import Message, MessageStatus, MessagingSettings
from messaging.selectors import can_send, quiet_hours_end
from messaging.services import message_enqueue, messaging_settings_update, sending_resume
from messaging.services.dispatch import messages_dispatch_due
from segments.services import segment_create, static_list_add

from .conftest import make_contact, make_template

pytestmark = pytest.mark.django_db


def enqueue(ws, contact, template, source_id, **kwargs):
    return message_enqueue(
        workspace=ws,
        contact=contact,
        channel="email",
        template=template,
        source_type="workflow",
        source_id=source_id,
        **kwargs,
    )


def test_quiet_hours_wrap_midnight_in_the_contacts_zone():
    zone = ZoneInfo("Europe/Berlin")
    night = dt.datetime(2025, 6, 1, 23, 30, tzinfo=zone)
    end = quiet_hours_end(start=dt.time(21), end=dt.time(8), zone=zone, now=night)
    assert end == dt.datetime(2025, 6, 2, 8, 0, tzinfo=zone)
    early = dt.datetime(2025, 6, 2, 6, 0, tzinfo=zone)
    assert quiet_hours_end(start=dt.time(21), end=dt.time(8), zone=zone, now=early) == end
    noon = dt.datetime(2025, 6, 2, 12, 0, tzinfo=zone)
    assert quiet_hours_end(start=dt.time(21), end=dt.time(8), zone=zone, now=noon) is None


def test_a_message_in_quiet_hours_waits_until_they_end(
    ws, template, smtp_settings, django_capture_on_commit_callbacks
):
    # Quiet hours that cover "now" wherever the contact is: from an hour ago to in two hours.
    zone = ZoneInfo("Asia/Tokyo")
    local_now = timezone.now().astimezone(zone)
    messaging_settings_update(
        workspace=ws,
        quiet_hours_email=True,
        quiet_hours_start=(local_now - timedelta(hours=1)).time().replace(second=0, microsecond=0),
        quiet_hours_end=(local_now + timedelta(hours=2)).time().replace(second=0, microsecond=0),
    )
    person = make_contact(ws, email="tokyo@example.com", timezone="Asia/Tokyo")
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue(ws, person, template, "q:1")
    message.refresh_from_db()
    assert (message.status, message.error) == (MessageStatus.SCHEDULED, "quiet_hours")
    wait = (message.send_after - timezone.now()).total_seconds()
    assert 60 * 60 < wait <= 2 * 60 * 60
    assert smtp_settings.messages == []
    # When the time comes the dispatcher queues it and it goes out.
    Message.objects.filter(pk=message.pk).update(send_after=timezone.now() - timedelta(seconds=1))
    messaging_settings_update(workspace=ws, quiet_hours_email=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert messages_dispatch_due() == 1
    smtp_settings.wait_for(1)


def test_the_frequency_cap_skips_the_message_over_it(
    ws, template, smtp_settings, django_capture_on_commit_callbacks
):
    messaging_settings_update(workspace=ws, frequency_cap_count=2, frequency_cap_days=7)
    person = make_contact(ws, email="busy@example.com")
    results = []
    for index in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            message = enqueue(ws, person, template, f"cap:{index}")
        message.refresh_from_db()
        results.append((message.status, message.error))
    assert results == [("sent", ""), ("sent", ""), ("skipped", "frequency_cap")]
    assert can_send(workspace=ws, contact=person, channel="email") == (False, "frequency_cap")


def test_the_workspace_rate_limit_defers_the_excess(
    ws, template, smtp_settings, settings, django_capture_on_commit_callbacks
):
    settings.MESSAGING_WORKSPACE_RATE_LIMIT = 3
    settings.MESSAGING_WORKSPACE_RATE_WINDOW = 60
    with django_capture_on_commit_callbacks(execute=True):
        for index in range(5):
            enqueue(ws, make_contact(ws, email=f"r{index}@example.com"), template, f"rl:{index}")
    assert len(smtp_settings.wait_for(3)) == 3
    held = Message.objects.filter(workspace=ws, status=MessageStatus.SCHEDULED)
    assert held.count() == 2 and set(held.values_list("error", flat=True)) == {"rate_limited"}


def test_a_burst_of_failures_pauses_the_workspace_until_resumed(
    ws, template, smtp_settings, settings, django_capture_on_commit_callbacks
):
    settings.MESSAGING_PAUSE_AFTER_FAILURES = 3
    people = [make_contact(ws, email=f"f{i}@example.com") for i in range(5)]
    for person in people[:4]:
        smtp_settings.handler.reject[person.email] = "421 4.7.0 try again later"
    with django_capture_on_commit_callbacks(execute=True):
        for index, person in enumerate(people):
            enqueue(ws, person, template, f"burst:{index}")
    config = MessagingSettings.objects.get(workspace=ws)
    assert config.sending_paused and "3 delivery failures" in config.paused_reason
    # the fifth, healthy message is held, not sent, while paused
    last = Message.objects.get(workspace=ws, source_id="burst:4")
    assert last.status == MessageStatus.SCHEDULED and smtp_settings.messages == []
    Message.objects.filter(workspace=ws).update(send_after=timezone.now() - timedelta(seconds=1))
    assert messages_dispatch_due() == 0  # paused workspaces are skipped
    smtp_settings.handler.reject.clear()
    with django_capture_on_commit_callbacks(execute=True):
        sending_resume(workspace=ws)
    smtp_settings.wait_for(5)
    assert not MessagingSettings.objects.get(workspace=ws).sending_paused


def test_a_block_is_shown_only_to_segment_members(
    ws, layout, smtp_settings, django_capture_on_commit_callbacks
):
    vips = segment_create(workspace=ws, name="VIPs", kind="static")
    member = make_contact(ws, email="vip@example.com")
    other = make_contact(ws, email="regular@example.com")
    static_list_add(segment=vips, contact_ids=[member.pk], source="manual")
    template = make_template(
        ws,
        layout,
        name="VIP",
        html=f'<p>Hello</p>{{% if in_segment("{vips.pk}") %}}<p>Secret VIP code</p>{{% endif %}}',
    )
    with django_capture_on_commit_callbacks(execute=True):
        enqueue(ws, member, template, "vip:1")
        enqueue(ws, other, template, "vip:2")
    by_recipient = {m["To"]: m.get_body(("html",)).get_content() for m in smtp_settings.wait_for(2)}
    assert "Secret VIP code" in by_recipient["vip@example.com"]
    assert "Secret VIP code" not in by_recipient["regular@example.com"]


def test_in_segment_with_an_unknown_segment_is_refused_at_save(ws, layout):
    from workspaces.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        make_template(ws, layout, html='<p>x</p>\n{% if in_segment("987654") %}y{% endif %}')
    assert caught.value.fields["html"] == ["Line 2: in_segment: there is no segment 987654"]


def test_can_send_explains_itself(ws):
    person = make_contact(ws, email="ok@example.com")
    assert can_send(workspace=ws, contact=person, channel="email") == (True, "ok")
    assert can_send(workspace=ws, contact=person, channel="sms") == (False, "no_address")
    person.phone = "+15550001234"
    assert can_send(workspace=ws, contact=person, channel="sms") == (False, "no_consent")
    messaging_settings_update(workspace=ws, email_requires_opt_in=True)
    person.email_consent = "unknown"
    assert can_send(workspace=ws, contact=person, channel="email") == (False, "no_consent")


def test_message_enqueue_refuses_another_workspaces_contact(ws, other_ws, template):
    from workspaces.errors import ValidationFailed

    stranger = make_contact(other_ws, email="s@globex.test")
    with pytest.raises(ValidationFailed):
        enqueue(ws, stranger, template, "x:1")
    with pytest.raises(ValidationFailed):
        message_enqueue(
            workspace=other_ws,
            contact=stranger,
            channel="email",
            template=template,
            source_type="workflow",
            source_id="x:2",
        )
