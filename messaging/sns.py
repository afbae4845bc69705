"""Amazon SNS messages (how Amazon SES reports deliveries, bounces and complaints): verify
their signature and confirm a subscription.

An SNS message carries a signature over its own fields (SignatureVersion 1: RSA with
SHA-1; 2: RSA with SHA-256) and the URL of the certificate to check it with. That URL is
only trusted when it is `https://sns.<region>.amazonaws.com/….pem` (or starts with one of
the operator's MESSAGING_SNS_CERT_URL_PREFIXES, for a local stand-in); the certificate is
fetched through the one guarded outbound client and kept in memory by URL.

A valid signature proves only that *some* SNS topic sent the message — anyone can point
their own topic at Tendril. The webhook secret (basic auth or the workspace's secret in the
URL) says the message is meant for us; messaging/esp.py checks both.

https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings

from workspaces.outbound import client

SNS_HOST = re.compile(r"sns\.[a-z0-9-]{1,40}\.amazonaws\.com(\.cn)?")
HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
# The fields each message type signs, in this order ("Subject" only when present).
SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),  # fmt: skip
}
SIGNED_FIELDS["UnsubscribeConfirmation"] = SIGNED_FIELDS["SubscriptionConfirmation"]
_CACHE_SIZE = 32


class SnsRefused(Exception):
    """The message is not signed by Amazon SNS (or names a URL we do not call)."""


class SnsUnavailable(Exception):
    """The certificate could not be fetched now (network, AWS answering 5xx): retry later."""


def _operator_allowed(url: str) -> bool:
    return any(url.startswith(prefix) for prefix in settings.MESSAGING_SNS_CERT_URL_PREFIXES)


def _is_sns_url(url: str) -> bool:
    """An https URL on sns.<region>.amazonaws.com, nothing else (no port, user, fragment)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme == "https"
        and port in (None, 443)
        and not parts.username
        and not parts.password
        and not parts.fragment
        and SNS_HOST.fullmatch(parts.hostname or "") is not None
    )


def certificate_url_problem(url: Any) -> str | None:
    if not isinstance(url, str) or len(url) > 500:
        return "SigningCertURL is missing"
    if _operator_allowed(url):
        return None
    if not _is_sns_url(url) or urlsplit(url).query or not urlsplit(url).path.endswith(".pem"):
        return f"SigningCertURL {url[:100]!r} is not an Amazon SNS certificate"
    return None


def subscribe_url_problem(url: Any) -> str | None:
    if not isinstance(url, str) or len(url) > 2000:
        return "SubscribeURL is missing"
    if _operator_allowed(url):
        return None
    if not _is_sns_url(url):
        return f"SubscribeURL {url[:100]!r} is not an Amazon SNS address"
    if parse_qs(urlsplit(url).query).get("Action") != ["ConfirmSubscription"]:
        return "SubscribeURL does not confirm a subscription"
    return None


# --- certificates ---------------------------------------------------------------------------

_certificates: dict[str, x509.Certificate] = {}
_lock = threading.Lock()


def certificate_cache_clear() -> None:
    with _lock:
        _certificates.clear()


def _fetch_certificate(url: str) -> x509.Certificate:
    response, body = client.get(url)
    if response.refused:
        raise SnsRefused(f"the certificate URL is refused: {response.error}")
    if response.status is None or response.status >= 500 or response.status in (408, 429):
        raise SnsUnavailable(response.error or f"the certificate URL answered {response.status}")
    if response.status != 200 or not body:
        raise SnsRefused(f"the certificate URL answered {response.status} without a certificate")
    try:
        return x509.load_pem_x509_certificate(body)
    except ValueError as error:
        raise SnsRefused("the certificate URL did not answer with a PEM certificate") from error


def certificate(url: str) -> x509.Certificate:
    with _lock:
        found = _certificates.get(url)
    if found is None:
        found = _fetch_certificate(url)
        with _lock:
            if len(_certificates) >= _CACHE_SIZE:
                _certificates.clear()
            _certificates[url] = found
    now = datetime.now(UTC)
    if not (found.not_valid_before_utc <= now <= found.not_valid_after_utc):
        raise SnsRefused("the signing certificate is not valid now")
    return found


# --- messages -------------------------------------------------------------------------------


def string_to_sign(message: Mapping[str, Any]) -> bytes:
    kind = message.get("Type")
    fields = SIGNED_FIELDS.get(kind) if isinstance(kind, str) else None
    if fields is None:
        raise SnsRefused(f"unknown SNS message type {str(kind)[:40]!r}")
    lines = []
    for name in fields:
        value = message.get(name)
        if value is None and name == "Subject":
            continue
        if not isinstance(value, str):
            raise SnsRefused(f"the signed field {name} is missing")
        lines.append(f"{name}\n{value}\n")
    return "".join(lines).encode()


def message_verify(message: Mapping[str, Any]) -> None:
    """Raise SnsRefused unless Amazon SNS signed `message` (SnsUnavailable: try later)."""
    version = message.get("SignatureVersion")
    algorithm = HASHES.get(version) if isinstance(version, str) else None
    if algorithm is None:
        raise SnsRefused(f"unsupported SignatureVersion {str(version)[:10]!r}")
    url = message.get("SigningCertURL")
    problem = certificate_url_problem(url)
    if problem:
        raise SnsRefused(problem)
    signed = string_to_sign(message)
    try:
        signature = base64.b64decode(str(message.get("Signature") or ""), validate=True)
    except (binascii.Error, ValueError) as error:
        raise SnsRefused("the Signature is not base64") from error
    key = certificate(str(url)).public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SnsRefused("the signing certificate has no RSA key")
    try:
        key.verify(signature, signed, padding.PKCS1v15(), algorithm())
    except InvalidSignature as error:
        raise SnsRefused("the signature does not match") from error


def subscription_confirm(message: Mapping[str, Any]) -> None:
    """Visit a (verified) SubscriptionConfirmation's SubscribeURL through the guarded client."""
    url = message.get("SubscribeURL")
    problem = subscribe_url_problem(url)
    if problem:
        raise SnsRefused(problem)
    response, _body = client.get(str(url))
    if response.refused:
        raise SnsRefused(f"the SubscribeURL is refused: {response.error}")
    if not response.ok:
        raise SnsUnavailable(
            response.error or f"confirming the subscription answered {response.status}"
        )
