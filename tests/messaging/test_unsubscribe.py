"""One-click unsubscribe (RFC 8058), the preference centre, topics and double opt-in."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from contacts.models import Contact, Event
from messaging import tokens
from messaging.models import ConsentLog, Message, MessageStatus, Topic, TopicOptOut
from messaging.services import double_opt_in_request, message_enqueue, topic_save

from .conftest import make_contact

pytestmark = pytest.mark.django_db


def send(ws, contact, template, source_id):
    return message_enqueue(
        workspace=ws,
        contact=contact,
        channel="email",
        template=template,
        source_type="workflow",
        source_id=source_id,
    )


def list_unsubscribe_url(received) -> str:
    return re.search(r"<(https://[^>]+)>", received["List-Unsubscribe"]).group(1)


def test_one_click_unsubscribe_works_without_cookies_and_stops_the_next_send(
    ws, contact, template, smtp_settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        send(ws, contact, template, "r:1")
    [received] = smtp_settings.wait_for(1)
    path = list_unsubscribe_url(received).removeprefix("https://app.tendril.test")

    # What a mailbox provider does: a bare POST, no cookies, no CSRF token.
    provider = Client(enforce_csrf_checks=True)
    response = provider.post(
        path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.email_consent == "unsubscribed"
    assert Event.objects.filter(contact=contact, name="email.unsubscribed").count() == 1
    log = ConsentLog.objects.get(contact=contact)
    assert (log.previous, log.status, log.source) == ("subscribed", "unsubscribed", "one_click")

    with django_capture_on_commit_callbacks(execute=True):
        second = send(ws, contact, template, "r:2")
    second.refresh_from_db()
    assert (second.status, second.error) == (MessageStatus.SKIPPED, "unsubscribed")
    assert len(smtp_settings.messages) == 1


def test_the_unsubscribe_link_asks_before_it_acts(client, ws, contact):
    url = tokens.unsubscribe_url(ws.pk, contact.pk).removeprefix(tokens.site())
    response = client.get(url)
    assert response.status_code == 200 and b"unsubscribe-form" in response.content
    contact.refresh_from_db()
    assert contact.email_consent == "subscribed"  # link scanners GET; only a POST unsubscribes
    response = client.post(url)
    assert b"You are unsubscribed" in response.content
    contact.refresh_from_db()
    assert contact.email_consent == "unsubscribed"


def test_a_forged_unsubscribe_token_changes_nothing(client, ws, contact, other_ws):
    other = make_contact(other_ws, email="x@globex.test")
    token = tokens.unsubscribe_token(ws.pk, contact.pk)
    forged = token.replace(f"{ws.pk}.{contact.pk}", f"{other_ws.pk}.{other.pk}")
    assert client.post(f"/m/u/{forged}").status_code == 400
    other.refresh_from_db()
    assert other.email_consent == "subscribed"


def test_a_token_for_another_workspace_finds_nothing_here(client, ws, contact, other_ws):
    # A valid signature, but the contact id does not belong to the named workspace.
    token = tokens.unsubscribe_token(other_ws.pk, contact.pk)
    response = client.post(f"/m/u/{token}")
    assert b"test message" in response.content
    contact.refresh_from_db()
    assert contact.email_consent == "subscribed"


def test_the_preference_centre_opts_out_of_a_topic_and_sends_stop_for_it(
    client, ws, contact, layout, smtp_settings, django_capture_on_commit_callbacks
):
    from .conftest import make_template

    news = topic_save(workspace=ws, name="Newsletter")
    product = topic_save(workspace=ws, name="Product updates")
    news_template = make_template(ws, layout, name="News", topic=news)
    url = tokens.preferences_url(ws.pk, contact.pk).removeprefix(tokens.site())
    page = client.get(url)
    assert b"Newsletter" in page.content and b"Product updates" in page.content
    client.post(url, {"topics": [product.pk]})
    assert TopicOptOut.objects.filter(contact=contact, topic=news).exists()
    assert not TopicOptOut.objects.filter(contact=contact, topic=product).exists()
    with django_capture_on_commit_callbacks(execute=True):
        message = send(ws, contact, news_template, "r:news")
    message.refresh_from_db()
    assert (message.status, message.error) == ("skipped", "topic_opt_out")
    assert ConsentLog.objects.filter(contact=contact, channel="topic:newsletter").exists()


def test_every_send_belongs_to_a_topic(
    ws, contact, template, smtp_settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = send(ws, contact, template, "r:t")
    assert message.topic == Topic.objects.get(workspace=ws, is_default=True)


def test_double_opt_in_sends_a_signed_link_that_confirms(
    client, ws, smtp_settings, django_capture_on_commit_callbacks
):
    person = make_contact(ws, email="new@example.com", email_consent="unknown")
    with django_capture_on_commit_callbacks(execute=True):
        assert double_opt_in_request(workspace=ws, contact=person, source="form:42")
    person.refresh_from_db()
    assert person.email_consent == "pending"
    [received] = smtp_settings.wait_for(1)
    text = received.get_body(("plain",)).get_content()
    link = re.search(r"https://app\.tendril\.test(/m/confirm/\S+)", text).group(1)
    assert client.get(link[:-2] + "xx").status_code == 400
    assert client.get(link).status_code == 200
    person.refresh_from_db()
    assert person.email_consent == "subscribed"
    assert person.email_consent_source == "double_opt_in:form:42"
    assert Event.objects.filter(contact=person, name="email.subscribed").exists()
    assert list(
        ConsentLog.objects.filter(contact=person)
        .order_by("created_at")
        .values_list("status", flat=True)
    ) == ["pending", "subscribed"]


def test_pending_contacts_get_no_marketing(
    ws, template, smtp_settings, django_capture_on_commit_callbacks
):
    person = make_contact(ws, email="p@example.com", email_consent="pending")
    with django_capture_on_commit_callbacks(execute=True):
        message = send(ws, person, template, "r:p")
    assert Message.objects.get(pk=message.pk).error == "consent_pending"
    assert Contact.objects.get(pk=person.pk).email_consent == "pending"
