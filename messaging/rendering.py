"""Turn a Message into what the provider receives.

Per recipient: build the context, render the version's compiled templates (compiled once per
worker, keyed by the immutable version), rewrite links through the click tracker, add the
open pixel, and set the headers (List-Unsubscribe with one-click, Message-ID …).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email.utils import formataddr
from typing import Any

from django.conf import settings
from django.core.mail.message import make_msgid

from commerce.selectors import recommendations_for_contacts, recommendations_sample
from contacts.models import Contact
from workspaces.models import Workspace

from . import tokens
from .mime import TendrilEmail
from .models import Message, MessagingSettings, SmsTemplateVersion, TemplateVersion
from .templating.personalise import (
    RenderedEmail,
    add_pixel,
    build_context,
    contact_data,
    render_email,
    render_text,
    rewrite_html_links,
    rewrite_text_links,
    sample_context,
    with_utm,
)
from .templating.sms import SmsInfo, sms_info, with_opt_out


def workspace_data(workspace: Workspace, config: MessagingSettings) -> dict[str, Any]:
    return {"name": workspace.name, "physical_address": config.postal_address}


def event_data(context: dict[str, Any] | None) -> dict[str, Any]:
    """`context` from message_enqueue: {"event": {...}} or the event's properties directly."""
    if not context:
        return {}
    event = context.get("event")
    if isinstance(event, dict):
        return {
            "name": event.get("name", ""),
            "properties": event.get("properties") or {},
            "timestamp": event.get("timestamp"),
        }
    return {"name": "", "properties": dict(context), "timestamp": None}


@dataclass
class Renderer:
    """Renders messages of one workspace; one per send batch."""

    workspace: Workspace
    config: MessagingSettings
    track: bool = True
    # {contact id: products}, loaded per send batch for the versions that use them.
    recommendations: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    _workspace: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self._workspace = workspace_data(self.workspace, self.config)

    def context(
        self,
        message: Message,
        contact: Contact | None,
        segment_ids: frozenset[str],
        unsubscribe_token: str | None = None,
    ) -> dict[str, Any]:
        ws = self.workspace.pk
        products: Sequence[Any]
        if contact is None:
            base = sample_context()
            data, products = base["contact"], base["recommendations"]
        else:
            data, products = contact_data(contact), self.recommendations.get(contact.pk, [])
        contact_id = contact.pk if contact is not None else 0
        token = unsubscribe_token or tokens.unsubscribe_token(ws, contact_id, message.pk)
        return build_context(
            contact=data,
            workspace=self._workspace,
            event=event_data(message.context),
            message={"id": message.pk, "subject": message.subject, "channel": message.channel},
            unsubscribe_url=tokens.unsubscribe_url_for(token),
            preferences_url=tokens.preferences_url(ws, contact_id),
            segment_ids=segment_ids,
            recommendations=products,
        )

    def email(
        self,
        message: Message,
        version: TemplateVersion,
        contact: Contact | None,
        segment_ids: frozenset[str] = frozenset(),
        *,
        subject: str | None = None,
        to: str,
    ) -> TendrilEmail:
        contact_id = contact.pk if contact is not None else 0
        token = tokens.unsubscribe_token(self.workspace.pk, contact_id, message.pk)
        context = self.context(message, contact, segment_ids, token)
        rendered = render_email(
            subject=subject or version.subject,
            compiled_html=version.compiled_html,
            compiled_text=version.compiled_text,
            context=context,
        )
        if self.track:
            rendered = self._tracked(message, rendered)
        if message.source_type == "test":
            rendered.subject = f"[Test] {rendered.subject}"
        return self._assemble(message, version, rendered, token, to)

    def _tracked(self, message: Message, rendered: RenderedEmail) -> RenderedEmail:
        ws, pk, site = self.workspace.pk, message.pk, tokens.site()
        utm = self._utm(message)

        signed: dict[str, str] = {}  # the same link in HTML and text is signed once

        def wrap(url: str) -> str:
            if url not in signed:
                signed[url] = tokens.click_url(ws, pk, with_utm(url, utm) if utm else url)
            return signed[url]

        html = rewrite_html_links(rendered.html, site=site, wrap=wrap)
        html = add_pixel(html, tokens.open_url(ws, pk))
        text = rewrite_text_links(rendered.text, site=site, wrap=wrap)
        return RenderedEmail(subject=rendered.subject, html=html, text=text)

    def _utm(self, message: Message) -> dict[str, str]:
        if not self.config.utm_enabled:
            return {}
        campaign = ""
        if message.broadcast_id and message.broadcast is not None:
            campaign = message.broadcast.utm_campaign or message.broadcast.name
        return {
            "utm_source": self.config.utm_source,
            "utm_medium": self.config.utm_medium,
            "utm_campaign": campaign or message.source_type,
        }

    def _assemble(
        self,
        message: Message,
        version: TemplateVersion,
        rendered: RenderedEmail,
        unsubscribe_token: str,
        to: str,
    ) -> TendrilEmail:
        ws = self.workspace.pk
        from_email = version.from_email or self.config.sender_email
        from_name = version.from_name or self.config.sender_name
        reply_to = version.reply_to or self.config.reply_to
        headers = {
            "Message-ID": make_msgid(
                idstring=f"m{message.pk}", domain=settings.MESSAGING_MAIL_DOMAIN
            ),
            "List-Unsubscribe": (
                f"<{tokens.unsubscribe_url_for(unsubscribe_token)}>, "
                f"<{tokens.unsubscribe_mailto_for(unsubscribe_token)}>"
            ),
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Feedback-ID": f"{message.source_type}:{ws}:tendril",
        }
        email = TendrilEmail(
            subject=rendered.subject,
            body=rendered.text,
            from_email=formataddr((from_name, from_email)),
            to=[to],
            reply_to=[reply_to] if reply_to else None,
            headers=headers,
        )
        email.attach_alternative(rendered.html, "text/html")
        # Read by anymail ESP backends (ignored by SMTP): webhooks find the message by it.
        email.metadata = {"tendril_message": tokens.esp_reference(ws, message.pk)}  # type: ignore[attr-defined]
        email.track_clicks = False  # type: ignore[attr-defined]  # we track clicks ourselves
        email.track_opens = False  # type: ignore[attr-defined]
        return email

    def sms(
        self,
        message: Message,
        version: SmsTemplateVersion,
        contact: Contact | None,
        segment_ids: frozenset[str] = frozenset(),
    ) -> str:
        """The text to send. Links become short tracked links whose targets are kept on the
        message (`meta["links"]`, written with the hand-over, before the provider call); an
        SMS that does not say how to opt out gets the opt-out line."""
        context = self.context(message, contact, segment_ids)
        body = render_text(version.body, context).strip()
        if self.track:
            ws, pk, links = self.workspace.pk, message.pk, []

            def shorten(url: str) -> str:
                links.append(url)
                return tokens.short_link_url(ws, pk, len(links) - 1)

            body = rewrite_text_links(body, site=tokens.site(), wrap=shorten)
            if links:
                message.meta = {**(message.meta or {}), "links": links}
        if message.channel == "sms":
            body = with_opt_out(body, settings.MESSAGING_SMS_OPT_OUT_TEXT)
        return body


