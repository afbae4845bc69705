"""Signed tokens for the public endpoints: open pixel, click redirect, unsubscribe, preference
centre and double opt-in confirmation. A token names the workspace and the object, so a public
view never looks anything up that the token did not vouch for."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.utils.encoding import force_bytes


class FastSigner(signing.Signer):
    """Django's Signer with the HMAC key derived once per secret instead of on every call.

    A send signs about ten links per recipient; `salted_hmac` re-hashes the secret each
    time. Signatures are identical to Django's (tokens stay verifiable by a plain Signer),
    and SECRET_KEY_FALLBACKS still work through `key`.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._derived: dict[str, bytes] = {}

    def signature(self, value: Any, key: Any = None) -> str:
        secret = str(key or self.key)
        derived = self._derived.get(secret)
        if derived is None:
            derived = hashlib.sha256(
                force_bytes(self.salt) + b"signer" + force_bytes(secret)
            ).digest()
            self._derived[secret] = derived
        digest = hmac.digest(derived, force_bytes(value), "sha256")
        return signing.b64_encode(digest).decode()


def _signer(salt: str) -> FastSigner:
    return FastSigner(salt=salt, algorithm="sha256")


_open = _signer("messaging.open")
_click = _signer("messaging.click")
_unsubscribe = _signer("messaging.unsubscribe")
_preferences = _signer("messaging.preferences")
_esp = _signer("messaging.esp")
CONFIRM_SALT = "messaging.confirm"
CONFIRM_MAX_AGE = 7 * 24 * 3600

BadToken = signing.BadSignature


@dataclass(frozen=True)
class MessageRef:
    workspace_id: int
    message_id: int


@dataclass(frozen=True)
class ContactRef:
    workspace_id: int
    contact_id: int
    message_id: int | None = None


def _ints(value: str, count: int) -> list[int]:
    parts = value.split(".")
    if len(parts) != count:
        raise BadToken("malformed token")
    try:
        return [int(part) for part in parts]
    except ValueError:
        raise BadToken("malformed token")


def open_token(workspace_id: int, message_id: int) -> str:
    return _open.sign(f"{workspace_id}.{message_id}")


def open_token_read(token: str) -> MessageRef:
    workspace_id, message_id = _ints(_open.unsign(token), 2)
    return MessageRef(workspace_id, message_id)


def click_token(workspace_id: int, message_id: int, url: str) -> str:
    encoded = base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    return _click.sign(f"{workspace_id}.{message_id}.{encoded}")


def click_token_read(token: str) -> tuple[MessageRef, str]:
    """The message and the original URL the signature vouches for."""
    parts = _click.unsign(token).split(".", 2)
    if len(parts) != 3:
        raise BadToken("malformed token")
    workspace_id, message_id = _ints(f"{parts[0]}.{parts[1]}", 2)
    try:
        url = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise BadToken("malformed token")
    return MessageRef(workspace_id, message_id), url


# SMS links: a message's links are kept on the message (meta["links"]) and the text carries
# only their position, so a tracked link costs ~45 characters instead of the whole URL twice.
# 12 characters of HMAC-SHA256 (72 bits) vouch for it; base 36 keeps the ids short.
_short = _signer("messaging.short")
SHORT_SIGNATURE_CHARS = 12


def _b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def short_link_token(workspace_id: int, message_id: int, index: int) -> str:
    value = f"{_b36(workspace_id)}.{_b36(message_id)}.{_b36(index)}"
    return f"{value}.{_short.signature(value)[:SHORT_SIGNATURE_CHARS]}"


def short_link_token_read(token: str) -> tuple[MessageRef, int]:
    """The message and the position of the link in it that the signature vouches for."""
    value, _, signature = token.rpartition(".")
    expected = _short.signature(value)[:SHORT_SIGNATURE_CHARS]
    if not value or not hmac.compare_digest(signature.encode(), expected.encode()):
        raise BadToken("bad signature")
    parts = value.split(".")
    if len(parts) != 3:
        raise BadToken("malformed token")
    try:
        workspace_id, message_id, index = (int(part, 36) for part in parts)
    except ValueError:
        raise BadToken("malformed token")
    return MessageRef(workspace_id, message_id), index


def esp_reference(workspace_id: int, message_id: int) -> str:
    """The reference an ESP echoes back in its webhooks (anymail `metadata`): signed, so a
    webhook can only name a message it was given."""
    return _esp.sign(f"{workspace_id}.{message_id}")


def esp_reference_read(reference: str) -> MessageRef:
    workspace_id, message_id = _ints(_esp.unsign(reference), 2)
    return MessageRef(workspace_id, message_id)


def unsubscribe_token(workspace_id: int, contact_id: int, message_id: int | None = None) -> str:
    return _unsubscribe.sign(f"{workspace_id}.{contact_id}.{message_id or 0}")


def unsubscribe_token_read(token: str) -> ContactRef:
    workspace_id, contact_id, message_id = _ints(_unsubscribe.unsign(token), 3)
    return ContactRef(workspace_id, contact_id, message_id or None)


def preferences_token(workspace_id: int, contact_id: int) -> str:
    return _preferences.sign(f"{workspace_id}.{contact_id}")


def preferences_token_read(token: str) -> ContactRef:
    workspace_id, contact_id = _ints(_preferences.unsign(token), 2)
    return ContactRef(workspace_id, contact_id)


def confirm_token(workspace_id: int, contact_id: int, source: str) -> str:
    return signing.dumps([workspace_id, contact_id, source], salt=CONFIRM_SALT)


def confirm_token_read(token: str) -> tuple[ContactRef, str]:
    payload: Any = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    workspace_id, contact_id, source = payload
    return ContactRef(int(workspace_id), int(contact_id)), str(source)


# --- Absolute URLs (built by hand: this runs per link per recipient) ---------------------


def site() -> str:
    return settings.SITE_URL


def open_url(workspace_id: int, message_id: int) -> str:
    return f"{site()}/m/o/{open_token(workspace_id, message_id)}.gif"


def click_url(workspace_id: int, message_id: int, url: str) -> str:
    return f"{site()}/m/c/{click_token(workspace_id, message_id, url)}"


def short_link_url(workspace_id: int, message_id: int, index: int) -> str:
    return f"{site()}/m/s/{short_link_token(workspace_id, message_id, index)}"


def unsubscribe_url(workspace_id: int, contact_id: int, message_id: int | None = None) -> str:
    return unsubscribe_url_for(unsubscribe_token(workspace_id, contact_id, message_id))


def unsubscribe_url_for(token: str) -> str:
    return f"{site()}/m/u/{token}"


def preferences_url(workspace_id: int, contact_id: int) -> str:
    return f"{site()}/m/p/{preferences_token(workspace_id, contact_id)}"


def confirm_url(workspace_id: int, contact_id: int, source: str) -> str:
    return f"{site()}/m/confirm/{confirm_token(workspace_id, contact_id, source)}"


def unsubscribe_mailto(workspace_id: int, contact_id: int, message_id: int | None = None) -> str:
    return unsubscribe_mailto_for(unsubscribe_token(workspace_id, contact_id, message_id))


def unsubscribe_mailto_for(token: str) -> str:
    return f"mailto:unsubscribe@{settings.MESSAGING_MAIL_DOMAIN}?subject=unsubscribe%20{token}"
