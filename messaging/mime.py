"""A fast MIME serialisation for the emails we build (multipart/alternative: text + HTML).

Django's `EmailMessage.message()` builds an `email.message.Message` and the stdlib generator
serialises it; that costs more than rendering the email (it re-folds every header through
`email.header` and compiles a regular expression per MIME boundary). Our messages always
have the same simple shape, so `TendrilEmail.message()` returns a small object that writes
the bytes directly: RFC 2047 for non-ASCII headers, addresses through Django's own
`sanitize_address`, bodies 7bit/8bit like Django's (quoted-printable when a line is too long).

Anything unusual (attachments, other alternatives) falls back to Django's implementation.
Only `message()` changes: ESP backends (anymail) read the EmailMessage's attributes and are
unaffected.
"""

from __future__ import annotations

import binascii
import re
import secrets
from email.header import Header
from email.utils import formatdate
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import sanitize_address

MAX_LINE = 998
PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")


@lru_cache(maxsize=256)
def _sanitized(address: str, encoding: str) -> str:
    return sanitize_address(address, encoding)


def address(value: str, encoding: str) -> str:
    """Django's sanitize_address, with the common cases fast: a bare ASCII address is already
    what it would return, and sender addresses repeat across a batch (cached)."""
    if PLAIN_ADDRESS.fullmatch(value):
        return value
    return _sanitized(value, encoding)


def _fold_ascii(name: str, value: str) -> str:
    """Fold a long ASCII header at spaces so lines stay near 78 characters."""
    if len(name) + 2 + len(value) <= 78:
        return value
    lines: list[str] = []
    current = ""
    for word in value.split(" "):
        candidate = f"{current} {word}" if current else word
        limit = 78 - (len(name) + 2 if not lines else 1)
        if current and len(candidate) > limit:
            lines.append(current)
            current = word
        else:
            current = candidate
    lines.append(current)
    return "\n ".join(lines)


def _header(name: str, value: str) -> str:
    value = " ".join(value.splitlines())  # never let a value start a new header
    if value.isascii():
        return f"{name}: {_fold_ascii(name, value)}"
    encoded = Header(value, "utf-8", header_name=name).encode(linesep="\n")
    return f"{name}: {encoded}"


def _body(text: str) -> tuple[str, bytes]:
    """(Content-Transfer-Encoding, encoded body with \\n line ends). As Django does: 7bit or
    8bit while every line fits the 998-character limit, quoted-printable otherwise."""
    data = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    if all(len(line) <= MAX_LINE for line in data.split(b"\n")):
        return ("7bit" if data.isascii() else "8bit"), data
    return "quoted-printable", binascii.b2a_qp(data, istext=True)


class FastMessage:
    """The serialised message, with the small read interface Django's backends use."""

    def __init__(self, headers: list[tuple[str, str]], parts: list[tuple[str, str]]):
        self._headers = headers
        self._parts = parts

    def _lines(self) -> bytes:
        boundary = f"==tendril{secrets.token_hex(12)}=="
        out = [
            f'Content-Type: multipart/alternative; boundary="{boundary}"',
            "MIME-Version: 1.0",
        ]
        out += [_header(name, value) for name, value in self._headers]
        head = ("\n".join(out) + "\n\n").encode("ascii")
        chunks = [head]
        for subtype, content in self._parts:
            encoding, body = _body(content)
            chunks.append(
                (
                    f"--{boundary}\n"
                    f'Content-Type: text/{subtype}; charset="utf-8"\n'
                    "MIME-Version: 1.0\n"
                    f"Content-Transfer-Encoding: {encoding}\n\n"
                ).encode("ascii")
            )
            chunks.append(body if body.endswith(b"\n") else body + b"\n")
        chunks.append(f"--{boundary}--\n".encode("ascii"))
        return b"".join(chunks)

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        data = self._lines()
        return data if linesep == "\n" else data.replace(b"\n", linesep.encode("ascii"))

    def as_string(self, unixfrom: bool = False, linesep: str = "\n") -> str:
        return self.as_bytes(linesep=linesep).decode("utf-8", errors="replace")

    def get_charset(self) -> None:
        return None

    def get(self, name: str, default: Any = None) -> Any:
        for key, value in self._headers:
            if key.lower() == name.lower():
                return value
        return default

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def items(self) -> list[tuple[str, str]]:
        return list(self._headers)


class TendrilEmail(EmailMultiAlternatives):
    def message(self) -> Any:  # type: ignore[override]
        simple = (
            not self.attachments
            and not self.cc
            and not self.bcc
            and len(self.alternatives) == 1
            and self.alternatives[0][1] == "text/html"
            and self.content_subtype == "plain"
        )
        if not simple:
            return super().message()
        encoding = self.encoding or settings.DEFAULT_CHARSET
        extra = {name.lower(): (name, value) for name, value in self.extra_headers.items()}
        headers: list[tuple[str, str]] = [("Subject", str(self.subject))]
        headers.append(("From", address(extra.pop("from", ("", self.from_email))[1], encoding)))
        headers.append(("To", ", ".join(address(a, encoding) for a in self.to)))
        if self.reply_to:
            headers.append(("Reply-To", ", ".join(address(a, encoding) for a in self.reply_to)))
        extra.pop("to", None)
        extra.pop("reply-to", None)
        if "date" not in extra:
            headers.append(("Date", formatdate(localtime=settings.EMAIL_USE_LOCALTIME)))
        headers += list(extra.values())
        parts = [("plain", str(self.body)), ("html", str(self.alternatives[0][0]))]
        return FastMessage(headers, parts)
