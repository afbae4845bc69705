"""Machine opens and clicks: Apple Mail Privacy Protection's prefetch and link scanners are
flagged on the message and kept out of people's opens and clicks (messaging/machine.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from contacts.models import Event
from messaging.machine import Hit, click_burst, machine_reason
from messaging.models import Message
from messaging.services import message_enqueue
from messaging.services.tracking import message_clicked, message_opened
from messaging.tokens import MessageRef

pytestmark = pytest.mark.django_db

PIXEL = re.compile(r'src="https://app\.tendril\.test(/m/o/[^"]+)"')
LINK = re.compile(r'href="https://app\.tendril\.test(/m/c/[^"]+)"')
SAFARI = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("hit", "reason"),
    [
        (Hit(user_agent=SAFARI, ip="203.0.113.9", at=T0 + timedelta(hours=1)), ""),
        (Hit(user_agent="Mozilla/5.0", ip="203.0.113.9", at=T0 + timedelta(hours=1)), "apple_mpp"),
        (Hit(user_agent=SAFARI, ip="17.58.63.1", at=T0 + timedelta(hours=1)), "apple_mpp"),
        (Hit(user_agent="Mozilla/5.0 (compatible; Barracuda)", at=T0 + timedelta(hours=1)),
         "scanner_agent"),
        (Hit(user_agent="python-requests/2.31", at=T0 + timedelta(hours=1)), "scanner_agent"),
        (Hit(user_agent=SAFARI, method="HEAD", at=T0 + timedelta(hours=1)), "head_request"),
        (Hit(user_agent=SAFARI, at=T0 + timedelta(seconds=4)), "too_soon"),
        (Hit(user_agent=SAFARI, at=T0 + timedelta(seconds=11)), ""),
        # Gmail's image proxy fetches when the reader opens: a person
        (Hit(user_agent="Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 "
                        "(via ggpht.com GoogleImageProxy)", at=T0 + timedelta(hours=1)), ""),
    ],
)  # fmt: skip
def test_each_kind_of_machine_is_told_from_a_person(hit, reason):
    assert machine_reason(hit, sent_at=T0) == reason


def test_too_soon_counts_from_delivery_when_the_provider_reported_it():
    hit = Hit(user_agent=SAFARI, at=T0 + timedelta(minutes=5, seconds=3))
    assert machine_reason(hit, sent_at=T0, delivered_at=T0 + timedelta(minutes=5)) == "too_soon"
    assert machine_reason(hit, sent_at=T0) == ""


def test_another_link_within_the_burst_window_is_a_burst():
    t = T0.timestamp()
    assert click_burst([("a", t)], "b", t + 1.5)
    assert not click_burst([("a", t)], "a", t + 0.5)  # the same link twice: a double click
    assert not click_burst([("a", t)], "b", t + 3)


@pytest.fixture
def sent(ws, contact, template, smtp_settings, django_capture_on_commit_callbacks):
    """A message that really went through SMTP an hour ago (so no hit is 'too soon')."""
    with django_capture_on_commit_callbacks(execute=True):
        message = message_enqueue(
            workspace=ws,
            contact=contact,
            channel="email",
            template=template,
            source_type="workflow",
            source_id="r1:n1",
            context={"workflow": {"id": 7, "name": "Welcome"}},
        )
    [received] = smtp_settings.wait_for(1)
    Message.objects.filter(pk=message.pk).update(sent_at=T0)
    message.refresh_from_db()
    return message, received.get_body(("html",)).get_content()


def names(contact):
    return sorted(Event.objects.filter(contact=contact).values_list("name", flat=True))


def test_apple_mail_privacy_prefetch_is_a_machine_open_and_the_reader_still_counts(client, sent):
    message, html = sent
    pixel = PIXEL.search(html).group(1)
    response = client.get(pixel, HTTP_USER_AGENT="Mozilla/5.0", REMOTE_ADDR="17.58.1.2")
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    message.refresh_from_db()
    assert message.machine_opened_at is not None and message.opened_at is None
    assert "email.opened" not in names(message.contact)
    assert names(message.contact).count("email.machine_opened") == 1
    assert message.source_owner == "7"  # the workflow its context names

    client.get(pixel, HTTP_USER_AGENT=SAFARI, REMOTE_ADDR="198.51.100.7")  # the reader
    message.refresh_from_db()
    assert message.opened_at is not None
    assert names(message.contact).count("email.opened") == 1


def test_a_scanner_following_a_link_is_redirected_but_not_counted(client, sent):
    message, html = sent
    link = LINK.search(html).group(1)
    for request in (
        lambda: client.head(link, HTTP_USER_AGENT=SAFARI),
        lambda: client.get(link, HTTP_USER_AGENT="Mimecast Safe Links"),
    ):
        response = request()
        assert response.status_code == 302
        assert response["Location"] == "https://example.com/pricing?ref=mail&x=1"
    message.refresh_from_db()
    assert message.clicked_at is None and message.opened_at is None
    assert message.machine_opened_at is not None  # a machine's click implies its open
    assert message.meta["machine_clicks"] is True
    assert "email.clicked" not in names(message.contact)
    assert "email.machine_clicked" in names(message.contact)


def test_a_person_clicking_soon_after_sending_is_a_machine_only_within_the_window(
    ws, contact, template, smtp_settings, django_capture_on_commit_callbacks, client
):
    with django_capture_on_commit_callbacks(execute=True):
        message = message_enqueue(
            workspace=ws, contact=contact, channel="email", template=template,
            source_type="workflow", source_id="r2:n1",
        )  # fmt: skip
    smtp_settings.wait_for(1)
    message.refresh_from_db()
    ref = MessageRef(ws.pk, message.pk)
    assert not message_opened(ref=ref, user_agent=SAFARI, at=message.sent_at + timedelta(seconds=2))
    assert message_opened(ref=ref, user_agent=SAFARI, at=message.sent_at + timedelta(seconds=30))


def test_all_links_clicked_at_once_takes_back_the_first_click(sent):
    message, _ = sent
    ref = MessageRef(message.workspace_id, message.pk)
    at = T0 + timedelta(hours=2)
    assert message_clicked(ref=ref, url="https://example.com/a", user_agent=SAFARI, at=at)
    message.refresh_from_db()
    assert message.clicked_at == at  # counted as the person's, for now
    for n, url in enumerate(("https://example.com/b", "https://example.com/c"), 1):
        later = at + timedelta(milliseconds=300 * n)
        assert not message_clicked(ref=ref, url=url, user_agent=SAFARI, at=later)
    message.refresh_from_db()
    assert message.clicked_at is None
    retracted = Event.objects.get(name="email.machine_clicked", properties__retracts_click=True)
    assert retracted.properties["message_id"] == message.pk
    first = Event.objects.get(name="email.clicked")
    assert first.properties["first"] is True
    # a person clicking a second link a minute later is a person again
    assert message_clicked(
        ref=ref, url="https://example.com/b", user_agent=SAFARI, at=at + timedelta(minutes=1)
    )
