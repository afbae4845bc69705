"""ESP delivery webhooks through django-anymail.

anymail's per-ESP webhook views (mounted under /m/esp/) verify the ESP's request (basic auth
with ANYMAIL["WEBHOOK_SECRET"], or the ESP's signature) and send the `tracking` signal with a
normalised event; this receiver applies it to the Message. The `inbound` signal carries
replies to the List-Unsubscribe mailto address (subject "unsubscribe <token>").
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.urls import URLPattern, path, re_path
from django.urls.resolvers import RegexPattern

from workspaces.scoping import public_view

logger = logging.getLogger(__name__)
TOKEN_IN_SUBJECT = re.compile(r"unsubscribe\s+(\S+)", re.I)


def on_tracking(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    from .services.tracking import esp_event_apply

    outcome = esp_event_apply(event, esp_name=esp_name)
    logger.info("anymail %s %s: %s", esp_name, event.event_type, outcome)


def on_inbound(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    """A mail to unsubscribe@… (the List-Unsubscribe mailto): unsubscribe the token's contact."""
    from contacts.models import Contact

    from . import tokens
    from .services.audience import contact_unsubscribe

    message = event.message
    if message is None:
        return
    match = TOKEN_IN_SUBJECT.search(message.get("Subject", "") or "")
    if not match:
        return
    try:
        ref = tokens.unsubscribe_token_read(match.group(1))
    except tokens.BadToken:
        return
    contact = Contact.objects.filter(workspace_id=ref.workspace_id, pk=ref.contact_id).first()
    if contact is not None:
        contact_unsubscribe(
            workspace=contact.workspace, contact=contact, source="list_unsubscribe_mailto"
        )


def connect() -> None:
    from anymail.signals import inbound, tracking

    tracking.connect(on_tracking, dispatch_uid="messaging.esp.tracking")
    inbound.connect(on_inbound, dispatch_uid="messaging.esp.inbound")


def webhook_urls() -> list[URLPattern]:
    """anymail's webhook routes, each marked public (the ESP authenticates, not a session)."""
    from anymail import urls as anymail_urls

    routes = []
    for pattern in anymail_urls.urlpatterns:
        view = public_view("ESP webhook: authenticated by anymail (basic auth / ESP signature)")(
            _wrap(pattern.callback)
        )
        name = f"esp_{pattern.name}"
        if isinstance(pattern.pattern, RegexPattern):
            regex = str(pattern.pattern).removeprefix("^")
            routes.append(re_path(rf"^m/esp/{regex}", view, name=name))
        else:
            routes.append(path(f"m/esp/{pattern.pattern}", view, name=name))
    return routes


def _wrap(callback: Any) -> Any:
    def view(request: Any, *args: Any, **kwargs: Any) -> Any:
        return callback(request, *args, **kwargs)

    view.csrf_exempt = True  # type: ignore[attr-defined]
    view.__name__ = getattr(callback, "__name__", "anymail_webhook")
    return view
