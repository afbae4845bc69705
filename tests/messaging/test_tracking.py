"""Open pixel and click redirects, followed from a message that really went through SMTP."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
from django.core import signing
from django.utils import timezone

from contacts.models import Event
from messaging import tokens
from messaging.models import Message
from messaging.services import message_enqueue, messaging_settings_update

pytestmark = pytest.mark.django_db

LINK = re.compile(r'href="https://app\.tendril\.test(/m/c/[^"]+)"')
PIXEL = re.compile(r'src="https://app\.tendril\.test(/m/o/[^"]+)"')


@pytest.fixture
def delivered(ws, contact, template, smtp_settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = message_enqueue(
            workspace=ws,
            contact=contact,
            channel="email",
            template=template,
            source_type="workflow",
            source_id="r:n",
        )
    [received] = smtp_settings.wait_for(1)
    # read an hour later: a hit within seconds of sending is a link scanner's
    # (tests/messaging/test_machine_opens.py)
    Message.objects.filter(pk=message.pk).update(sent_at=timezone.now() - timedelta(hours=1))
    message.refresh_from_db()
    return message, received.get_body(("html",)).get_content()


def test_the_pixel_records_one_open(client, delivered, django_capture_on_commit_callbacks):
    message, html = delivered
    pixel = PIXEL.search(html).group(1)
    for _ in range(2):
        response = client.get(pixel)
        assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    message.refresh_from_db()
    assert message.opened_at is not None
    assert Event.objects.filter(name="email.opened", contact=message.contact).count() == 1


def test_a_click_redirects_to_the_original_url_and_records_it(client, delivered):
    message, html = delivered
    link = LINK.search(html).group(1)
    response = client.get(link)
    assert response.status_code == 302
    assert response["Location"] == "https://example.com/pricing?ref=mail&x=1"
    event = Event.objects.get(name="email.clicked", contact=message.contact)
    assert event.properties["url"] == "https://example.com/pricing?ref=mail&x=1"
    message.refresh_from_db()
    assert message.clicked_at is not None and message.opened_at is not None  # a click is an open


def evil(ws_id, message_id, key="wrong-key"):
    payload = base64.urlsafe_b64encode(b"https://evil.test/").decode().rstrip("=")
    return signing.Signer(salt="messaging.click", key=key).sign(f"{ws_id}.{message_id}.{payload}")


def test_a_tampered_click_link_is_refused_not_redirected(client, delivered):
    message, html = delivered
    link = LINK.search(html).group(1)
    token = link.rsplit("/", 1)[1]
    value, signature = token.rsplit(":", 1)
    swapped = evil(message.workspace_id, message.pk).rsplit(":", 1)[0] + ":" + signature
    for bad in (
        link[:-3] + "abc",  # signature altered
        f"/m/c/{evil(message.workspace_id, message.pk)}",  # signed with another key
        f"/m/c/{swapped}",  # another destination under the genuine signature
        f"/m/c/{value}",  # no signature at all
    ):
        response = client.get(bad)
        assert response.status_code == 400, bad
        assert "Location" not in response
    assert not Event.objects.filter(name="email.clicked").exists()


def test_click_tokens_carry_exactly_the_signed_url(ws):
    token = tokens.click_token(ws.pk, 7, "https://example.com/ü?a=1&b=2")
    assert tokens.click_token_read(token) == (
        tokens.MessageRef(ws.pk, 7),
        "https://example.com/ü?a=1&b=2",
    )
    # what Django's own Signer verifies too: the tokens are ordinary signed values
    assert signing.Signer(salt="messaging.click").unsign(token).startswith(f"{ws.pk}.7.")
    with pytest.raises(tokens.BadToken):
        tokens.click_token_read(evil(ws.pk, 7))


def test_utm_parameters_are_added_when_enabled(
    ws, contact, template, smtp_settings, django_capture_on_commit_callbacks, client
):
    messaging_settings_update(workspace=ws, utm_enabled=True, utm_source="tendril")
    with django_capture_on_commit_callbacks(execute=True):
        message_enqueue(
            workspace=ws,
            contact=contact,
            channel="email",
            template=template,
            source_type="workflow",
            source_id="utm:1",
        )
    html = smtp_settings.wait_for(1)[0].get_body(("html",)).get_content()
    location = client.get(LINK.search(html).group(1))["Location"]
    assert location.startswith("https://example.com/pricing?ref=mail&x=1&utm_source=tendril")
    assert "utm_medium=email" in location and "utm_campaign=workflow" in location


def test_test_sends_are_not_tracked_on_any_contact(
    ws, contact, template, smtp_settings, django_capture_on_commit_callbacks, client
):
    from messaging.services import test_send

    with django_capture_on_commit_callbacks(execute=True):
        test_send(workspace=ws, template=template, to="me@acme.test", contact=contact)
    [received] = smtp_settings.wait_for(1)
    html = received.get_body(("html",)).get_content()
    assert received["Subject"] == "[Test] Welcome, Ada"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert client.get(LINK.search(html).group(1)).status_code == 302
    client.get(PIXEL.search(html).group(1))
    assert not Event.objects.filter(name__in=["email.clicked", "email.opened"]).exists()
    assert Message.objects.get(source_type="test").to_address == "me@acme.test"
