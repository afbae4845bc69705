"""SMS and WhatsApp through the official Twilio client.

`TWILIO_BASE_URL` (settings) points the client somewhere other than api.twilio.com — a
local fake in tests and development. The client builds absolute URLs from its domains
(api.twilio.com, …), so the override rewrites scheme and host of every request in a
`TwilioHttpClient` subclass; paths, auth and bodies are exactly what Twilio would get.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3
from django.conf import settings
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import ConnectTimeoutError

from . import BounceError, OptedOutError, OutcomeUnknownError, PermanentError, TransientError

# Twilio error codes: https://www.twilio.com/docs/api/errors
OPTED_OUT = {21610}  # the recipient replied STOP
INVALID_TO = {21211, 21614, 21217, 21401, 21612, 63003}


class BaseUrlHttpClient(TwilioHttpClient):
    def __init__(self, base_url: str, **kwargs: Any):
        super().__init__(**kwargs)
        parts = urlsplit(base_url)
        self.scheme, self.netloc = parts.scheme, parts.netloc
        self.prefix = parts.path.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        parts = urlsplit(url)
        url = urlunsplit(
            (self.scheme, self.netloc, self.prefix + parts.path, parts.query, parts.fragment)
        )
        return super().request(method, url, *args, **kwargs)


_local = threading.local()


def client() -> Client:
    key = (settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_BASE_URL)
    held = getattr(_local, "held", None)
    if held is None or held[0] != key:
        if not settings.TWILIO_ACCOUNT_SID or not settings.TWILIO_AUTH_TOKEN:
            raise PermanentError("Twilio is not configured (TWILIO_ACCOUNT_SID/AUTH_TOKEN).")
        http_client = (
            BaseUrlHttpClient(settings.TWILIO_BASE_URL, timeout=settings.TWILIO_TIMEOUT)
            if settings.TWILIO_BASE_URL
            else TwilioHttpClient(timeout=settings.TWILIO_TIMEOUT)
        )
        _local.held = (
            key,
            Client(
                settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client
            ),
        )
    return _local.held[1]


def send(*, to: str, from_: str, body: str, status_callback: str | None) -> str:
    """Send one SMS/WhatsApp message; returns Twilio's message SID."""
    if not from_:
        raise PermanentError("No SMS sender number is configured (settings or TWILIO_FROM).")
    kwargs: dict[str, Any] = {"to": to, "from_": from_, "body": body}
    if status_callback:
        kwargs["status_callback"] = status_callback
    try:
        message = client().messages.create(**kwargs)
    except TwilioRestException as error:
        raise classify(error)
    except requests.RequestException as error:
        if _never_reached(error):
            raise TransientError(f"Twilio unreachable: {error}")
        # The request went out and its answer was lost: Twilio may have queued the SMS, and
        # its API takes no idempotency key — at most once, never retried.
        raise OutcomeUnknownError(
            f"outcome unknown: no answer from Twilio after the request was sent "
            f"({type(error).__name__}); not resent, to avoid a duplicate"
        )
    return str(message.sid)


def _never_reached(error: requests.RequestException) -> bool:
    """True when the request cannot have reached Twilio (no connection was made)."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    if isinstance(error, requests.ConnectionError):
        reason = getattr(error.args[0], "reason", None) if error.args else None
        return isinstance(reason, urllib3.exceptions.NewConnectionError | ConnectTimeoutError)
    return not isinstance(error, requests.Timeout)


def classify(error: TwilioRestException) -> Exception:
    text = f"Twilio {error.status} / {error.code}: {error.msg}"
    if error.code in OPTED_OUT:
        return OptedOutError(text)
    if error.code in INVALID_TO:
        return BounceError(text)
    if error.status == 429 or error.status >= 500:
        return TransientError(text)
    return PermanentError(text)
