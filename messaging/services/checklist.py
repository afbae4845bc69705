"""The pre-send checklist of an email being written (saved or not): POST
/api/v1/messaging/email-templates/check/.

The email is compiled as a save would compile it (a block document through messaging.blocks,
or code HTML with its layout), rendered for a sample recipient, and assembled as the real
MIME message a send would hand over (its headers included) for SpamAssassin to score. The rules
themselves are templating.checklist's; nothing is stored and no request leaves the server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.utils import formataddr
from typing import Any

from django.conf import settings
from django.core.mail.message import make_msgid

from workspaces import throttling
from workspaces.errors import ValidationFailed
from workspaces.models import Workspace

from .. import blocks, tokens
from ..mime import TendrilEmail
from ..models import Layout
from ..rendering import preview_context
from ..templating import checklist
from ..templating.checklist import Check
from ..templating.compile import compile_html, compile_text
from ..templating.personalise import RenderedEmail, render_email
from ..templating.sandbox import VISIBLE_BLOCK_PREFIX
from ..templating.spam import SpamResult, spam_score
from . import blocks as blocks_service
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


@dataclass
class _Source:
    html: str  # Jinja source before the preheader and inlining
    visible: frozenset[str] = frozenset()  # the sample recipient's dynamic blocks: all
    problems: list[Check] = field(default_factory=list)  # the document's own, per block


def _document_source(workspace: Workspace, document: Any) -> _Source:
    """A block document compiled as a save compiles it (with the brand). Its problems
    (compiler rules, template checks) become failing checks naming their block, and the
    blocks with a problem are left out of the rest, as in the editor's preview; a document
    that cannot be read at all is a ValidationFailed."""
    errors = blocks_service.document_problems(workspace=workspace, document=document)
    blocks_list = document.get("blocks") if isinstance(document, dict) else None
    if {"document", "version"} & set(errors) or not (isinstance(blocks_list, list) and blocks_list):
        path, message = next(iter(errors.items()), ("document", "the document has no blocks"))
        raise ValidationFailed(f"{path}: {message}", fields=errors or {path: message})
    brand = blocks_service.brand_of(blocks_service.settings_read(workspace))
    compiled = blocks.compile_document(document, brand, skip=frozenset(errors))
    return _Source(
        html=compiled.html,
        visible=frozenset(f"{VISIBLE_BLOCK_PREFIX}{block_id}" for block_id in compiled.conditions),
        problems=checklist.document_problem_checks(document, errors),
    )


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


def _spam(workspace: Workspace, rendered: RenderedEmail) -> SpamResult:
    """SpamAssassin's score, within the workspace's rate of checks (each costs seconds)."""
    rate = throttling.rate(settings.MESSAGING_SPAM_CHECK_RATE)
    wait = throttling.hit(rate, "spam-check", str(workspace.pk))
    if wait is not None:
        return SpamResult(
            available=False,
            problem=f"spam check unavailable: too many checks just now, try again in {wait} s",
        )
    return spam_score(
        _assembled(workspace, rendered),
        command=settings.MESSAGING_SPAMASSASSIN,
        timeout=settings.MESSAGING_SPAM_TIMEOUT,
    )


def _source(
    workspace: Workspace, html: str | None, document: Any, layout: Layout | None
) -> _Source:
    if layout is not None and layout.workspace_id != workspace.pk:
        raise ValidationFailed("layout: unknown layout", fields={"layout": "unknown"})
    if document is not None:
        if layout is not None:
            no_layout = blocks_service.NO_LAYOUT
            raise ValidationFailed(f"layout: {no_layout}", fields={"layout": no_layout})
        return _document_source(workspace, document)
    if html is None or not html.strip():
        message = "give a block document or the HTML of the email"
        raise ValidationFailed(f"html: {message}", fields={"html": message})
    return _Source(html=html)


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
    source = _source(workspace, html, document, layout)
    compiled = compile_html(
        html=source.html,
        layout_html=layout.html if layout else None,
        preheader=preheader,
        keep_styles=document is not None,
    )
    config = messaging_settings(workspace=workspace)
    context = preview_context(
        workspace=workspace, config=config, contact=None, segment_ids=source.visible
    )
    threshold = settings.MESSAGING_SPAM_THRESHOLD
    first = list(source.problems)
    result = SpamResult(available=False, problem="spam check not requested")
    rendered_html = compiled
    try:
        rendered = render_email(
            subject=subject,
            compiled_html=compiled,
            compiled_text=compile_text(text="" if document else text, compiled_html=compiled),
            context=context,
        )
    except Exception as error:  # the author's template: any failure is theirs to see
        first.append(Check("html", False, "error", f"The email cannot be rendered: {error}"))
        result = SpamResult(available=False, problem="spam check skipped: the email cannot render")
    else:
        rendered_html = rendered.html
        if spam:
            result = _spam(workspace, rendered)
    checks = checklist.run(
        subject=subject,
        preheader=preheader,
        html_source=compiled,
        rendered_html=rendered_html,
        document=document,
        base_url=tokens.site(),
        spam=result if spam else None,
        spam_threshold=threshold,
    )
    return CheckReport(checklist.merged(first, checks), result, threshold)
