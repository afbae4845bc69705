"""Compliance: no marketing email without the sender's postal address. Until the workspace
sets one (or the platform sets a default), workflow emails are skipped with the reason,
broadcasts cannot be sent or scheduled, and the pages a marketer publishes from say so."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from messaging.models import Broadcast, Message, MessageStatus
from messaging.selectors import NO_POSTAL_ADDRESS, REASON_TEXT, can_send
from messaging.services import message_enqueue, messaging_settings_update
from messaging.services import test_send as send_a_test
from messaging.services.broadcasts import BroadcastInput, broadcast_save, broadcast_send
from segments.services import segment_create, static_list_add
from workspaces.errors import ValidationFailed

from .conftest import make_contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_address(settings, ws):
    settings.MESSAGING_DEFAULT_PHYSICAL_ADDRESS = ""
    messaging_settings_update(workspace=ws, physical_address="")


@pytest.fixture
def broadcast(ws, template, contact):
    segment = segment_create(workspace=ws, name="List", kind="static")
    static_list_add(segment=segment, contact_ids=[contact.pk], source="manual")
    return broadcast_save(
        workspace=ws,
        data=BroadcastInput(name="Spring sale", segment_id=segment.pk, email_template=template),
    )


def enqueue(ws, contact, template, source_id="postal:1"):
    return message_enqueue(
        workspace=ws,
        contact=contact,
        channel="email",
        template=template,
        source_type="workflow",
        source_id=source_id,
    )


def test_a_workflow_email_is_skipped_with_the_reason_until_the_address_is_set(
    ws, contact, template, no_address, smtp_settings, django_capture_on_commit_callbacks
):
    assert can_send(workspace=ws, contact=contact, channel="email") == (False, NO_POSTAL_ADDRESS)
    with django_capture_on_commit_callbacks(execute=True):
        skipped = enqueue(ws, contact, template)
    skipped.refresh_from_db()
    assert skipped.status == MessageStatus.SKIPPED and skipped.error == NO_POSTAL_ADDRESS
    assert "Sending settings" in REASON_TEXT[skipped.error]
    assert smtp_settings.messages == []

    messaging_settings_update(workspace=ws, physical_address="1 Main St, Springfield")
    with django_capture_on_commit_callbacks(execute=True):
        sent = enqueue(ws, contact, template, source_id="postal:2")
    smtp_settings.wait_for(1)
    sent.refresh_from_db()
    assert sent.status == MessageStatus.SENT
    footer = smtp_settings.messages[0].get_body(("html",)).get_content()
    assert "1 Main St, Springfield" in footer


def test_a_message_queued_before_the_address_was_removed_is_not_sent(
    ws, contact, template, settings, smtp_settings, django_capture_on_commit_callbacks
):
    """The check runs again at send time, not only when the message is created."""
    from messaging.services.sending import messages_send

    message = enqueue(ws, contact, template)  # on_commit not run: still queued
    assert Message.objects.get(pk=message.pk).status == MessageStatus.QUEUED
    settings.MESSAGING_DEFAULT_PHYSICAL_ADDRESS = ""
    messages_send(workspace=ws, message_ids=[message.pk])
    message.refresh_from_db()
    assert message.status == MessageStatus.SKIPPED and message.error == NO_POSTAL_ADDRESS
    assert smtp_settings.messages == []


def test_the_platform_default_address_counts_as_set(ws, contact, settings):
    settings.MESSAGING_DEFAULT_PHYSICAL_ADDRESS = "Platform Inc, 2 Road"
    assert can_send(workspace=ws, contact=contact, channel="email").allowed


def test_sms_is_not_held_back_by_the_email_footer_rule(ws, no_address):
    texter = make_contact(ws, email="t@example.com", phone="+15551230001", sms_consent="subscribed")
    assert can_send(workspace=ws, contact=texter, channel="sms").reason != NO_POSTAL_ADDRESS


def test_a_test_send_to_the_marketer_still_goes_out_so_the_footer_can_be_checked(
    ws, template, contact, no_address, smtp_settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        send_a_test(workspace=ws, template=template, to="qa@acme.test", contact=contact)
    assert [m["To"] for m in smtp_settings.wait_for(1)] == ["qa@acme.test"]


@pytest.mark.parametrize("when", ["now", "later"])
def test_a_broadcast_cannot_be_sent_or_scheduled_without_the_address(
    ws, broadcast, no_address, when
):
    if when == "later":
        broadcast.scheduled_at = timezone.now() + timedelta(days=1)
        broadcast.save()
    with pytest.raises(ValidationFailed) as caught:
        broadcast_send(workspace=ws, broadcast=broadcast)
    assert "postal address" in caught.value.message and "physical_address" in caught.value.fields
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.DRAFT
    assert not Message.objects.filter(broadcast=broadcast).exists()


def test_the_broadcast_send_button_says_what_to_do(owner_client, ws, broadcast, no_address):
    detail = owner_client.get(reverse("messaging:broadcast_detail", args=[broadcast.pk]))
    confirmed = re.search(r'name="recipients" value="(\d+)"', detail.content.decode()).group(1)
    response = owner_client.post(
        reverse("messaging:broadcast_send", args=[broadcast.pk]),
        {"recipients": confirmed},  # what the page's Send button posts
        follow=True,
    )
    html = response.content.decode()
    assert "set your postal address in Messages › Sending settings" in html
    assert 'id="no-postal-address"' in html and reverse("messaging:settings") in html
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.DRAFT


def _publish_pages(ws, template, broadcast, owner_client):
    owner_client.post(reverse("workflows:import"), {"library": "post-purchase"})
    from workflows.models import Workflow

    workflow = Workflow.objects.get(workspace=ws)
    return {
        "home": reverse("home"),
        "dashboard": reverse("analytics:dashboard"),
        "template": reverse("messaging:template_edit", args=[template.pk]),
        "broadcast": reverse("messaging:broadcast_edit", args=[broadcast.pk]),
        "broadcast detail": reverse("messaging:broadcast_detail", args=[broadcast.pk]),
        "workflow": reverse("workflows:detail", args=[workflow.pk]),
    }


def test_publish_pages_and_the_dashboard_show_the_banner_with_a_link_to_the_settings(
    owner_client, ws, template, broadcast, no_address
):
    for name, url in _publish_pages(ws, template, broadcast, owner_client).items():
        html = owner_client.get(url).content.decode()
        assert 'id="no-postal-address"' in html, name
        assert "Marketing email is not sent until your postal address is set" in html, name
        assert f'href="{reverse("messaging:settings")}"' in html, name


def test_the_banner_goes_once_the_address_is_set(owner_client, ws, template, broadcast, settings):
    settings.MESSAGING_DEFAULT_PHYSICAL_ADDRESS = ""
    messaging_settings_update(workspace=ws, physical_address="1 Main St, Springfield")
    for name, url in _publish_pages(ws, template, broadcast, owner_client).items():
        assert 'id="no-postal-address"' not in owner_client.get(url).content.decode(), name


def test_each_workspace_sees_only_its_own_state(outsider_client, other_ws, ws, no_address):
    """ws has no address; the outsider's workspace has one and sees no banner."""
    messaging_settings_update(workspace=other_ws, physical_address="Globex, 3 Way")
    html = outsider_client.get(reverse("home")).content.decode()
    assert 'id="no-postal-address"' not in html


def test_the_api_refuses_to_send_a_broadcast_with_the_error_shape(api, ws, broadcast, no_address):
    response = api.post(f"/api/v1/messaging/broadcasts/{broadcast.pk}/send/")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and "physical_address" in error["fields"]
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.DRAFT


def test_the_api_preview_of_a_runaway_template_is_a_400_naming_the_limit(api, ws, layout):
    from .conftest import make_template

    template = make_template(
        ws, layout, html="<p>x</p>{% for i in range(attributes.n|int) %}{% endfor %}"
    )
    contact = make_contact(ws, email="big@example.com", attributes={"n": 10**9})
    response = api.post(
        f"/api/v1/messaging/email-templates/{template.pk}/preview/",
        {"contact": contact.pk},
        format="json",
    )
    assert response.status_code == 400
    assert "range(1000000000)" in response.json()["error"]["fields"]["template"][0]
