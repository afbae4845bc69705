"""ESP delivery feedback through django-anymail: real Postmark, SendGrid and Mailgun webhook
payloads posted to the verified views, and the `tracking` signal sent as anymail sends it.

Each class of forgery is tried: no verification configured, unsigned, wrong signature,
a tampered or unsigned (`<workspace>.<message>`) reference, another workspace's message,
another address in the event, a replay, and payloads that are not what the ESP sends."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core import mail

from contacts.models import Event
from messaging import tokens
from messaging.models import Message, MessageStatus, Suppression
from messaging.services import message_enqueue

from .conftest import make_contact

pytestmark = pytest.mark.django_db

AUTH = "hook:s3cret"


@pytest.fixture
def webhook_secret(settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": AUTH}


def send(ws, contact, template, source_id="esp:1"):
    return message_enqueue(
        workspace=ws,
        contact=contact,
        channel="email",
        template=template,
        source_type="workflow",
        source_id=source_id,
    )


@pytest.fixture
def sent(ws, contact, template, smtp_settings, django_capture_on_commit_callbacks, webhook_secret):
    with django_capture_on_commit_callbacks(execute=True):
        message = send(ws, contact, template)
    smtp_settings.wait_for(1)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    return message


def ref(message):
    return tokens.esp_reference(message.workspace_id, message.pk)


def post_postmark(client, payload, auth=AUTH, path="/m/esp/postmark/tracking/"):
    headers = (
        {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(auth.encode()).decode()} if auth else {}
    )
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    return client.post(path, data=body, content_type="application/json", **headers)


def bounce(reference, *, kind="HardBounce", email="ada@example.com", event_id=42):
    return {
        "RecordType": "Bounce",
        "ID": event_id,
        "Type": kind,
        "TypeCode": 1 if kind == "HardBounce" else 4096,
        "Name": "Hard bounce",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Description": "unknown user",
        "Details": "550 5.1.1 user unknown",
        "Email": email,
        "BouncedAt": "2025-01-05T16:33:54Z",
        "Inactive": True,
        "Metadata": {"tendril_message": reference},
    }


def unchanged(message):
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.bounced_at is None
    assert not Suppression.objects.filter(workspace=message.workspace).exists()
    assert not Event.objects.filter(contact=message.contact, name__startswith="email.b").exists()


# --- What the ESP is given ------------------------------------------------------------------


def test_the_reference_an_esp_gets_is_signed_not_the_bare_ids(
    ws, contact, template, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = send(ws, contact, template)
    reference = mail.outbox[0].metadata["tendril_message"]
    assert reference != f"{ws.pk}.{message.pk}" and len(reference) > 30
    assert tokens.esp_reference_read(reference) == tokens.MessageRef(ws.pk, message.pk)


# --- Postmark (basic auth) -------------------------------------------------------------------


def test_a_postmark_delivery_webhook_marks_the_message_delivered(client, sent):
    response = post_postmark(
        client,
        {
            "RecordType": "Delivery",
            "ServerID": 23,
            "MessageStream": "outbound",
            "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
            "Recipient": "ada@example.com",
            "DeliveredAt": "2025-01-05T16:33:54.9070259Z",
            "Details": "250 OK",
            "Metadata": {"tendril_message": ref(sent)},
        },
    )
    assert response.status_code == 200
    sent.refresh_from_db()
    assert sent.status == MessageStatus.DELIVERED and sent.delivered_at is not None
    assert Event.objects.filter(contact=sent.contact, name="email.delivered").exists()


def test_a_postmark_hard_bounce_suppresses_the_address_for_good(client, sent):
    assert post_postmark(client, bounce(ref(sent))).status_code == 200
    sent.refresh_from_db()
    assert sent.status == MessageStatus.BOUNCED and sent.meta["bounce"] == "hard"
    suppression = Suppression.objects.get(workspace=sent.workspace, address="ada@example.com")
    assert suppression.reason == "hard_bounce" and suppression.active


def test_without_a_webhook_secret_the_route_does_not_exist(client, sent, settings):
    """The original hole: no WEBHOOK_SECRET, and anymail let anyone in."""
    settings.ANYMAIL = {k: v for k, v in settings.ANYMAIL.items() if k != "WEBHOOK_SECRET"}
    response = post_postmark(client, bounce(ref(sent)), auth=None)
    assert response.status_code == 404
    unchanged(sent)


@pytest.mark.parametrize("auth", [None, "hook:wrong", "other:s3cret", "hook:s3cret:x"])
def test_a_webhook_without_the_right_secret_is_refused(client, sent, auth):
    response = post_postmark(client, bounce(ref(sent)), auth=auth)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    unchanged(sent)


def test_the_guessable_workspace_dot_message_reference_changes_nothing(client, sent):
    """Even with the secret: a reference we did not sign names no message."""
    assert post_postmark(client, bounce(f"{sent.workspace_id}.{sent.pk}")).status_code == 200
    unchanged(sent)


def test_a_tampered_reference_changes_nothing(client, sent, ws, contact, template):
    other = Message.objects.create(
        workspace=ws, contact=contact, channel="email", to_address="bob@example.com",
        source_type="workflow", source_id="esp:other", status=MessageStatus.SENT,
    )  # fmt: skip
    value, signature = ref(sent).rsplit(":", 1)
    tampered = f"{sent.workspace_id}.{other.pk}:{signature}"
    assert post_postmark(client, bounce(tampered)).status_code == 200
    assert post_postmark(client, bounce(ref(sent) + "x")).status_code == 200
    unchanged(sent)
    other.refresh_from_db()
    assert other.status == MessageStatus.SENT


def test_a_reference_naming_another_workspaces_message_changes_nothing(client, sent, other_ws):
    eve = make_contact(other_ws, email="eve@example.com")
    theirs = Message.objects.create(
        workspace=other_ws, contact=eve, channel="email", to_address="eve@example.com",
        source_type="workflow", source_id="esp:theirs", status=MessageStatus.SENT,
    )  # fmt: skip
    # signed, but for this workspace with their message's id
    forged = tokens.esp_reference(sent.workspace_id, theirs.pk)
    assert post_postmark(client, bounce(forged, email="eve@example.com")).status_code == 200
    theirs.refresh_from_db()
    assert theirs.status == MessageStatus.SENT
    assert not Suppression.objects.filter(workspace=other_ws).exists()
    unchanged(sent)


def test_a_bounce_suppresses_the_messages_recipient_not_the_address_in_the_event(client, sent):
    post_postmark(client, bounce(ref(sent), email="victim@example.com"))
    addresses = set(Suppression.objects.values_list("address", flat=True))
    assert addresses == {"ada@example.com"}


def test_a_replayed_soft_bounce_counts_once(client, sent):
    payload = bounce(ref(sent), kind="SoftBounce")
    for _ in range(3):
        assert post_postmark(client, payload).status_code == 200
    suppression = Suppression.objects.get(workspace=sent.workspace, address="ada@example.com")
    assert suppression.soft_bounce_count == 1 and not suppression.active
    # a later hard bounce of the same message still counts
    post_postmark(client, bounce(ref(sent), event_id=43))
    suppression.refresh_from_db()
    assert suppression.active and suppression.reason == "hard_bounce"


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        b"\xff\xfe",
        "[1, 2]",
        '"a string"',
        json.dumps({"RecordType": "Bounce"}),  # names no message
        json.dumps({"RecordType": "Delivery", "Metadata": "x"}),
        json.dumps({"RecordType": "Open", "Metadata": [1], "MessageID": None}),
    ],
)
def test_a_malformed_payload_is_a_400_and_changes_nothing(client, sent, body):
    response = post_postmark(client, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed"
    unchanged(sent)


# --- SendGrid (signed event webhook) ----------------------------------------------------------


@pytest.fixture
def sendgrid_key(settings, sent):
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    settings.ANYMAIL = {
        **settings.ANYMAIL,
        "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": base64.b64encode(der).decode(),
    }
    settings.ANYMAIL.pop("WEBHOOK_SECRET")  # the signature is the check
    return private


def post_sendgrid(client, events, private_key=None, timestamp="1736094834"):
    body = json.dumps(events).encode()
    headers = {}
    if private_key is not None:
        signature = private_key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        headers = {
            "HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE": base64.b64encode(signature).decode(),
            "HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP": timestamp,
        }
    return client.post(
        "/m/esp/sendgrid/tracking/", data=body, content_type="application/json", **headers
    )


def sendgrid_bounce(message, reference=None):
    return [
        {
            "email": "ada@example.com",
            "timestamp": 1736094834,
            "event": "bounce",
            "type": "bounce",
            "reason": "550 5.1.1 user unknown",
            "sg_event_id": "ZmFrZS1ldmVudA",
            "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
            "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
            "tendril_message": reference or ref(message),
        }
    ]


@pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning")
def test_a_signed_sendgrid_bounce_is_applied(client, sent, sendgrid_key):
    assert post_sendgrid(client, sendgrid_bounce(sent), sendgrid_key).status_code == 200
    sent.refresh_from_db()
    assert sent.status == MessageStatus.BOUNCED


@pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning")
def test_an_unsigned_or_wrongly_signed_sendgrid_event_is_refused(client, sent, sendgrid_key):
    assert post_sendgrid(client, sendgrid_bounce(sent)).status_code == 403
    stranger = ec.generate_private_key(ec.SECP256R1())
    assert post_sendgrid(client, sendgrid_bounce(sent), stranger).status_code == 403
    unchanged(sent)


def test_sendgrid_without_its_verification_key_does_not_answer(client, sent):
    """Basic auth alone is not enough for an ESP that signs: its signature must be on."""
    response = post_sendgrid(client, sendgrid_bounce(sent))
    assert response.status_code == 404
    unchanged(sent)


# --- Mailgun (signing key) --------------------------------------------------------------------

MAILGUN_KEY = "key-mailgun-signing"


def mailgun_payload(message, key=MAILGUN_KEY, reference=None):
    timestamp, token = "1736094834", "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256)
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature.hexdigest()},
        "event-data": {
            "event": "failed",
            "severity": "permanent",
            "id": "G9Bn5sl1TC6nu79C8C0bwg",
            "timestamp": 1736094834.29,
            "recipient": "ada@example.com",
            "message": {"headers": {"message-id": "20250105.1@mg.example.com"}},
            "delivery-status": {"code": 550, "message": "No such user"},
            "user-variables": {"tendril_message": reference or ref(message)},
        },
    }


@pytest.fixture
def mailgun_key(settings, sent):
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}


def post_mailgun(client, payload):
    return client.post(
        "/m/esp/mailgun/tracking/", data=json.dumps(payload), content_type="application/json"
    )


def test_a_signed_mailgun_bounce_is_applied(client, sent, mailgun_key):
    assert post_mailgun(client, mailgun_payload(sent)).status_code == 200
    sent.refresh_from_db()
    assert sent.status == MessageStatus.BOUNCED


def test_a_mailgun_event_signed_with_another_key_or_unsigned_is_refused(client, sent, mailgun_key):
    assert post_mailgun(client, mailgun_payload(sent, key="guess")).status_code == 403
    unsigned = mailgun_payload(sent)
    del unsigned["signature"]
    assert post_mailgun(client, unsigned).status_code == 403
    unchanged(sent)


def test_mailgun_without_its_signing_key_does_not_answer(client, sent, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_API_KEY": ""}
    assert post_mailgun(client, mailgun_payload(sent, key="")).status_code == 404
    unchanged(sent)


# --- Production refuses an unverifiable ESP ---------------------------------------------------


@pytest.mark.parametrize(
    ("backend", "anymail", "problem"),
    [
        ("django.core.mail.backends.smtp.EmailBackend", {}, None),
        ("anymail.backends.postmark.EmailBackend", {}, "WEBHOOK_SECRET"),
        ("anymail.backends.postmark.EmailBackend", {"WEBHOOK_SECRET": AUTH}, None),
        ("anymail.backends.mailgun.EmailBackend", {"WEBHOOK_SECRET": AUTH}, "SIGNING_KEY"),
        ("anymail.backends.mailgun.EmailBackend", {"MAILGUN_WEBHOOK_SIGNING_KEY": "k"}, None),
        ("anymail.backends.sendgrid.EmailBackend", {}, "VERIFICATION_KEY"),
        ("anymail.backends.mandrill.EmailBackend", {"WEBHOOK_SECRET": AUTH}, "does not verify"),
    ],
)
def test_webhook_verification_missing_names_what_to_set(backend, anymail, problem):
    from messaging.esp import webhook_verification_missing

    found = webhook_verification_missing(backend, anymail)
    assert (found is None) if problem is None else (problem in found)


# --- The anymail signal (as the verified views send it) -----------------------------------------


def signal(event_type, *, message=None, message_id=None, **fields):
    event = AnymailTrackingEvent(
        event_type=event_type,
        timestamp=datetime(2025, 1, 5, 12, tzinfo=UTC),
        message_id=message_id,
        metadata={"tendril_message": ref(message)} if message else {},
        recipient=fields.pop("recipient", None),
        **fields,
    )
    tracking.send(sender=object, event=event, esp_name="TestESP")


def test_soft_bounces_suppress_only_after_the_limit(
    ws, template, smtp_settings, settings, django_capture_on_commit_callbacks
):
    settings.MESSAGING_SOFT_BOUNCE_LIMIT = 3
    person = make_contact(ws, email="full@example.com")
    for index in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            message = send(ws, person, template, source_id=f"soft:{index}")
        message.refresh_from_db()
        assert message.status == MessageStatus.SENT  # not suppressed before the limit
        signal(
            "bounced",
            message=message,
            mta_response="452 4.2.2 mailbox full",
            recipient="full@example.com",
            esp_event={"Type": "SoftBounce"},
        )
    suppression = Suppression.objects.get(workspace=ws, address="full@example.com")
    assert suppression.soft_bounce_count == 3 and suppression.active
    with django_capture_on_commit_callbacks(execute=True):
        blocked = send(ws, person, template, source_id="soft:after")
    blocked.refresh_from_db()
    assert blocked.status == MessageStatus.SUPPRESSED


def test_a_complaint_suppresses_and_unsubscribes(sent):
    signal("complained", message=sent)
    contact = sent.contact
    contact.refresh_from_db()
    assert contact.email_consent == "unsubscribed"
    assert (
        Suppression.objects.get(workspace=sent.workspace, address="ada@example.com").reason
        == "complaint"
    )
    assert Event.objects.filter(contact=contact, name="email.complained").exists()


def test_esp_opens_and_clicks_find_the_message_by_its_provider_id(sent):
    signal("opened", message_id=sent.provider_message_id)
    signal("clicked", message_id=sent.provider_message_id, click_url="https://example.com/a")
    sent.refresh_from_db()
    assert sent.opened_at is not None and sent.clicked_at is not None
    names = list(Event.objects.filter(contact=sent.contact).values_list("name", flat=True))
    assert names.count("email.opened") == 1 and "email.clicked" in names


def test_an_event_for_an_unknown_message_is_ignored(sent):
    signal("delivered", message_id="<nobody@nowhere>")
    assert Message.objects.get(pk=sent.pk).status == MessageStatus.SENT


def test_production_refuses_to_start_with_an_esp_it_cannot_verify():
    from tests.workspaces.test_settings import _load_production

    every_secret = {
        "SECRET_KEY": "x" * 40,
        "ALLOWED_HOSTS": "tendril.example.com",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/tendril",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "EMAIL_URL": "smtp://127.0.0.1:2525",
        "SITE_URL": "https://tendril.example.com",
        "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
        "POSTMARK_SERVER_TOKEN": "server-token",
    }
    refused = _load_production(**every_secret)
    assert refused.returncode != 0 and "WEBHOOK_SECRET" in refused.stderr
    started = _load_production(**every_secret, ANYMAIL_WEBHOOK_SECRET=AUTH)
    assert started.returncode == 0, started.stderr
