"""ESP delivery webhooks through django-anymail, verified before they change anything.

anymail's per-ESP webhook views (mounted under /m/esp/<esp>/…) parse the ESP's payload and
send the `tracking` signal with a normalised event; `on_tracking` applies it to the Message.
The `inbound` signal carries replies to the List-Unsubscribe mailto address (subject
"unsubscribe <token>").

Verification, per ESP (`ESP_WEBHOOKS`):
- an ESP that signs its webhooks (Mailgun's signing key, SendGrid's signed event webhook) is
  only answered once that key is set; anymail then checks every request's signature;
- an ESP without a signature (Postmark, Mailjet, SparkPost, Brevo, Amazon SES) is only
  answered once ANYMAIL["WEBHOOK_SECRET"] is set; anymail then requires it as HTTP basic
  auth (`https://user:pass@host/m/esp/postmark/tracking/`);
- Amazon SES reports through Amazon SNS: besides the secret, every SNS message's signature
  is checked (messaging/sns.py; the certificate only from sns.<region>.amazonaws.com,
  through the outbound client), and a subscription is confirmed through that client too.
Each workspace also has its own addresses, `/m/esp/w/<workspace id>/<secret>/<esp>/…`, with a
secret generated (and rotated) in its sending settings: there the secret in the URL replaces
basic auth (compared in constant time; an ESP that signs must still sign), a wrong secret
answers the same 404 as an unknown workspace, and the events may only name that
workspace's messages.
A route whose verification is not configured answers 404, a failed check 403, a payload
anymail cannot parse 400, an SNS certificate that cannot be fetched now 503 — and none of
them changes anything. Production settings refuse
to start with an anymail EMAIL_BACKEND whose webhooks could not be verified
(`webhook_verification_missing`). The message reference the ESP echoes back is signed
(tokens.esp_reference), so even a verified request cannot name a message it was not given.

This module is imported by config/settings/production.py: keep its top level free of
anything that needs the app registry.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
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
    # Amazon SES: notifications come through Amazon SNS, whose message signature is checked
    # (messaging/sns.py) besides the webhook secret.
    sns: bool = False


ESP_WEBHOOKS: dict[str, EspWebhook] = {
    webhook.esp: webhook
    for webhook in (
        EspWebhook("amazon_ses", sns=True),
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
# SES inbound mail arrives through S3 and boto3, which Tendril does not use.
UNSUPPORTED_ROUTES = {"amazon_ses_inbound_webhook"}


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


def _route_workspace_id() -> int | None:
    """The workspace whose own webhook address the request came to (its scope is open
    there, see _workspace_view); None on the shared address."""
    from workspaces import scope_state
    from workspaces.models import Workspace

    scope = scope_state.current()
    return scope.pk if isinstance(scope, Workspace) else None


def on_tracking(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    from .services.tracking import esp_event_apply

    outcome = esp_event_apply(event, esp_name=esp_name, workspace_id=_route_workspace_id())
    logger.info("anymail %s %s: %s", esp_name, event.event_type, outcome)


def on_inbound(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    """A mail to unsubscribe@… (the List-Unsubscribe mailto): unsubscribe the token's contact,
    in the scope of the workspace the token names."""
    from workspaces.scoping import in_workspace

    from . import tokens

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
    if _route_workspace_id() not in (None, ref.workspace_id):
        return  # another workspace's token at this workspace's address
    in_workspace(ref.workspace_id, _mailto_unsubscribe, ref.contact_id)


def _mailto_unsubscribe(workspace: Any, contact_id: int) -> None:
    from contacts.models import Contact

    from .services.audience import contact_unsubscribe

    contact = Contact.objects.filter(workspace=workspace, pk=contact_id).first()
    if contact is not None:
        contact_unsubscribe(workspace=workspace, contact=contact, source="list_unsubscribe_mailto")


def connect() -> None:
    from anymail.signals import inbound, tracking

    tracking.connect(on_tracking, dispatch_uid="messaging.esp.tracking")
    inbound.connect(on_inbound, dispatch_uid="messaging.esp.inbound")


# --- Routes --------------------------------------------------------------------------------


class MalformedWebhook(Exception):
    """anymail could not read the payload (not JSON, wrong shape, a field missing)."""


class RetryLater(Exception):
    """Verification needs something that is unavailable now (the SNS certificate)."""


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=status)


def _check_tracking_events(events: list[Any]) -> None:
    for index, event in enumerate(events):
        metadata = event.metadata if isinstance(event.metadata, dict) else {}
        if not metadata.get("tendril_message") and not event.message_id:
            raise MalformedWebhook(f"event {index} names no message (no reference, no id)")


@contextmanager
def _sns_outcome() -> Iterator[None]:
    """messaging.sns's refusals as anymail's (→ 403), its unavailability as RetryLater (→ 503)."""
    from anymail.exceptions import AnymailWebhookValidationFailure

    from . import sns

    try:
        yield
    except sns.SnsRefused as error:
        raise AnymailWebhookValidationFailure(f"SNS: {error}") from error
    except sns.SnsUnavailable as error:
        raise RetryLater(str(error)) from error


def _sns_verify(message: Any) -> None:
    from . import sns

    with _sns_outcome():
        sns.message_verify(message)


def _sns_confirm(self: Any, sns_message: Any) -> None:
    """Replaces anymail's boto3 confirmation: the SubscribeURL through the guarded client.
    Reached only once the request is verified (signature and webhook secret)."""
    from . import sns

    with _sns_outcome():
        sns.subscription_confirm(sns_message)
    logger.info("confirmed the SNS subscription of %s", str(sns_message.get("TopicArn"))[:200])


def _guarded_class(view_class: Any, webhook: EspWebhook, *, workspace_route: bool) -> Any:
    """anymail's view with parse errors told apart from errors in applying the events.

    A payload anymail cannot read raises KeyError/ValueError/… inside validate/parse; those
    become MalformedWebhook (→ 400). Errors while our receivers apply the events still
    propagate as a 500, so the ESP retries instead of losing the event.

    On a workspace's own address the secret in the URL is the check, so anymail's basic auth
    is off there. Amazon SES (`webhook.sns`) also needs the SNS message signature, checked
    after the other validators, and confirms subscriptions through the outbound client.
    """
    from anymail.exceptions import AnymailWebhookValidationFailure
    from anymail.signals import tracking
    from anymail.webhooks.base import AnymailBaseWebhookView

    def __init__(self: Any, **kwargs: Any) -> None:
        if webhook.sns:
            # Not anymail's SES __init__: it sets up boto3, which Tendril does not use.
            self.auto_confirm_enabled = True
            AnymailBaseWebhookView.__init__(self, **kwargs)
        else:
            view_class.__init__(self, **kwargs)
        if workspace_route:
            self.basic_auth = []

    def run_validators(self: Any, request: HttpRequest) -> None:
        try:
            view_class.run_validators(self, request)
            if webhook.sns:
                _sns_verify(self._parse_sns_message(request))
        except (AnymailWebhookValidationFailure, RetryLater):
            raise
        except Exception as error:
            raise MalformedWebhook(str(error)) from error

    def parse_events(self: Any, request: HttpRequest) -> list[Any]:
        try:
            events = list(view_class.parse_events(self, request))
        except (AnymailWebhookValidationFailure, RetryLater):
            raise
        except Exception as error:
            raise MalformedWebhook(str(error)) from error
        if self.signal is tracking:
            _check_tracking_events(events)  # all of them before any is applied
        return events

    members: dict[str, Any] = {
        "__init__": __init__,
        "run_validators": run_validators,
        "parse_events": parse_events,
    }
    if workspace_route:
        members["warn_if_no_basic_auth"] = False  # the secret in the URL is the check
    if webhook.sns:
        members["auto_confirm_sns_subscription"] = _sns_confirm
    return type(f"Verified{view_class.__name__}", (view_class,), members)


def _answer(webhook: EspWebhook, anymail_view: Any, request: HttpRequest, **kwargs: Any) -> Any:
    from anymail.exceptions import AnymailWebhookValidationFailure

    try:
        return anymail_view(request, **kwargs)
    except AnymailWebhookValidationFailure as error:
        logger.warning("refused %s webhook: %s", webhook.esp, error)
        return _error(403, "forbidden", "Webhook verification failed.")
    except MalformedWebhook as error:
        logger.warning("malformed %s webhook: %s", webhook.esp, error)
        return _error(400, "malformed", f"The {webhook.esp} webhook payload is unreadable.")
    except RetryLater as error:
        logger.warning("%s webhook: %s", webhook.esp, error)
        return _error(503, "unavailable", "The webhook cannot be verified now; try again.")


def _not_found() -> JsonResponse:
    return _error(404, "not_found", "No webhook is configured at this address.")


def _verified_view(webhook: EspWebhook, route_name: str, callback: Any) -> Any:
    """The shared address (/m/esp/<esp>/…): the ESP's signature or ANYMAIL's basic auth."""
    from django.conf import settings

    view_class = _guarded_class(callback.view_class, webhook, workspace_route=False)
    anymail_view = view_class.as_view(**callback.view_initkwargs)
    signed = route_name not in UNSIGNED_ROUTES

    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if _verification_problem(webhook, settings.ANYMAIL, signed=signed):
            # Unverifiable: answer as if the route did not exist.
            return _not_found()
        return _answer(webhook, anymail_view, request, **kwargs)

    view.csrf_exempt = True  # type: ignore[attr-defined]
    view.__name__ = f"esp_{route_name}"
    return view


def _workspace_view(webhook: EspWebhook, route_name: str, callback: Any) -> Any:
    """A workspace's own address (/m/esp/w/<workspace>/<secret>/<esp>/…): the secret in the
    URL instead of basic auth (the ESP's signature is still required where it signs). A
    wrong secret, an unknown workspace and one without a secret all answer the same 404;
    the events it carries may only name that workspace's messages."""
    from django.conf import settings

    from workspaces.models import Workspace
    from workspaces.scoping import workspace_scope

    from .services import esp_webhook_secret_matches

    view_class = _guarded_class(callback.view_class, webhook, workspace_route=True)
    anymail_view = view_class.as_view(**callback.view_initkwargs)
    signed = route_name not in UNSIGNED_ROUTES
    signature_problem = webhook.signature_key is not None and signed

    def view(request: HttpRequest, workspace_id: int, secret: str, **kwargs: Any) -> HttpResponse:
        if signature_problem and _verification_problem(webhook, settings.ANYMAIL):
            return _not_found()
        try:
            with workspace_scope(workspace_id):
                if not esp_webhook_secret_matches(workspace_id=workspace_id, secret=secret):
                    return _not_found()
                return _answer(webhook, anymail_view, request, **kwargs)
        except Workspace.DoesNotExist:
            return _not_found()

    view.csrf_exempt = True  # type: ignore[attr-defined]
    view.__name__ = f"esp_workspace_{route_name}"
    return view


WORKSPACE_PREFIX = "m/esp/w/<int:workspace_id>/<str:secret>/"
WORKSPACE_PREFIX_RE = r"^m/esp/w/(?P<workspace_id>[0-9]+)/(?P<secret>[^/]+)/"


def webhook_urls() -> list[Any]:
    """anymail's webhook routes of the supported ESPs, each verified and marked public: the
    shared address and each workspace's own."""
    from anymail import urls as anymail_urls
    from django.urls import path, re_path
    from django.urls.resolvers import RegexPattern

    from workspaces.scoping import public_view

    routes = []
    for pattern in anymail_urls.urlpatterns:
        prefix = str(pattern.pattern).removeprefix("^").split("/", 1)[0]
        webhook = ESP_WEBHOOKS.get(prefix)
        if webhook is None or pattern.name is None or pattern.name in UNSUPPORTED_ROUTES:
            continue
        shared = public_view("ESP webhook: verified by the ESP's signature or basic auth")(
            _verified_view(webhook, pattern.name, pattern.callback)
        )
        own = public_view("ESP webhook: verified by the workspace's secret in the URL")(
            _workspace_view(webhook, pattern.name, pattern.callback)
        )
        name = f"esp_{pattern.name}"
        if isinstance(pattern.pattern, RegexPattern):
            regex = str(pattern.pattern).removeprefix("^")
            routes.append(re_path(rf"^m/esp/{regex}", shared, name=name))
            routes.append(re_path(WORKSPACE_PREFIX_RE + regex, own, name=f"{name}_workspace"))
        else:
            routes.append(path(f"m/esp/{pattern.pattern}", shared, name=name))
            routes.append(
                path(f"{WORKSPACE_PREFIX}{pattern.pattern}", own, name=f"{name}_workspace")
            )
    return routes


def workspace_webhook_urls(
    *, site_url: str, workspace_id: int, secret: str
) -> list[tuple[str, str]]:
    """(ESP, tracking webhook URL) of a workspace's own addresses, for the settings page."""
    from django.urls import NoReverseMatch, reverse

    found = []
    for esp in sorted(ESP_WEBHOOKS):
        try:
            path = reverse(
                f"messaging:esp_{esp}_tracking_webhook_workspace",
                kwargs={"workspace_id": workspace_id, "secret": secret},
            )
        except NoReverseMatch:
            continue
        found.append((esp, site_url.rstrip("/") + path))
    return found
