"""Scenario `mime`: the hand-written MIME writer (messaging/mime.py) against the stdlib
`email` package and Django's own `message()` (issue #14).

    .venv/bin/python -m bench mime [--messages 300] [--rounds 5]

One email of a broadcast's usual shape (text + HTML of ~12 KB, From with a display name,
Reply-To, Message-ID, List-Unsubscribe with a one-click URL, List-Unsubscribe-Post,
Feedback-ID) is built and serialised with CRLF line ends --messages times per way, the ways
interleaved round by round:

- `messaging.mime` (what sends use): `TendrilEmail.message().as_bytes()`;
- the stdlib's `email.message.EmailMessage` under `email.policy.SMTP` (headers set, then
  `set_content` / `add_alternative` with the same transfer encodings; List-Unsubscribe
  mapped to a header class that folds between its URLs instead of encoding the URL);
- Django's `EmailMultiAlternatives.message()` (the legacy `email.mime` classes).

Prints CPU µs per message (median round) and the ratio to messaging.mime. No database:
settings only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

HTML = "<html><body>" + "<p>Some <a href='https://x.test/c/abc'>html</a> line.</p>\n" * 200


def _email(cls: type[Any]) -> Any:
    message = cls(
        subject="Your weekly digest from Acme, Ada",
        body="Hello Ada,\n" + "Some text line here.\n" * 40,
        from_email="Acme News <news@acme.test>",
        to=["ada@example.com"],
        reply_to=["help@acme.test"],
        headers={
            "Message-ID": "<m1.123@tendril.local>",
            "List-Unsubscribe": "<https://app.test/m/u/" + "t" * 120 + ">, "
            "<mailto:u+" + "t" * 60 + "@acme.test?subject=unsubscribe>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Feedback-ID": "broadcast:1:tendril",
        },
    )
    message.attach_alternative(HTML, "text/html")
    return message


def stdlib_writer() -> Callable[[Any], bytes]:
    """The same message through email.message.EmailMessage and email.policy.SMTP."""
    import email.message
    import email.policy
    from email.headerregistry import HeaderRegistry, UnstructuredHeader
    from email.utils import formatdate

    class ListHeader(UnstructuredHeader):
        def fold(self, *, policy: Any) -> str:
            return f"{self.name}: " + f",{policy.linesep} ".join(self.split(", ")) + policy.linesep

    registry = HeaderRegistry()
    registry.map_to_type("list-unsubscribe", ListHeader)
    policy = email.policy.SMTP.clone(header_factory=registry)

    def encoding(text: str) -> str:
        if all(len(line) <= 998 for line in text.encode().splitlines()):
            return "7bit" if text.isascii() else "8bit"
        return "quoted-printable"

    def write(source: Any) -> bytes:
        message = email.message.EmailMessage(policy=policy)
        message["Subject"] = source.subject
        message["From"] = source.from_email
        message["To"] = ", ".join(source.to)
        message["Reply-To"] = ", ".join(source.reply_to)
        message["Date"] = formatdate()
        for name, value in source.extra_headers.items():
            message[name] = value
        html = source.alternatives[0][0]
        message.set_content(source.body, cte=encoding(source.body))
        message.add_alternative(html, subtype="html", cte=encoding(html))
        return message.as_bytes()

    return write


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench mime")
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from django.core.mail import EmailMultiAlternatives

    from bench import harness
    from messaging.mime import TendrilEmail

    stdlib = stdlib_writer()
    ways: dict[str, Callable[[], bytes]] = {
        "messaging.mime (hand-written)": lambda: (
            _email(TendrilEmail).message().as_bytes(linesep="\r\n")
        ),
        "stdlib EmailMessage, policy SMTP": lambda: stdlib(_email(TendrilEmail)),
        "Django's message()": lambda: (
            _email(EmailMultiAlternatives).message().as_bytes(linesep="\r\n")
        ),
    }
    note = harness.machine_note()
    cpu: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(options.rounds):
        for name, write in ways.items():
            started = time.process_time()
            for _ in range(options.messages):
                write()
            cpu[name].append((time.process_time() - started) / options.messages * 1e6)
    base = statistics.median(cpu["messaging.mime (hand-written)"])
    rows = [("machine", note), ("load average at end", f"{os.getloadavg()[0]:.2f}")]
    for name, figures in cpu.items():
        median = statistics.median(figures)
        rows.append((name, f"{median:7.0f} µs CPU per message ({median / base:.1f}x)"))
    harness.report(f"mime — {options.messages} messages x {options.rounds} rounds", rows)
