"""The pre-send checklist of an email being written (saved or not): POST
/api/v1/messaging/email-templates/check/.

The email is compiled as a save would compile it (a block document through messaging.blocks,
or code HTML with its layout), rendered for a sample recipient, and assembled as the real
MIME message a send would hand over (its headers included) for SpamAssassin to score. The rules
themselves are templating.checklist's; nothing is stored and no request leaves the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formataddr
from typing import Any

from django.conf import settings
from django.core.mail.message import make_msgid

from workspaces.errors import ValidationFailed
from workspaces.models import Workspace

from .. import tokens
from ..mime import TendrilEmail
from ..models import Layout
from ..rendering import preview_context
from ..templating import checklist
from ..templating.checklist import Check
from ..templating.compile import compile_html, compile_text
from ..templating.personalise import RenderedEmail, render_email
from ..templating.spam import SpamResult, spam_score
from .config import messaging_settings

CHECK_RECIPIENT = "ada@example.com"


@dataclass
class CheckReport:
    checks: list[Check]
    spam: SpamResult
    threshold: float

    @property
    def ok(self) -> bool:
        return all(check.ok or check.severity == "warning" for check in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checks": [check.as_dict() for check in self.checks],
            "spam": {
                "available": self.spam.available,
                "score": self.spam.score,
                "threshold": self.threshold,
                "rules": [rule.as_dict() for rule in self.spam.rules],
                "message": self.spam.problem,
            },
        }


def _document_sources(workspace: Workspace, document: Any) -> tuple[str, str]:
    """(html, text) Jinja sources of a block document, as a save would compile them."""
    from .. import blocks

    errors = blocks.validate(document)
    if errors:
        fields = {f"document.{path}": message for path, message in errors.items()}
        first_path, first = next(iter(errors.items()))
        raise ValidationFailed(f"document.{first_path}: {first}", fields=fields)
    compiled = blocks.compile(document, blocks.brand_of(messaging_settings(workspace=workspace)))
    return compiled[0], compiled[1]


def _assembled(workspace: Workspace, rendered: RenderedEmail) -> bytes:
    """The message as a send would hand it over (headers as rendering.Renderer sets them)."""
    config = messaging_settings(workspace=workspace)
    token = tokens.unsubscribe_token(workspace.pk, 0, 0)
    email = TendrilEmail(
        subject=rendered.subject,
        body=rendered.text,
        from_email=formataddr(
            (config.sender_name or workspace.name, config.sender_email or "news@example.com")
        ),
        to=[CHECK_RECIPIENT],
        reply_to=[config.reply_to] if config.reply_to else None,
        headers={
            "Message-ID": make_msgid(idstring="check", domain=settings.MESSAGING_MAIL_DOMAIN),
            "List-Unsubscribe": (
                f"<{tokens.unsubscribe_url_for(token)}>, <{tokens.unsubscribe_mailto_for(token)}>"
            ),
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    email.attach_alternative(rendered.html, "text/html")
    return bytes(email.message().as_bytes())


def email_check(
    *,
    workspace: Workspace,
    subject: str,
    preheader: str,
    html: str | None = None,
    document: Any = None,
    layout: Layout | None = None,
    text: str = "",
    spam: bool = True,
) -> CheckReport:
    """Run every checklist rule on an email (a block `document` or code `html`)."""
    if document is not None:
        html_source, text = _document_sources(workspace, document)
    elif html is not None and html.strip():
        html_source = html
    else:
        raise ValidationFailed(
            "html: give a block document or the HTML of the email",
            fields={"html": "give a block document or the HTML of the email"},
        )
    if layout is not None and layout.workspace_id != workspace.pk:
        raise ValidationFailed("layout: unknown layout", fields={"layout": "unknown"})
    compiled = compile_html(
        html=html_source, layout_html=layout.html if layout else None, preheader=preheader
    )
    context = preview_context(
        workspace=workspace, config=messaging_settings(workspace=workspace), contact=None
    )
    threshold = settings.MESSAGING_SPAM_THRESHOLD
    try:
        rendered = render_email(
            subject=subject,
            compiled_html=compiled,
            compiled_text=compile_text(text=text, compiled_html=compiled),
            context=context,
        )
    except Exception as error:  # the author's template, any failure is theirs to see
        problem = Check("html", False, "error", f"The email cannot be rendered: {error}")
        checks = checklist.run(
            subject=subject,
            preheader=preheader,
            html_source=compiled,
            rendered_html=compiled,
            document=document,
        )
        unavailable = SpamResult(available=False, problem="spam check skipped: render failed")
        return CheckReport([problem, *checks], unavailable, threshold)
    result = SpamResult(available=False, problem="spam check not requested")
    if spam:
        result = spam_score(
            _assembled(workspace, rendered),
            command=settings.MESSAGING_SPAMASSASSIN,
            timeout=settings.MESSAGING_SPAM_TIMEOUT,
        )
    checks = checklist.run(
        subject=subject,
        preheader=preheader,
        html_source=compiled,
        rendered_html=rendered.html,
        document=document,
        spam=result if spam else None,
        spam_threshold=threshold,
    )
    return CheckReport(checks, result, threshold)