@dataclass
class Preview:
    subject: str = ""
    html: str = ""
    text: str = ""
    body: str = ""
    sms: SmsInfo | None = None
    links: list[str] = field(default_factory=list)  # an SMS's links, in their short links' order


class LoadedOnUse(Sequence[Any]):
    """A list read on first use: a preview asks for a contact's recommendations only when its
    template shows them."""

    def __init__(self, load: Callable[[], list[Any]]):
        self._load = load
        self._items: list[Any] | None = None

    def _all(self) -> list[Any]:
        if self._items is None:
            self._items = self._load()
        return self._items

    def __getitem__(self, index: Any) -> Any:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self) -> Iterator[Any]:
        return iter(self._all())


def preview_context(
    *,
    workspace: Workspace,
    config: MessagingSettings,
    contact: Contact | None,
    context: dict[str, Any] | None = None,
    segment_ids: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    base = sample_context()
    event = event_data(context) if context else base["event"]
    return build_context(
        contact=contact_data(contact) if contact is not None else base["contact"],
        workspace=workspace_data(workspace, config),
        event=event,
        message={"id": 0, "subject": "", "channel": "email"},
        unsubscribe_url=tokens.unsubscribe_url(workspace.pk, contact.pk if contact else 0),
        preferences_url=tokens.preferences_url(workspace.pk, contact.pk if contact else 0),
        segment_ids=segment_ids,
        recommendations=LoadedOnUse(
            (
                lambda: recommendations_for_contacts(
                    workspace=workspace, contact_ids=[contact.pk]
                ).get(contact.pk, [])
            )
            if contact is not None
            else (lambda: recommendations_sample(workspace=workspace))
        ),
    )


def preview_email(
    *, subject: str, compiled_html: str, compiled_text: str, context: dict[str, Any]
) -> Preview:
    rendered = render_email(
        subject=subject, compiled_html=compiled_html, compiled_text=compiled_text, context=context
    )
    return Preview(subject=rendered.subject, html=rendered.html, text=rendered.text)


# A preview has no message yet: its links are shortened as a message with a 6-digit id would
# be, so the characters and segments counted are the ones a recipient gets.
PREVIEW_MESSAGE_ID = 36**5


def preview_sms(*, body: str, context: dict[str, Any], workspace_id: int = 0) -> Preview:
    rendered = render_text(body, context).strip()
    links: list[str] = []

    def shorten(url: str) -> str:
        links.append(url)
        return tokens.short_link_url(workspace_id, PREVIEW_MESSAGE_ID, len(links) - 1)

    rendered = rewrite_text_links(rendered, site=tokens.site(), wrap=shorten)
    rendered = with_opt_out(rendered, settings.MESSAGING_SMS_OPT_OUT_TEXT)
    return Preview(body=rendered, sms=sms_info(rendered), links=links)
