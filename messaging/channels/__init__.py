"""Providers: email through Django's email backend (SMTP here, any anymail ESP by settings) and
SMS/WhatsApp through Twilio. Each classifies failures as transient (retry later), a bounce
(the address is bad) or permanent (this message cannot be sent)."""

from __future__ import annotations


class DeliveryError(Exception):
    """Base class; `detail` is what is stored on the message."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail[:500]


class TransientError(DeliveryError):
    """Try again later (connection trouble, 4xx, throttling)."""


class PermanentError(DeliveryError):
    """This message will never go through as it is (content or sender rejected)."""


class UnsupportedAddress(PermanentError):
    """Not the provider's verdict: this sender cannot address the recipient (an address that
    needs SMTPUTF8). Fails the message without counting towards the failure burst."""


class BounceError(PermanentError):
    """The recipient address is rejected for good (hard bounce)."""


class OptedOutError(PermanentError):
    """The provider says the recipient opted out (e.g. Twilio 21610 after a STOP)."""


class OutcomeUnknownError(DeliveryError):
    """The message was handed to the provider and its answer was lost (a read timeout, a
    connection dropped after the body went out): it may have been accepted. Never retried —
    at most once (docs/security.md "Faults: exactly once")."""
