"""ESP delivery webhooks through django-anymail, verified before they change anything.

anymail's per-ESP webhook views (mounted under /m/esp/<esp>/…) parse the ESP's payload and
send the `tracking` signal with a normalised event; `on_tracking` applies it to the Message.
The `inbound` signal carries replies to the List-Unsubscribe mailto address (subject
"unsubscribe <token>").

Verification, per ESP (`ESP_WEBHOOKS`):
- an ESP that signs its webhooks (Mailgun's signing key, SendGrid's signed event webhook) is
  only answered once that key is set; anymail then checks every request's signature;
- an ESP without a signature (Postmark, Mailjet, SparkPost, Brevo, Amazon SES — anymail does
  not check SNS signatures) is only answered once ANYMAIL["WEBHOOK_SECRET"] is set; anymail
  then requires it as HTTP basic auth (`https://user:pass@host/m/esp/postmark/tracking/`).
A route whose verification is not configured answers 404, a failed check 403, a payload
anymail cannot parse 400 — and none of them changes anything. Production settings refuse
to start with an anymail EMAIL_BACKEND whose webhooks could not be verified
(`webhook_verification_missing`). The message reference the ESP echoes back is signed
(tokens.esp_reference), so even a verified request cannot name a message it was not given.

This module is imported by config/settings/production.py: keep its top level free of
anything that needs the app registry.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)
TOKEN_IN_SUBJECT = re.compile(r"unsubscribe\s+(\S+)", re.I)


@dataclass(frozen=True)
class EspWebhook:
    esp: str  # anymail's URL segment and backend module name
    # ANYMAIL key of the ESP's webhook signature secret/public key; None: basic auth only.
    signature_key: str | None = None


ESP_WEBHOOKS: dict[str, EspWebhook] = {
    webhook.esp: webhook
    for webhook in (
        EspWebhook("amazon_ses"),
        EspWebhook("brevo"),
        EspWebhook("mailgun", "MAILGUN_WEBHOOK_SIGNING_KEY"),
        EspWebhook("mailjet"),
        EspWebhook("postmark"),
        EspWebhook("sendgrid", "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY"),
        EspWebhook("sparkpost"),
    )
}
# SendGrid signs only its event (tracking) webhook; its inbound parse webhook uses basic auth.
UNSIGNED_ROUTES = {"sendgrid_inbound_webhook"}


def _esp_of_backend(email_backend: str) -> str | None:
    """`anymail.backends.postmark.EmailBackend` → "postmark"; None for a non-anymail backend."""
    parts = email_backend.split(".")
    if len(parts) >= 3 and parts[0] == "anymail" and parts[1] == "backends":
        return parts[2]
    return None


def _verification_problem(
    webhook: EspWebhook, anymail: Mapping[str, Any], *, signed: bool = True
) -> str | None:
    if webhook.signature_key and signed:
        if anymail.get(webhook.signature_key):
            return None
        return f'ANYMAIL["{webhook.signature_key}"] (the {webhook.esp} webhook signature key)'
    if anymail.get("WEBHOOK_SECRET"):
        return None
    return 'ANYMAIL["WEBHOOK_SECRET"] (ANYMAIL_WEBHOOK_SECRET, "user:password" basic auth)'


def webhook_verification_missing(email_backend: str, anymail: Mapping[str, Any]) -> str | None:
    """What production lacks to verify the configured ESP's webhooks (None: nothing)."""
    esp = _esp_of_backend(email_backend)
    if esp is None:
        return None
    webhook = ESP_WEBHOOKS.get(esp)
    if webhook is None:
        return (
            f"EMAIL_BACKEND uses {esp}, whose webhooks Tendril does not verify; "
            f"supported: {', '.join(sorted(ESP_WEBHOOKS))}"
        )
    problem = _verification_problem(webhook, anymail)
    return f"{email_backend} needs {problem} so its webhooks can be verified" if problem else None


# --- Signal receivers --------------------------------------------------------------------------


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


# --- Routes --------------------------------------------------------------------------------


class MalformedWebhook(Exception):
    """anymail could not read the payload (not JSON, wrong shape, a field missing)."""


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=status)


def _check_tracking_events(events: list[Any]) -> None:
    for index, event in enumerate(events):
        metadata = event.metadata if isinstance(event.metadata, dict) else {}
        if not metadata.get("tendril_message") and not event.message_id:
            raise MalformedWebhook(f"event {index} names no message (no reference, no id)")


def _guarded_class(view_class: type) -> type:
    """anymail's view with parse errors told apart from errors in applying the events.

    A payload anymail cannot read raises KeyError/ValueError/… inside validate/parse; those
    become MalformedWebhook (→ 400). Errors while our receivers apply the events still
    propagate as a 500, so the ESP retries instead of losing the event.
    """
    from anymail.exceptions import AnymailWebhookValidationFailure
    from anymail.signals import tracking

    def run_validators(self: Any, request: HttpRequest) -> None:
        try:
            view_class.run_validators(self, request)
        except AnymailWebhookValidationFailure:
            raise
        except Exception as error:
            raise MalformedWebhook(str(error)) from error

    def parse_events(self: Any, request: HttpRequest) -> list[Any]:
        try:
            events = list(view_class.parse_events(self, request))
        except Exception as error:
            raise MalformedWebhook(str(error)) from error
        if self.signal is tracking:
            _check_tracking_events(events)  # all of them before any is applied
        return events

    return type(
        f"Verified{view_class.__name__}",
        (view_class,),
        {"run_validators": run_validators, "parse_events": parse_events},
    )


def _verified_view(webhook: EspWebhook, route_name: str, callback: Any) -> Any:
    from anymail.exceptions import AnymailWebhookValidationFailure
    from django.conf import settings

    anymail_view = _guarded_class(callback.view_class).as_view(**callback.view_initkwargs)
    signed = route_name not in UNSIGNED_ROUTES

    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if _verification_problem(webhook, settings.ANYMAIL, signed=signed):
            # Unverifiable: answer as if the route did not exist.
            return _error(404, "not_found", "No webhook is configured at this address.")
        try:
            return anymail_view(request, *args, **kwargs)
        except AnymailWebhookValidationFailure as error:
            logger.warning("refused %s webhook: %s", webhook.esp, error)
            return _error(403, "forbidden", "Webhook verification failed.")
        except MalformedWebhook as error:
            logger.warning("malformed %s webhook: %s", webhook.esp, error)
            return _error(400, "malformed", f"The {webhook.esp} webhook payload is unreadable.")

    view.csrf_exempt = True  # type: ignore[attr-defined]
    view.__name__ = f"esp_{route_name}"
    return view


def webhook_urls() -> list[Any]:
    """anymail's webhook routes of the supported ESPs, each verified and marked public."""
    from anymail import urls as anymail_urls
    from django.urls import path, re_path
    from django.urls.resolvers import RegexPattern

    from workspaces.scoping import public_view

    routes = []
    for pattern in anymail_urls.urlpatterns:
        prefix = str(pattern.pattern).removeprefix("^").split("/", 1)[0]
        webhook = ESP_WEBHOOKS.get(prefix)
        if webhook is None or pattern.name is None:
            continue
        view = public_view("ESP webhook: verified by the ESP's signature or basic auth")(
            _verified_view(webhook, pattern.name, pattern.callback)
        )
        name = f"esp_{pattern.name}"
        if isinstance(pattern.pattern, RegexPattern):
            regex = str(pattern.pattern).removeprefix("^")
            routes.append(re_path(rf"^m/esp/{regex}", view, name=name))
        else:
            routes.append(path(f"m/esp/{pattern.pattern}", view, name=name))
    return routes
