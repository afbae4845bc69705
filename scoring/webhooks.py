"""Outbound HTTP: Slack-compatible incoming webhooks and signed CRM webhooks.

Workspace members type these URLs, so the server must not become a way to reach its own
network: a URL must be http(s) and its host must resolve to public addresses only, unless
TENDRIL_WEBHOOKS_ALLOW_PRIVATE is set (development, and tests with a loopback receiver).

CRM requests carry `X-Tendril-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">`
with the workspace's secret, like Stripe's scheme: the receiver recomputes it and rejects
old timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import socket
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

TIMEOUT = 10
USER_AGENT = "Tendril-Webhooks/1"


class WebhookError(Exception):
    """A delivery failed in a way worth retrying (network, 5xx, 429)."""


class WebhookRejected(Exception):
    """The receiver or the URL refused for good (4xx, a private address)."""


def _allow_private() -> bool:
    configured = getattr(settings, "TENDRIL_WEBHOOKS_ALLOW_PRIVATE", None)
    if configured is not None:
        return bool(configured)
    return os.environ.get("TENDRIL_WEBHOOKS_ALLOW_PRIVATE", "") in ("1", "true", "yes")


def webhook_url_check(url: str, *, resolve: bool = True) -> str | None:
    """None if `url` may be called, else why not (for a form field's message)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL"
    if len(url) > 500:
        return "must be at most 500 characters"
    if _allow_private() or not resolve:
        return None
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError:
        return f"the host {parts.hostname} does not resolve"
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            return "must point to a public address"
    return None


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), default=str).encode()


def post_json(url: str, body: bytes, *, headers: dict[str, str] | None = None) -> int:
    problem = webhook_url_check(url)
    if problem:
        raise WebhookRejected(f"{url}: {problem}")
    request = urllib.request.Request(  # noqa: S310 — the scheme is checked above
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        if error.code == 429 or error.code >= 500:
            raise WebhookError(f"{url} answered {error.code}") from error
        raise WebhookRejected(f"{url} answered {error.code}") from error
    except (urllib.error.URLError, OSError) as error:
        raise WebhookError(f"{url}: {error}") from error


def slack_send(url: str, text: str) -> int:
    return post_json(url, _dumps({"text": text}))


def crm_send(url: str, secret: str, payload: dict[str, Any]) -> int:
    body = _dumps(payload)
    timestamp = int(time.time())
    return post_json(
        url,
        body,
        headers={"X-Tendril-Signature": signature(secret, timestamp, body)},
    )
