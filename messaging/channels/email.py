"""Email through Django's email backend with one persistent connection per worker process.

Opening an SMTP session (TCP, EHLO, STARTTLS, AUTH) costs more than sending a message, so the
connection is opened once and reused by every task the process runs; a server that hung up
in the meantime is reconnected once. Production can set EMAIL_BACKEND to an anymail ESP
backend: the same code path, the provider's id comes back in `anymail_status`.
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import threading
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from . import BounceError, OutcomeUnknownError, PermanentError, TransientError, UnsupportedAddress

_local = threading.local()
DJANGO_SMTP = "django.core.mail.backends.smtp.EmailBackend"
FAST_SMTP = "messaging.channels.smtp.EmailBackend"  # the same, with faster address handling


def _connection_key() -> tuple[Any, ...]:
    return (
        settings.EMAIL_BACKEND,
        settings.EMAIL_HOST,
        settings.EMAIL_PORT,
    )


def connection() -> Any:
    key = _connection_key()
    held = getattr(_local, "held", None)
    if held is None or held[0] != key:
        if held is not None:
            _close(held[1])
        backend = FAST_SMTP if settings.EMAIL_BACKEND == DJANGO_SMTP else None
        _local.held = (key, get_connection(backend=backend, fail_silently=False))
    return _local.held[1]


def _close(conn: Any) -> None:
    with contextlib.suppress(Exception):  # closing a dead connection is allowed to fail
        conn.close()


def connection_reset() -> None:
    held = getattr(_local, "held", None)
    if held is not None:
        _close(held[1])
        _local.held = None


def send(message: EmailMultiAlternatives) -> str:
    """Send one message over the held connection; return the provider's message id."""
    _refuse_smtputf8(message)
    for attempt in (1, 2):
        conn = connection()
        try:
            conn.open()
            message.connection = conn
            if conn.send_messages([message]) != 1:
                raise TransientError("the email backend did not accept the message")
            break
        except smtplib.SMTPServerDisconnected as error:
            connection_reset()
            if attempt == 2:
                raise TransientError(f"SMTP server disconnected: {error}")
        except Exception as error:
            if not isinstance(error, smtplib.SMTPRecipientsRefused | PermanentError):
                connection_reset()
            raise classify(error)
    status = getattr(message, "anymail_status", None)
    if status is not None and getattr(status, "message_id", None):
        return str(status.message_id)
    return str(message.extra_headers.get("Message-ID", ""))


def _refuse_smtputf8(message: EmailMultiAlternatives) -> None:
    """An internationalised address (RFC 6531) with a non-ASCII local part, such as
    josé@exämple.de, can only travel with SMTPUTF8, which this sender does not speak: Django
    would rewrite the local part into an encoded word and deliver to a wrong mailbox. Such a
    message fails, with the reason, instead. (A non-ASCII domain alone is fine: punycode.)"""
    for recipient in message.recipients():
        local = parseaddr(recipient)[1].rpartition("@")[0]
        if not local.isascii():
            raise UnsupportedAddress(
                f"{recipient}: an internationalised address (non-ASCII before the @) needs "
                "SMTPUTF8, which Tendril's email sending does not support yet"
            )


def classify(error: Exception) -> Exception:
    """Map a backend exception to TransientError / BounceError / PermanentError."""
    if isinstance(error, TransientError | PermanentError | OutcomeUnknownError):
        return error
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(error.recipients.values()), (550, b""))
        text = f"{code} {_text(reply)}"
        return TransientError(text) if 400 <= code < 500 else BounceError(text)
    if isinstance(error, smtplib.SMTPResponseException):
        text = f"{error.smtp_code} {_text(error.smtp_error)}"
        if isinstance(error, smtplib.SMTPAuthenticationError) or 400 <= error.smtp_code < 500:
            return TransientError(text)
        return PermanentError(text)
    if isinstance(
        error, smtplib.SMTPException | ConnectionError | socket.timeout | TimeoutError | OSError
    ):
        return TransientError(f"{type(error).__name__}: {error}")
    anymail = _classify_anymail(error)
    if anymail is not None:
        return anymail
    return PermanentError(f"{type(error).__name__}: {error}")


def _classify_anymail(error: Exception) -> Exception | None:
    try:
        from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
    except ImportError:  # pragma: no cover
        return None
    if isinstance(error, AnymailRecipientsRefused):
        return BounceError(str(error))
    if isinstance(error, AnymailAPIError):
        status = getattr(error, "status_code", None)
        if status is None or status == 429 or status >= 500:
            return TransientError(str(error))
        return PermanentError(str(error))
    return None


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
