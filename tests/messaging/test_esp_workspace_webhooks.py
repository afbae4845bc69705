"""A workspace's own ESP webhook addresses (the secret in the URL) and Amazon SES through
Amazon SNS (the message signature, the certificate fetched through the outbound client,
subscription confirmation).

The outside world is a loopback stand-in for sns.<region>.amazonaws.com serving a
self-signed certificate made here; the operator settings let the outbound client reach it."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from contacts.models import Event
from messaging import sns
from messaging.models import Message, MessageStatus, Suppression
from messaging.services import esp_webhook_secret_rotate
from tests.conftest import add_member, login_client
from tests.workspaces.outbound.servers import reply, serving
from workspaces.roles import Role

from . import test_esp_webhooks
from .conftest import make_contact
from .test_esp_webhooks import bounce, post_postmark, ref, unchanged

pytestmark = pytest.mark.django_db
sent = test_esp_webhooks.sent  # the sent message fixture, with `webhook_secret` below


@pytest.fixture
def webhook_secret():
    """No platform-wide basic-auth secret here (test_esp_webhooks' `sent` asks for one)."""
    return None


@pytest.fixture
def secret(ws):
    return esp_webhook_secret_rotate(workspace=ws)


def own(ws_id, secret, esp="postmark"):
    return f"/m/esp/w/{ws_id}/{secret}/{esp}/tracking/"


# --- The workspace's own address ----------------------------------------------------------------


def test_a_bounce_at_the_workspaces_own_address_is_applied_without_basic_auth(
    client, sent, secret, settings
):
    assert "WEBHOOK_SECRET" not in settings.ANYMAIL
    response = post_postmark(
        client, bounce(ref(sent)), auth=None, path=own(sent.workspace_id, secret)
    )
    assert response.status_code == 200
    sent.refresh_from_db()
    assert sent.status == MessageStatus.BOUNCED
    assert Suppression.objects.get(workspace=sent.workspace, address="ada@example.com").active


def test_a_wrong_secret_an_unknown_workspace_and_no_secret_all_answer_404(
    client, sent, secret, other_ws
):
    theirs = esp_webhook_secret_rotate(workspace=other_ws)
    for path in (
        own(sent.workspace_id, "x" + secret[1:]),
        own(sent.workspace_id, secret[:-1]),
        own(sent.workspace_id, theirs),  # another workspace's secret
        own(10**9, secret),
    ):
        response = post_postmark(client, bounce(ref(sent)), auth=None, path=path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    unchanged(sent)


def test_a_workspace_without_a_secret_has_no_address(client, sent):
    response = post_postmark(client, bounce(ref(sent)), auth=None, path=own(sent.workspace_id, "x"))
    assert response.status_code == 404
    unchanged(sent)


def test_rotating_the_secret_retires_the_old_address(client, sent, secret, ws):
    new = esp_webhook_secret_rotate(workspace=ws)
    assert new != secret
    old = post_postmark(client, bounce(ref(sent)), auth=None, path=own(ws.pk, secret))
    assert old.status_code == 404
    unchanged(sent)
    fresh = post_postmark(client, bounce(ref(sent)), auth=None, path=own(ws.pk, new))
    assert fresh.status_code == 200
    sent.refresh_from_db()
    assert sent.status == MessageStatus.BOUNCED


def test_an_address_only_reaches_its_own_workspaces_messages(client, sent, other_ws):
    """Their secret at their address, naming our message (by signed reference or by the
    provider's id): nothing changes."""
    theirs = esp_webhook_secret_rotate(workspace=other_ws)
    path = own(other_ws.pk, theirs)
    assert post_postmark(client, bounce(ref(sent)), auth=None, path=path).status_code == 200
    by_id = bounce(ref(sent))
    by_id["Metadata"] = {}
    by_id["MessageID"] = sent.provider_message_id
    assert sent.provider_message_id
    assert post_postmark(client, by_id, auth=None, path=path).status_code == 200
    unchanged(sent)


def test_a_signing_esp_still_needs_its_signature_at_the_workspace_address(client, sent, secret):
    """SendGrid signs: the secret in the URL does not replace its signature key."""
    response = client.post(
        own(sent.workspace_id, secret, "sendgrid"), data="[]", content_type="application/json"
    )
    assert response.status_code == 404


def test_the_settings_page_shows_the_addresses_to_owners_and_rotates(owner_client, ws, settings):
    settings.SITE_URL = "https://app.tendril.test"
    page = owner_client.get("/messages/settings/").content.decode()
    assert "Create webhook addresses" in page
    assert owner_client.post("/messages/settings/esp-webhook/rotate/").status_code == 302
    from messaging.services import messaging_settings

    first = messaging_settings(workspace=ws).esp_webhook_secret
    page = owner_client.get("/messages/settings/").content.decode()
    assert f"https://app.tendril.test/m/esp/w/{ws.pk}/{first}/postmark/tracking/" in page
    assert f"/m/esp/w/{ws.pk}/{first}/amazon_ses/tracking/" in page
    owner_client.post("/messages/settings/esp-webhook/rotate/")
    second = messaging_settings(workspace=ws).esp_webhook_secret
    assert second and second != first


def test_a_marketer_neither_sees_nor_rotates_the_secret(member_client, ws, secret):
    page = member_client.get("/messages/settings/").content.decode()
    assert secret not in page and "ESP webhook addresses" not in page
    assert member_client.post("/messages/settings/esp-webhook/rotate/").status_code == 403
    from messaging.services import messaging_settings

    assert messaging_settings(workspace=ws).esp_webhook_secret == secret


def test_an_admin_of_another_workspace_rotates_only_their_own(ws, other_ws, secret):
    outsider = add_member(other_ws, "admin@other.test", Role.ADMIN)
    login_client(outsider).post("/messages/settings/esp-webhook/rotate/")
    from messaging.services import messaging_settings

    assert messaging_settings(workspace=ws).esp_webhook_secret == secret
    assert messaging_settings(workspace=other_ws).esp_webhook_secret


# --- Amazon SES through SNS -----------------------------------------------------------------------

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-events"


def _certificate(key):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )


@pytest.fixture
def amazon(settings):
    """The stand-in for sns.us-east-1.amazonaws.com: the signing certificate and the
    subscription confirmation, on loopback, reachable by the operator settings."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = _certificate(key).public_bytes(serialization.Encoding.PEM)
    sns.certificate_cache_clear()
    with serving(reply(200, pem)) as server:
        base = f"http://127.0.0.1:{server.port}/"
        settings.MESSAGING_SNS_CERT_URL_PREFIXES = [base]
        settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
        server.key = key
        server.cert_url = base + "SimpleNotificationService-0123456789abcdef.pem"
        yield server
    sns.certificate_cache_clear()


# The fields SNS signs, in AWS's documented order (written out here, not taken from the code).
NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
SUBSCRIPTION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")  # fmt: skip


def sign(envelope, key, version="2"):
    fields = NOTIFICATION_FIELDS if envelope["Type"] == "Notification" else SUBSCRIPTION_FIELDS
    text = "".join(f"{f}\n{envelope[f]}\n" for f in fields if f in envelope)
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = key.sign(text.encode(), padding.PKCS1v15(), digest)
    return {
        **envelope,
        "SignatureVersion": version,
        "Signature": base64.b64encode(signature).decode(),
    }


def notification(amazon, ses_event, *, version="2", key=None):
    envelope = {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": TOPIC,
        "Message": json.dumps(ses_event),
        "Timestamp": "2025-01-05T16:33:54.123Z",
        "SigningCertURL": amazon.cert_url,
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
    }
    return sign(envelope, key or amazon.key, version)


def mail_object(message):
    return {
        "timestamp": "2025-01-05T16:33:50.000Z",
        "source": "news@acme.test",
        "messageId": "0100019438f0a1b2-ses",
        "destination": ["ada@example.com"],
        "headersTruncated": False,
        "headers": [{"name": "X-Metadata", "value": json.dumps({"tendril_message": ref(message)})}],
    }


def ses_bounce(message, kind="Permanent"):
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": kind,
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": "ada@example.com",
                    "action": "failed",
                    "status": "5.1.1" if kind == "Permanent" else "4.2.2",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown"
                    if kind == "Permanent"
                    else "smtp; 452 4.2.2 mailbox full",
                }
            ],
            "timestamp": "2025-01-05T16:33:54.000Z",
            "feedbackId": "0100019438f0-bounce",
        },
        "mail": mail_object(message),
    }


def post_sns(client, path, envelope, *, raw=None, header_type=None):
    body = raw if raw is not None else json.dumps(envelope)
    return client.post(
        path,
        data=body,
        content_type="text/plain; charset=UTF-8",  # as SNS sends it
        HTTP_X_AMZ_SNS_MESSAGE_TYPE=header_type or envelope.get("Type", ""),
        HTTP_X_AMZ_SNS_MESSAGE_ID=envelope.get("MessageId", ""),
        HTTP_X_AMZ_SNS_TOPIC_ARN=TOPIC,
    )


@pytest.fixture
def ses_path(ws, secret):
    return own(ws.pk, secret, "amazon_ses")


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_signed_ses_bounce_suppresses_the_address(client, sent, amazon, ses_path, version):
    response = post_sns(client, ses_path, notification(amazon, ses_bounce(sent), version=version))
    assert response.status_code == 200, response.content
    sent.refresh_from_db()
    assert sent.status == MessageStatus.BOUNCED and sent.meta["bounce"] == "hard"
    suppression = Suppression.objects.get(workspace=sent.workspace, address="ada@example.com")
    assert suppression.reason == "hard_bounce" and suppression.active
    # the certificate was fetched through the outbound client, once
    assert [r["path"] for r in amazon.requests] == [
        "/SimpleNotificationService-0123456789abcdef.pem"
    ]


def test_a_transient_ses_bounce_is_a_soft_bounce(client, sent, amazon, ses_path):
    response = post_sns(client, ses_path, notification(amazon, ses_bounce(sent, "Transient")))
    assert response.status_code == 200
    sent.refresh_from_db()
    assert sent.meta["bounce"] == "soft"
    suppression = Suppression.objects.get(workspace=sent.workspace, address="ada@example.com")
    assert suppression.soft_bounce_count == 1 and not suppression.active


def test_a_ses_complaint_unsubscribes_and_suppresses(client, sent, amazon, ses_path):
    event = {
        "notificationType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": "ada@example.com"}],
            "timestamp": "2025-01-05T16:40:00.000Z",
            "feedbackId": "0100019438f0-complaint",
            "complaintFeedbackType": "abuse",
        },
        "mail": mail_object(sent),
    }
    assert post_sns(client, ses_path, notification(amazon, event)).status_code == 200
    sent.contact.refresh_from_db()
    assert sent.contact.email_consent == "unsubscribed"
    suppression = Suppression.objects.get(workspace=sent.workspace, address="ada@example.com")
    assert suppression.reason == "complaint"


def test_a_ses_delivery_found_by_the_providers_message_id(client, sent, amazon, ses_path):
    mail = {**mail_object(sent), "headers": [], "messageId": sent.provider_message_id}
    event = {
        "notificationType": "Delivery",
        "delivery": {
            "timestamp": "2025-01-05T16:34:00.000Z",
            "recipients": ["ada@example.com"],
            "smtpResponse": "250 2.6.0 Message received",
        },
        "mail": mail,
    }
    assert post_sns(client, ses_path, notification(amazon, event)).status_code == 200
    sent.refresh_from_db()
    assert sent.status == MessageStatus.DELIVERED
    assert Event.objects.filter(contact=sent.contact, name="email.delivered").exists()


def test_a_tampered_or_foreign_signature_is_refused(client, sent, amazon, ses_path):
    tampered = notification(amazon, ses_bounce(sent))
    tampered["Message"] = tampered["Message"].replace("General", "Suppressed")
    assert post_sns(client, ses_path, tampered).status_code == 403
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    foreign = notification(amazon, ses_bounce(sent), key=stranger)
    assert post_sns(client, ses_path, foreign).status_code == 403
    unsigned = {k: v for k, v in notification(amazon, ses_bounce(sent)).items() if k != "Signature"}
    assert post_sns(client, ses_path, unsigned).status_code == 403
    for version in ("3", None):
        odd = notification(amazon, ses_bounce(sent))
        odd["SignatureVersion"] = version
        assert post_sns(client, ses_path, odd).status_code == 403
    unchanged(sent)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/SimpleNotificationService-1.pem",
        "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://sns.us-east-1.amazonaws.com.evil.test/SimpleNotificationService-1.pem",
        "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-1.pem",
        "https://user@sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://sns.us-east-1.amazonaws.com/cert.txt",
    ],
)
def test_a_certificate_url_off_amazon_sns_is_refused_before_any_fetch(
    client, sent, amazon, ses_path, url
):
    envelope = notification(amazon, ses_bounce(sent))
    envelope["SigningCertURL"] = url
    assert post_sns(client, ses_path, sign(envelope, amazon.key)).status_code == 403
    assert amazon.requests == []
    unchanged(sent)


def test_without_the_operator_setting_the_stand_in_is_not_trusted(
    client, sent, amazon, ses_path, settings
):
    settings.MESSAGING_SNS_CERT_URL_PREFIXES = []
    assert post_sns(client, ses_path, notification(amazon, ses_bounce(sent))).status_code == 403
    assert amazon.requests == []
    unchanged(sent)


def test_a_certificate_that_cannot_be_fetched_now_asks_sns_to_retry(
    client, sent, ses_path, settings
):
    sns.certificate_cache_clear()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with serving(reply(503, b"busy")) as server:
        base = f"http://127.0.0.1:{server.port}/"
        settings.MESSAGING_SNS_CERT_URL_PREFIXES = [base]
        settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
        server.key, server.cert_url = key, base + "SimpleNotificationService-1.pem"
        response = post_sns(client, ses_path, notification(server, ses_bounce(sent)))
    assert response.status_code == 503
    unchanged(sent)


def subscription(amazon):
    token = "2336412f37fb687f5d51e6e2425c464de12884" * 2
    confirm = f"{amazon.cert_url.rsplit('/', 1)[0]}/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token={token}"
    envelope = {
        "Type": "SubscriptionConfirmation",
        "MessageId": str(uuid.uuid4()),
        "Token": token,
        "TopicArn": TOPIC,
        "Message": f"You have chosen to subscribe to the topic {TOPIC}.",
        "SubscribeURL": confirm,
        "Timestamp": "2025-01-05T16:30:00.000Z",
        "SigningCertURL": amazon.cert_url,
    }
    return sign(envelope, amazon.key)


def test_a_signed_subscription_confirmation_is_confirmed_through_the_outbound_client(
    client, amazon, ses_path
):
    response = post_sns(client, ses_path, subscription(amazon))
    assert response.status_code == 200
    visited = [r["path"] for r in amazon.requests]
    assert any(p.startswith("/?Action=ConfirmSubscription&TopicArn=") for p in visited)


def test_a_forged_subscription_confirmation_visits_nothing(client, amazon, ses_path):
    forged = subscription(amazon)
    forged["SubscribeURL"] = forged["SubscribeURL"].replace("Token=", "Token=x")
    assert post_sns(client, ses_path, forged).status_code == 403
    assert not any("ConfirmSubscription" in r["path"] for r in amazon.requests)


def test_a_subscribe_url_off_amazon_is_not_visited(client, amazon, ses_path, settings):
    envelope = subscription(amazon)
    envelope["SubscribeURL"] = "https://evil.example.com/?Action=ConfirmSubscription"
    response = post_sns(client, ses_path, sign(envelope, amazon.key))
    assert response.status_code == 403
    assert not any("ConfirmSubscription" in r["path"] for r in amazon.requests)


def test_ses_without_a_secret_does_not_answer(client, sent, amazon, ws):
    path = own(ws.pk, "no-secret-yet", "amazon_ses")
    assert post_sns(client, path, notification(amazon, ses_bounce(sent))).status_code == 404
    shared = post_sns(client, "/m/esp/amazon_ses/tracking/", notification(amazon, ses_bounce(sent)))
    assert shared.status_code == 404
    assert amazon.requests == []
    unchanged(sent)


def test_the_shared_ses_address_needs_basic_auth_and_the_signature(client, sent, amazon, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": "hook:s3cret"}
    envelope = notification(amazon, ses_bounce(sent))
    # SNS first tries without credentials and expects the 401 challenge
    assert post_sns(client, "/m/esp/amazon_ses/tracking/", envelope).status_code == 401
    auth = "Basic " + base64.b64encode(b"hook:s3cret").decode()
    client.defaults["HTTP_AUTHORIZATION"] = auth
    forged = notification(amazon, ses_bounce(sent), key=rsa.generate_private_key(65537, 2048))
    assert post_sns(client, "/m/esp/amazon_ses/tracking/", forged).status_code == 403
    unchanged(sent)
    assert post_sns(client, "/m/esp/amazon_ses/tracking/", envelope).status_code == 200
    sent.refresh_from_db()
    assert sent.status == MessageStatus.BOUNCED


def test_unexpected_sns_payloads_are_4xx_and_change_nothing(client, sent, amazon, ses_path):
    cases = [
        post_sns(client, ses_path, {"MessageId": "1"}, raw="not json", header_type="Notification"),
        post_sns(client, ses_path, {"Type": "Surprise", "MessageId": "1"}),
        # the header and the body disagree
        post_sns(client, ses_path, notification(amazon, ses_bounce(sent)), header_type="SubscriptionConfirmation"),
        # signed, but the SES event inside is not JSON / lacks its recipients
        post_sns(client, ses_path, sign({**notification(amazon, {}), "Message": "{oops"}, amazon.key)),
        post_sns(
            client,
            ses_path,
            notification(amazon, {"notificationType": "Bounce", "bounce": {"bounceType": "Permanent", "bounceSubType": "General"}, "mail": mail_object(sent)}),
        ),
        post_sns(client, ses_path, notification(amazon, {"notificationType": "Delivery", "delivery": {"recipients": ["ada@example.com"]}})),
    ]  # fmt: skip
    statuses = [response.status_code for response in cases]
    assert all(400 <= status < 500 for status in statuses), statuses
    unchanged(sent)


def test_a_ses_event_at_another_workspaces_address_changes_nothing(client, sent, amazon, other_ws):
    theirs = esp_webhook_secret_rotate(workspace=other_ws)
    path = own(other_ws.pk, theirs, "amazon_ses")
    assert post_sns(client, path, notification(amazon, ses_bounce(sent))).status_code == 200
    unchanged(sent)
    eve = make_contact(other_ws, email="eve@example.com")
    assert not Message.objects.filter(contact=eve).exists()
