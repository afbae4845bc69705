"""SMS and WhatsApp through the official Twilio client against a fake Twilio on loopback;
signed and unsigned webhooks (status callbacks, inbound STOP/START/HELP)."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from contacts.models import Event
from messaging.channels import twilio as twilio_channel
from messaging.models import ConsentLog, Message, MessageStatus, Suppression
from messaging.services import message_enqueue, messaging_settings_update, sms_template_save

from .conftest import make_contact
from .fake_twilio import FakeTwilio

pytestmark = pytest.mark.django_db

SID, TOKEN, SENDER = "AC" + "1" * 32, "secret-auth-token", "+15005550006"


@pytest.fixture
def fake_twilio(settings, ws):
    # SMS quiet hours are on by default (21:00–08:00): off here so the tests do not depend on
    # the time of day; test_rules covers quiet hours.
    messaging_settings_update(workspace=ws, quiet_hours_sms=False)
    fake = FakeTwilio().start()
    settings.TWILIO_ACCOUNT_SID = SID
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.TWILIO_FROM = SENDER
    settings.TWILIO_WHATSAPP_FROM = "+14155238886"
    settings.TWILIO_BASE_URL = fake.url
    settings.SITE_URL = "https://app.tendril.test"
    yield fake
    fake.stop()


@pytest.fixture
def sms_template(ws):
    return sms_template_save(
        workspace=ws, name="Promo", body="Hi {{ first_name }}, 20% off: https://shop.test/sale"
    )


@pytest.fixture
def texter(ws):
    return make_contact(ws, email="t@example.com", phone="+15551230001", sms_consent="subscribed")


def send_sms(ws, contact, template, source_id="r:sms", channel="sms"):
    return message_enqueue(
        workspace=ws,
        contact=contact,
        channel=channel,
        template=template,
        source_type="workflow",
        source_id=source_id,
    )


def signed_post(client, path, params, token=TOKEN):
    url = f"http://testserver{path}"
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_an_sms_goes_through_the_official_client_to_the_fake_api(
    ws, texter, sms_template, fake_twilio, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = send_sms(ws, texter, sms_template)
    [request] = fake_twilio.messages
    assert request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert request.auth == (SID, TOKEN)
    assert "twilio-python" in request.user_agent
    assert request.form["To"] == "+15551230001" and request.form["From"] == SENDER
    assert request.form["Body"].startswith("Hi Ada, 20% off: https://app.tendril.test/m/s/")
    assert request.form["StatusCallback"] == (
        f"https://app.tendril.test/m/twilio/status/{ws.pk}/{message.pk}/"
    )
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.provider_message_id.startswith("SM")
    assert Event.objects.filter(contact=texter, name="sms.sent").exists()


def test_whatsapp_uses_the_whatsapp_addresses(
    ws, texter, sms_template, fake_twilio, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        send_sms(ws, texter, sms_template, channel="whatsapp")
    [request] = fake_twilio.messages
    assert request.form["To"] == "whatsapp:+15551230001"
    assert request.form["From"] == "whatsapp:+14155238886"


def test_sms_needs_explicit_consent(
    ws, sms_template, fake_twilio, django_capture_on_commit_callbacks
):
    unknown = make_contact(ws, email="u@example.com", phone="+15551230002", sms_consent="unknown")
    with django_capture_on_commit_callbacks(execute=True):
        message = send_sms(ws, unknown, sms_template)
    message.refresh_from_db()
    assert (message.status, message.error) == ("skipped", "no_consent")
    assert fake_twilio.messages == []


def test_twilio_21610_marks_the_contact_unsubscribed(
    ws, texter, sms_template, fake_twilio, django_capture_on_commit_callbacks
):
    fake_twilio.fail_for["+15551230001"] = (400, 21610, "Attempt to send to unsubscribed recipient")
    with django_capture_on_commit_callbacks(execute=True):
        message = send_sms(ws, texter, sms_template)
    message.refresh_from_db()
    texter.refresh_from_db()
    assert message.status == MessageStatus.SUPPRESSED and "21610" in message.error
    assert texter.sms_consent == "unsubscribed"


def test_a_twilio_outage_is_retried_later(
    ws, texter, sms_template, fake_twilio, django_capture_on_commit_callbacks
):
    fake_twilio.fail_for["+15551230001"] = (503, 20500, "Service unavailable")
    with django_capture_on_commit_callbacks(execute=True):
        message = send_sms(ws, texter, sms_template)
    message.refresh_from_db()
    assert message.status == MessageStatus.SCHEDULED and message.attempts == 1


def test_the_per_sender_rate_limit_defers_the_excess(
    ws, sms_template, fake_twilio, settings, django_capture_on_commit_callbacks
):
    settings.MESSAGING_SMS_SENDER_RATE_LIMIT = 2
    settings.MESSAGING_SMS_SENDER_RATE_WINDOW = 60
    people = [
        make_contact(
            ws, email=f"s{i}@example.com", phone=f"+1555123100{i}", sms_consent="subscribed"
        )
        for i in range(4)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        for index, person in enumerate(people):
            send_sms(ws, person, sms_template, source_id=f"r:{index}")
    assert len(fake_twilio.messages) == 2
    statuses = sorted(Message.objects.filter(workspace=ws).values_list("status", flat=True))
    assert statuses == ["scheduled", "scheduled", "sent", "sent"]
    assert set(Message.objects.filter(status="scheduled").values_list("error", flat=True)) == {
        "rate_limited"
    }


def test_a_signed_status_callback_marks_delivery(
    client, ws, texter, sms_template, fake_twilio, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = send_sms(ws, texter, sms_template)
    message.refresh_from_db()
    path = f"/m/twilio/status/{ws.pk}/{message.pk}/"
    params = {"MessageSid": message.provider_message_id, "MessageStatus": "delivered"}
    assert signed_post(client, path, params).status_code == 204
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED and message.delivered_at is not None
    assert Event.objects.filter(contact=texter, name="sms.delivered").exists()


def test_unsigned_or_badly_signed_webhooks_are_refused(
    client, ws, texter, sms_template, fake_twilio, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = send_sms(ws, texter, sms_template)
    status_path = f"/m/twilio/status/{ws.pk}/{message.pk}/"
    params = {"MessageSid": "SMx", "MessageStatus": "failed"}
    assert client.post(status_path, params).status_code == 403
    assert signed_post(client, status_path, params, token="wrong").status_code == 403
    stop = {"From": "+15551230001", "To": SENDER, "Body": "STOP"}
    assert client.post("/m/twilio/inbound/", stop).status_code == 403
    url = "http://testserver/m/twilio/inbound/"
    signature = RequestValidator(TOKEN).compute_signature(url, stop)
    tampered = {**stop, "From": "+15559999999"}
    assert (
        client.post("/m/twilio/inbound/", tampered, HTTP_X_TWILIO_SIGNATURE=signature).status_code
        == 403
    )
    message.refresh_from_db()
    texter.refresh_from_db()
    assert message.status == MessageStatus.SENT and texter.sms_consent == "subscribed"


def test_signed_but_unexpected_twilio_payloads_get_no_5xx_and_change_nothing(
    client, settings, ws, texter, sms_template, fake_twilio, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = send_sms(ws, texter, sms_template)
    status_path = f"/m/twilio/status/{ws.pk}/{message.pk}/"
    for params in ({}, {"MessageStatus": "exploded"}, {"MessageSid": "SMother"}):
        assert signed_post(client, status_path, params).status_code < 500
    for params in ({}, {"From": "", "Body": "STOP"}, {"From": "+1", "To": SENDER}):
        assert signed_post(client, "/m/twilio/inbound/", params).status_code < 500
    reply = {"From": texter.phone, "To": SENDER, "Body": "hi\x00there"}
    assert signed_post(client, "/m/twilio/inbound/", reply).status_code == 200
    assert Event.objects.get(contact=texter, name="sms.replied").properties["body"] == "hithere"
    settings.TWILIO_AUTH_TOKEN = ""  # not configured: nothing verifies, nothing is accepted
    assert signed_post(client, status_path, {"MessageStatus": "failed"}, "").status_code == 403
    message.refresh_from_db()
    texter.refresh_from_db()
    assert message.status == MessageStatus.SENT and texter.sms_consent == "subscribed"


def test_a_status_callback_for_another_workspaces_message_changes_nothing(
    client, ws, other_ws, texter, sms_template, fake_twilio, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = send_sms(ws, texter, sms_template)
    params = {"MessageSid": message.provider_message_id, "MessageStatus": "failed"}
    signed_post(client, f"/m/twilio/status/{other_ws.pk}/{message.pk}/", params)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


@pytest.mark.parametrize(
    "word", ["STOP", "stop", " Unsubscribe ", "CANCEL", "END", "QUIT", "STOPALL"]
)
def test_stop_words_unsubscribe_at_once_with_one_confirmation(
    client, ws, texter, fake_twilio, word
):
    response = signed_post(
        client, "/m/twilio/inbound/", {"From": texter.phone, "To": SENDER, "Body": word}
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/xml"
    body = response.content.decode()
    assert body.count("<Message>") == 1 and "unsubscribed" in body
    texter.refresh_from_db()
    assert texter.sms_consent == "unsubscribed"
    assert ConsentLog.objects.filter(contact=texter, channel="sms", status="unsubscribed").exists()


def test_stop_stops_the_next_send_and_start_resumes(
    client, ws, texter, sms_template, fake_twilio, django_capture_on_commit_callbacks
):
    signed_post(client, "/m/twilio/inbound/", {"From": texter.phone, "To": SENDER, "Body": "STOP"})
    with django_capture_on_commit_callbacks(execute=True):
        blocked = send_sms(ws, texter, sms_template, source_id="r:after-stop")
    blocked.refresh_from_db()
    assert blocked.status == "skipped" and fake_twilio.messages == []
    response = signed_post(
        client, "/m/twilio/inbound/", {"From": texter.phone, "To": SENDER, "Body": "START"}
    )
    assert b"subscribed" in response.content
    texter.refresh_from_db()
    assert texter.sms_consent == "subscribed"
    assert not Suppression.objects.filter(workspace=ws, channel="sms").exists()
    with django_capture_on_commit_callbacks(execute=True):
        send_sms(ws, texter, sms_template, source_id="r:after-start")
    assert len(fake_twilio.messages) == 1


def test_stop_from_an_unknown_number_suppresses_it(
    client, ws, fake_twilio, sms_template, django_capture_on_commit_callbacks
):
    signed_post(
        client, "/m/twilio/inbound/", {"From": "+15557770000", "To": SENDER, "Body": "stop"}
    )
    later = make_contact(ws, email="l@example.com", phone="+15557770000", sms_consent="subscribed")
    with django_capture_on_commit_callbacks(execute=True):
        message = send_sms(ws, later, sms_template)
    message.refresh_from_db()
    assert message.status == "suppressed"


def test_help_answers_and_other_replies_are_recorded(client, ws, texter, fake_twilio):
    help_reply = signed_post(
        client, "/m/twilio/inbound/", {"From": texter.phone, "To": SENDER, "Body": "HELP"}
    )
    assert b"Reply STOP" in help_reply.content and b"Acme" in help_reply.content
    reply = signed_post(
        client, "/m/twilio/inbound/", {"From": texter.phone, "To": SENDER, "Body": "Is it blue?"}
    )
    assert b"<Message>" not in reply.content
    event = Event.objects.get(contact=texter, name="sms.replied")
    assert event.properties["body"] == "Is it blue?"
    texter.refresh_from_db()
    assert texter.sms_consent == "subscribed"


def test_a_workspace_with_its_own_number_gets_its_own_stops(client, ws, other_ws, fake_twilio):
    messaging_settings_update(workspace=other_ws, sms_from="+15550001111")
    ours = make_contact(ws, phone="+15551230009", sms_consent="subscribed", email="o@example.com")
    theirs = make_contact(
        other_ws, phone="+15551230009", sms_consent="subscribed", email="o@example.com"
    )
    signed_post(
        client, "/m/twilio/inbound/", {"From": "+15551230009", "To": "+15550001111", "Body": "STOP"}
    )
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert theirs.sms_consent == "unsubscribed" and ours.sms_consent == "subscribed"


def test_the_base_url_override_keeps_path_and_query():
    client = twilio_channel.BaseUrlHttpClient("http://127.0.0.1:9/prefix")
    captured = {}

    def fake_request(self, method, url, *args, **kwargs):
        captured["url"] = url

    original = twilio_channel.TwilioHttpClient.request
    twilio_channel.TwilioHttpClient.request = fake_request
    try:
        client.request(
            "GET", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?PageSize=2"
        )
    finally:
        twilio_channel.TwilioHttpClient.request = original
    assert (
        captured["url"]
        == "http://127.0.0.1:9/prefix/2010-04-01/Accounts/AC1/Messages.json?PageSize=2"
    )


def _retry_now(message):
    from datetime import timedelta

    from django.utils import timezone

    from messaging.services.dispatch import messages_dispatch_due

    Message.objects.filter(pk=message.pk).update(send_after=timezone.now() - timedelta(seconds=1))
    messages_dispatch_due()


def test_a_twilio_answer_lost_to_a_timeout_fails_the_sms_once_never_twice(
    ws,
    texter,
    sms_template,
    fake_twilio,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.TWILIO_TIMEOUT = 1
    fake_twilio.delay = 5
    with django_capture_on_commit_callbacks(execute=True):
        message = send_sms(ws, texter, sms_template)
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and message.error.startswith("outcome unknown")
    assert len(fake_twilio.messages) == 1


def test_twilio_unreachable_is_retried_and_sends_once(
    ws,
    texter,
    sms_template,
    fake_twilio,
    settings,
    django_capture_on_commit_callbacks,
):
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.TWILIO_BASE_URL = f"http://127.0.0.1:{port}"  # nothing listens there
    with django_capture_on_commit_callbacks(execute=True):
        message = send_sms(ws, texter, sms_template)
    message.refresh_from_db()
    assert message.status == MessageStatus.SCHEDULED and "unreachable" in message.error
    settings.TWILIO_BASE_URL = fake_twilio.url
    with django_capture_on_commit_callbacks(execute=True):
        _retry_now(message)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert len(fake_twilio.messages) == 1


def _sent_body(fake_twilio) -> str:
    [request] = fake_twilio.messages
    return request.form["Body"]


def test_links_become_short_tracked_links_that_redirect_and_count_a_click(
    client, ws, texter, sms_template, fake_twilio, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = send_sms(ws, texter, sms_template)
    body = _sent_body(fake_twilio)
    short = body.split(": ", 1)[1].split()[0]
    assert short.startswith("https://app.tendril.test/m/s/") and len(short) <= 60
    assert "shop.test" not in body  # the URL is not in the text, only its position
    message.refresh_from_db()
    assert message.meta["links"] == ["https://shop.test/sale"]

    path = short.removeprefix("https://app.tendril.test")
    response = client.get(path)
    assert response.status_code == 302 and response["Location"] == "https://shop.test/sale"
    clicked = Event.objects.get(contact=texter, name="sms.clicked")
    assert clicked.properties["url"] == "https://shop.test/sale"
    client.get(path)  # the same link again is the same click
    assert Event.objects.filter(contact=texter, name="sms.clicked").count() == 1


def test_an_altered_or_unknown_short_link_is_refused(
    client, ws, other_ws, texter, sms_template, fake_twilio, django_capture_on_commit_callbacks
):
    from messaging import tokens

    with django_capture_on_commit_callbacks(execute=True):
        message = send_sms(ws, texter, sms_template)
    token = tokens.short_link_token(ws.pk, message.pk, 0)
    tampered = token[:-1] + ("a" if token[-1] != "a" else "b")
    assert client.get(f"/m/s/{tampered}").status_code == 400
    # another message id or workspace with the same signature does not verify
    other = tokens.short_link_token(other_ws.pk, message.pk, 0).rsplit(".", 1)[0]
    assert client.get(f"/m/s/{other}.{token.rsplit('.', 1)[1]}").status_code == 400
    # a validly signed position the message does not have
    assert client.get(f"/m/s/{tokens.short_link_token(ws.pk, message.pk, 5)}").status_code == 404
    # a validly signed token for another workspace's id finds nothing there
    assert (
        client.get(f"/m/s/{tokens.short_link_token(other_ws.pk, message.pk, 0)}").status_code == 404
    )
    assert not Event.objects.filter(name="sms.clicked").exists()


def test_marketing_sms_always_say_how_to_opt_out(
    ws, texter, fake_twilio, django_capture_on_commit_callbacks
):
    plain = sms_template_save(workspace=ws, name="Plain", body="Hi {{ first_name }}")
    with django_capture_on_commit_callbacks(execute=True):
        send_sms(ws, texter, plain, source_id="r:plain")
    assert _sent_body(fake_twilio) == "Hi Ada\nReply STOP to opt out."


def test_an_sms_that_already_says_stop_is_left_as_written(
    ws, texter, fake_twilio, django_capture_on_commit_callbacks
):
    own = sms_template_save(workspace=ws, name="Own", body="Hi {{ first_name }}. Text STOP to end.")
    with django_capture_on_commit_callbacks(execute=True):
        send_sms(ws, texter, own, source_id="r:own")
    assert _sent_body(fake_twilio) == "Hi Ada. Text STOP to end."


def test_whatsapp_gets_no_sms_opt_out_line(
    ws, texter, fake_twilio, django_capture_on_commit_callbacks
):
    plain = sms_template_save(workspace=ws, name="Plain", body="Hi {{ first_name }}")
    with django_capture_on_commit_callbacks(execute=True):
        send_sms(ws, texter, plain, source_id="r:wa", channel="whatsapp")
    assert _sent_body(fake_twilio) == "Hi Ada"
