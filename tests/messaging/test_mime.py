"""The fast MIME serialisation parses back to exactly what was meant."""

from __future__ import annotations

import email
import email.policy
import smtplib

import pytest

from messaging.channels.smtp import envelope
from messaging.mime import TendrilEmail


def parse(message: TendrilEmail):
    raw = message.message().as_bytes(linesep="\r\n")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_unicode_headers_and_bodies_round_trip():
    subject = "Grüße aus Köln — 20 % Rabatt für dich, Zoë! " * 3
    html = "<p>Hällo " + "x" * 2000 + "</p>\n<p>Zweite Zeile ✓</p>"
    text = "Hällo\r\nZweite Zeile ✓\n" + "y" * 1500
    message = TendrilEmail(
        subject=subject,
        body=text,
        from_email="Zoë Müller <news@acme.test>",
        to=["ada@example.com"],
        reply_to=["Støtte <help@acme.test>"],
        headers={
            "Message-ID": "<m1@tendril.local>",
            "List-Unsubscribe": "<https://app.test/m/u/"
            + "t" * 120
            + ">, <mailto:u@acme.test?subject=x>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(html, "text/html")
    parsed = parse(message)
    assert parsed["Subject"] == subject
    assert parsed["From"].addresses[0].display_name == "Zoë Müller"
    assert parsed["From"].addresses[0].addr_spec == "news@acme.test"
    assert parsed["Reply-To"].addresses[0].display_name == "Støtte"
    assert parsed["To"] == "ada@example.com"
    assert parsed["Message-ID"] == "<m1@tendril.local>"
    assert parsed["List-Unsubscribe"].startswith("<https://app.test/m/u/tttt")
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["Date"] is not None and parsed["MIME-Version"] == "1.0"

    def content(subtype):
        return parsed.get_body((subtype,)).get_content().replace("\r\n", "\n").rstrip("\n")

    assert content("html") == html
    assert content("plain") == text.replace("\r\n", "\n")


def test_a_header_value_cannot_inject_another_header():
    message = TendrilEmail(
        subject="Hi\r\nBcc: victim@example.com", body="x", from_email="a@b.test", to=["c@d.test"]
    )
    message.attach_alternative("<p>x</p>", "text/html")
    parsed = parse(message)
    assert parsed["Bcc"] is None and parsed["Subject"] == "Hi Bcc: victim@example.com"


def test_anything_unusual_falls_back_to_djangos_serialisation():
    message = TendrilEmail(subject="x", body="y", from_email="a@b.test", to=["c@d.test"])
    message.attach("notes.txt", "hello", "text/plain")
    assert isinstance(message.message(), email.message.Message)


def test_short_lines_go_as_8bit_and_long_ones_as_quoted_printable():
    message = TendrilEmail(
        subject="x", body="Grüße\nzweite Zeile", from_email="a@b.test", to=["c@d.test"]
    )
    message.attach_alternative("<p>" + "ü" * 600 + "</p>", "text/html")  # 1,207 bytes in one line
    raw = message.message().as_bytes(linesep="\r\n")
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    plain, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert plain["Content-Transfer-Encoding"] == "8bit"
    assert html["Content-Transfer-Encoding"] == "quoted-printable"
    assert plain.get_content().replace("\r\n", "\n").rstrip("\n") == "Grüße\nzweite Zeile"
    assert html.get_content().rstrip("\r\n") == "<p>" + "ü" * 600 + "</p>"


@pytest.mark.parametrize(
    "addr",
    [
        "ada@example.com",
        "o'brien+news@mail.example.ie",
        "a..b@example.com",
        "Ada Lovelace <ada@example.com>",
        '"odd, name"@example.com',
        "<ada@example.com>",
        "",
    ],
)
def test_the_smtp_envelope_is_what_smtplib_would_send(addr):
    assert envelope(addr) == smtplib.quoteaddr(addr)
