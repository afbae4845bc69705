"""The deliverability guard: complaint and hard-bounce rates per workspace, sending domain,
broadcast and workflow; a red source stops sending, its owners are told, a person resumes it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from anymail.signals import AnymailTrackingEvent
from django.utils import timezone

from messaging import tokens
from messaging.models import Message, MessageStatus, SendingHold
from messaging.selectors import deliverability_health, source_health
from messaging.services import deliverability_sweep
from messaging.services.broadcasts import BroadcastInput, broadcast_save, broadcast_send
from messaging.services.deliverability import HOLD_ERROR, source_guard
from messaging.services.tracking import esp_event_apply
from scoring.selectors import notifications_for
from segments.services import segment_create, static_list_add
from tests.conftest import login_client

from .conftest import make_contact

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def handed_over(ws, n, *, owner="11", source_type="broadcast", domain="acme.test", at=NOW,
                hard=0, soft=0, complaints=0, contact=None):  # fmt: skip
    """`n` email messages a provider took `at` (the first `hard` hard-bounced, the next `soft`
    soft-bounced, the first `complaints` of the rest complained)."""
    contact = contact or make_contact(ws, email=f"c-{owner}-{domain}@example.com")
    rows = []
    for i in range(n):
        status, meta, complained = MessageStatus.DELIVERED, {}, None
        if i < hard:
            status, meta = MessageStatus.BOUNCED, {"bounce": "hard"}
        elif i < hard + soft:
            status, meta = MessageStatus.BOUNCED, {"bounce": "soft"}
        elif i < hard + soft + complaints:
            complained = at
        rows.append(
            Message(
                workspace=ws, contact=contact, channel="email", source_type=source_type,
                source_id=f"{owner}:{domain}:{i}", source_owner=owner, status=status, meta=meta,
                provider_called_at=at, sent_at=at, complained_at=complained, sending_domain=domain,
            )
        )  # fmt: skip
    Message.objects.bulk_create(rows)


def test_rates_and_levels_per_scope_by_hand(ws, settings):
    settings.MESSAGING_GUARD_MIN_VOLUME = 1000
    # broadcast 11: 2,000 messages, 2 complaints (0.1 % → amber), 10 hard bounces (0.5 %)
    handed_over(ws, 2000, owner="11", complaints=2, hard=10)
    # broadcast 12 on another domain: 1,000 messages, 3 complaints (0.3 % → red)
    handed_over(ws, 1000, owner="12", domain="news.acme.test", complaints=3, soft=50)
    # workflow 5: 1,000 messages, 20 hard bounces (2 % → red), 10 soft (not counted)
    handed_over(ws, 1000, owner="5", source_type="workflow", hard=20, soft=10)
    # workflow 6: 999 messages with 50 complaints: too few to judge
    handed_over(ws, 999, owner="6", source_type="workflow", complaints=50)
    # outside the 7-day window: not counted
    handed_over(ws, 500, owner="13", complaints=500, at=NOW - timedelta(days=8))

    health = deliverability_health(workspace=ws, now=NOW)
    by = {(h.scope, h.key): h for scope in health.values() for h in scope}
    whole = by[("workspace", "")]
    assert (whole.volume, whole.complaints, whole.hard_bounces) == (4999, 55, 30)
    assert whole.complaint_rate == pytest.approx(55 / 4999) and whole.level == "red"
    b11, b12 = by[("broadcast", "11")], by[("broadcast", "12")]
    assert (b11.complaint_level, b11.bounce_level, b11.level) == ("amber", "green", "amber")
    assert (b12.complaint_level, b12.level) == ("red", "red")
    w5 = by[("workflow", "5")]
    assert (w5.hard_bounce_rate, w5.bounce_level, w5.complaint_level) == (0.02, "red", "green")
    assert by[("workflow", "6")].level == "low_volume"
    assert ("broadcast", "13") not in by
    assert by[("domain", "acme.test")].volume == 3999
    assert by[("domain", "news.acme.test")].complaints == 3
    # an amber hard-bounce level: 1 %
    handed_over(ws, 1000, owner="14", hard=10)
    assert (
        source_health(
            workspace=ws, source_type="broadcast", owner="14", since=NOW - timedelta(days=7)
        ).bounce_level
        == "amber"
    )


def test_the_sweep_holds_only_red_sources_and_tells_the_owners(ws, owner, settings):
    settings.MESSAGING_GUARD_MIN_VOLUME = 1000
    now = timezone.now()
    handed_over(ws, 1000, owner="12", complaints=3, at=now)  # red
    handed_over(ws, 1000, owner="11", complaints=2, at=now)  # amber: shown, not held
    assert deliverability_sweep(workspace=ws) == 1
    hold = SendingHold.objects.get(workspace=ws, released_at__isnull=True)
    assert (hold.source_type, hold.source_owner, hold.volume) == ("broadcast", "12", 1000)
    assert "complaint rate 0.30% (3 of 1000)" in hold.reason
    [note] = notifications_for(workspace=ws, user=owner)
    assert note.kind == "deliverability.held" and note.url == "/messages/deliverability/"
    assert deliverability_sweep(workspace=ws) == 0  # already held: no second hold or note


@pytest.fixture
def people(ws):
    return [make_contact(ws, email=f"p{i:02}@example.com", first_name=f"P{i}") for i in range(20)]


def test_a_hard_bounce_going_red_stops_the_broadcast_mid_batch(
    ws, owner, people, template, smtp_settings, django_capture_on_commit_callbacks, settings
):
    """20 recipients in one send batch: 5 accepted, the 6th refused (550) → 1 hard bounce of
    6 handed over = 16.7 % ≥ 2 % with the minimum volume at 5: red. The 14 others are never
    handed to SMTP; resuming sends them."""
    settings.MESSAGING_GUARD_MIN_VOLUME = 5
    settings.MESSAGING_GUARD_MIN_INTERVAL = 0
    smtp_settings.handler.reject["p05@example.com"] = "550 5.1.1 no such user"
    segment = segment_create(workspace=ws, name="All", kind="static")
    static_list_add(segment=segment, contact_ids=[p.pk for p in people], source="manual")
    broadcast = broadcast_save(
        workspace=ws,
        data=BroadcastInput(name="Spring", segment_id=segment.pk, email_template=template),
    )
    with django_capture_on_commit_callbacks(execute=True):
        broadcast_send(workspace=ws, broadcast=broadcast)
    received = smtp_settings.wait_for(6)
    # the five before the bounce, and the owner's notification email
    assert sorted(smtp_settings.recipients()) == [
        "owner@acme.test",
        *(f"p{i:02}@example.com" for i in range(5)),
    ]
    messages = Message.objects.filter(broadcast=broadcast)
    assert messages.get(contact=people[5]).status == MessageStatus.BOUNCED
    parked = messages.filter(status=MessageStatus.SCHEDULED, error=HOLD_ERROR)
    assert parked.count() == 14
    assert not messages.filter(provider_called_at__isnull=False, pk__in=parked).exists()
    hold = SendingHold.objects.get(workspace=ws, released_at__isnull=True)
    assert (hold.source_type, hold.source_owner) == ("broadcast", str(broadcast.pk))
    assert "hard bounce rate 16.67% (1 of 6)" in hold.reason
    assert [n.kind for n in notifications_for(workspace=ws, user=owner)] == ["deliverability.held"]
    [note] = [m for m in received if m["To"] == "owner@acme.test"]
    assert str(note["Subject"]).strip() == "[Acme] Sending paused: Broadcast “Spring”"

    # The broadcast page says so and offers Resume; resuming sends the 14 held messages.
    client = login_client(owner)
    page = client.get(f"/messages/broadcasts/{broadcast.pk}/")
    assert b'id="sending-hold"' in page.content and b"Resume sending" in page.content
    smtp_settings.handler.reject.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/messages/deliverability/holds/{hold.pk}/resume/")
    assert response.status_code == 302
    smtp_settings.wait_for(20)  # 19 recipients and the notification
    assert messages.filter(status=MessageStatus.SENT).count() == 19
    hold.refresh_from_db()
    assert hold.released_at is not None and hold.released_by == owner


def test_complaints_from_the_esp_hold_a_workflow(
    ws, owner, contact, template, smtp_settings, django_capture_on_commit_callbacks, settings
):
    """A complaint recorded by the ESP webhook path evaluates its workflow: 1 complaint of 3
    messages ≥ 0.3 % with the minimum volume at 3 → held; the workflow's next message waits."""
    from messaging.services import message_enqueue

    settings.MESSAGING_GUARD_MIN_VOLUME = 3
    settings.MESSAGING_GUARD_MIN_INTERVAL = 0
    others = [make_contact(ws, email=f"w{i}@example.com") for i in range(3)]

    def send(person, run):
        return message_enqueue(
            workspace=ws, contact=person, channel="email", template=template,
            source_type="workflow", source_id=f"{run}:email1",
            context={"workflow": {"id": 42, "name": "Onboarding"}},
        )  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        sent = [send(person, run) for run, person in enumerate([contact, *others[:2]], 1)]
    smtp_settings.wait_for(3)
    event = AnymailTrackingEvent(
        event_type="complained",
        timestamp=timezone.now(),
        metadata={"tendril_message": tokens.esp_reference(ws.pk, sent[0].pk)},
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert esp_event_apply(event, esp_name="postmark") == "complaint"
    hold = SendingHold.objects.get(workspace=ws)
    assert (hold.source_type, hold.source_owner) == ("workflow", "42")
    with django_capture_on_commit_callbacks(execute=True):
        late = send(others[2], 9)
    late.refresh_from_db()
    assert (late.status, late.error) == (MessageStatus.SCHEDULED, HOLD_ERROR)
    smtp_settings.wait_for(4)  # the three sends and the owner's notification, not the late one
    assert others[2].email not in smtp_settings.recipients()
    assert "owner@acme.test" in smtp_settings.recipients()
    assert [n.kind for n in notifications_for(workspace=ws, user=owner)] == ["deliverability.held"]


def test_after_a_resume_only_later_sends_are_judged(ws, settings):
    settings.MESSAGING_GUARD_MIN_VOLUME = 100
    now = timezone.now()
    handed_over(ws, 100, owner="12", complaints=3, at=now - timedelta(hours=1))
    hold = source_guard(workspace=ws, source_type="broadcast", owner="12")
    assert hold is not None
    SendingHold.objects.filter(pk=hold.pk).update(released_at=now - timedelta(minutes=30))
    assert source_guard(workspace=ws, source_type="broadcast", owner="12") is None


def test_the_deliverability_page_and_resume_are_this_workspaces_only(
    ws, other_ws, owner, outsider, settings
):
    settings.MESSAGING_GUARD_MIN_VOLUME = 10
    now = timezone.now()
    handed_over(ws, 10, owner="12", complaints=1, at=now, domain="secret-domain.test")
    hold = source_guard(workspace=ws, source_type="broadcast", owner="12")
    page = login_client(owner).get("/messages/deliverability/")
    assert page.status_code == 200
    assert b"secret-domain.test" in page.content and b'data-level="red"' in page.content
    csv = b"".join(login_client(owner).get("/messages/deliverability/csv/").streaming_content)
    assert b"domain,secret-domain.test,secret-domain.test,10,1,0.1,0,0.0,red" in csv
    outsiders = login_client(outsider)
    assert b"secret-domain.test" not in outsiders.get("/messages/deliverability/").content
    other_csv = b"".join(outsiders.get("/messages/deliverability/csv/").streaming_content)
    assert b"secret-domain.test" not in other_csv and other_csv.startswith(b"scope,key")
    assert outsiders.post(f"/messages/deliverability/holds/{hold.pk}/resume/").status_code == 404
    hold.refresh_from_db()
    assert hold.released_at is None


def test_the_api_answers_the_csvs_lines_for_this_workspace_only(
    ws, owner, api, outsider_api, settings
):
    settings.MESSAGING_GUARD_MIN_VOLUME = 10
    handed_over(ws, 10, owner="12", complaints=1, at=timezone.now(), domain="secret-domain.test")
    response = login_client(owner).get("/messages/deliverability/csv/")
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    body = api.get("/api/v1/analytics/deliverability/").json()
    assert body["columns"] == lines[0] and len(body["rows"]) == len(lines) - 1 >= 3
    assert [[str(row[c]) for c in body["columns"]] for row in body["rows"]] == lines[1:]
    domain = next(row for row in body["rows"] if row["scope"] == "domain")
    assert (domain["complaint_rate"], domain["level"]) == (0.1, "red")
    theirs = outsider_api.get("/api/v1/analytics/deliverability/")
    assert theirs.status_code == 200 and "secret-domain.test" not in theirs.content.decode()
