"""Django's SMTP backend, with envelope addresses handled through the fast path of
`messaging.mime.address` (Django's `sanitize_address` parses every address with the stdlib's
RFC 5322 parser: about half a millisecond per call, twice per message), and smtplib's own
re-parsing of the same envelope addresses (`quoteaddr`, once more per address) skipped for
addresses that are already bare. Used by `messaging.channels.email` whenever EMAIL_BACKEND
is Django's SMTP backend."""

from __future__ import annotations

import smtplib
from typing import Any

from django.conf import settings
from django.core.mail.backends import smtp

from ..mime import PLAIN_ADDRESS, address
from . import OutcomeUnknownError


def envelope(addr: str) -> str:
    """What smtplib.quoteaddr returns for `addr`, without parsing it when it is bare."""
    return f"<{addr}>" if PLAIN_ADDRESS.fullmatch(addr) else smtplib.quoteaddr(addr)


class _BareEnvelope:
    """smtplib's MAIL and RCPT with `envelope` instead of `quoteaddr`. SMTPUTF8 (which
    switches the command encoding) keeps smtplib's own path."""

    def mail(self, sender: str, options: Any = ()) -> tuple[int, bytes]:
        if any(option.lower() == "smtputf8" for option in options):
            return super().mail(sender, options)  # type: ignore[misc]
        return self._command("mail", f"FROM:{envelope(sender)}", options)

    def rcpt(self, recip: str, options: Any = ()) -> tuple[int, bytes]:
        return self._command("rcpt", f"TO:{envelope(recip)}", options)

    # Where a DATA exchange stands: None outside it, 0 before the server's 354, 1 once the
    # body is on its way — from then on a lost connection or a timeout leaves the outcome
    # unknown (the server may have queued the message), so it must not be sent again.
    _data_stage: int | None = None

    def data(self, msg: Any) -> tuple[int, bytes]:
        self._data_stage = 0
        try:
            return super().data(msg)  # type: ignore[misc, no-any-return]
        except (OSError, smtplib.SMTPServerDisconnected) as error:
            if self._data_stage == 1:
                raise OutcomeUnknownError(
                    f"outcome unknown: the SMTP server did not answer after the message was "
                    f"sent ({type(error).__name__}: {error}); not resent, to avoid a duplicate"
                ) from error
            raise
        finally:
            self._data_stage = None

    def getreply(self) -> tuple[int, bytes]:
        reply = super().getreply()  # type: ignore[misc]
        if self._data_stage == 0 and reply[0] == 354:
            self._data_stage = 1
        return reply  # type: ignore[no-any-return]

    def _command(self, verb: str, argument: str, options: Any) -> tuple[int, bytes]:
        if options and self.does_esmtp:  # type: ignore[attr-defined]
            argument += " " + " ".join(options)
        self.putcmd(verb, argument)  # type: ignore[attr-defined]
        return self.getreply()  # type: ignore[attr-defined, no-any-return]


class SMTP(_BareEnvelope, smtplib.SMTP):
    pass


class SMTP_SSL(_BareEnvelope, smtplib.SMTP_SSL):  # noqa: N801 — smtplib's name
    pass


class EmailBackend(smtp.EmailBackend):
    @property
    def connection_class(self) -> type[smtplib.SMTP]:
        return SMTP_SSL if self.use_ssl else SMTP

    def _send(self, email_message: Any) -> bool:
        recipients = email_message.recipients()
        if not recipients:
            return False
        encoding = email_message.encoding or settings.DEFAULT_CHARSET
        from_email = address(email_message.from_email, encoding)
        message = email_message.message()
        assert self.connection is not None  # open() was called by send_messages
        try:
            self.connection.sendmail(
                from_email,
                [address(addr, encoding) for addr in recipients],
                message.as_bytes(linesep="\r\n"),
            )
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        return True
