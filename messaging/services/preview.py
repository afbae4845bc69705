"""Render without sending: the editor's live preview and workflows' test mode."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import TemplateError

from contacts.models import Contact
from workspaces.errors import ValidationFailed
from workspaces.models import Workspace

from .. import segments_bridge
from ..models import EmailTemplate, SmsTemplate, SmsTemplateVersion, TemplateVersion
from ..rendering import Preview, preview_context, preview_email, preview_sms
from ..templating.compile import compile_html, compile_text
from ..templating.sandbox import TemplateLimitExceeded
from .blocks import visible_blocks
from .config import messaging_settings
from .templates import EmailContent, email_content_check, email_content_prepare


def _segments_for(
    workspace: Workspace, contact: Contact | None, segment_ids: list[str] | set[str]
) -> frozenset[str]:
    if contact is None or not segment_ids:
        return frozenset()
    found = segments_bridge.memberships(
        workspace=workspace, segment_ids=sorted(segment_ids), contact_ids=[contact.pk]
    )
    return found.get(contact.pk, frozenset())


def _blocks_for(
    workspace: Workspace, contact: Contact | None, conditions: dict[str, Any] | None
) -> frozenset[str]:
    """The dynamic blocks a contact sees (none for the sample recipient of a saved version)."""
    if contact is None or not conditions:
        return frozenset()
    seen = visible_blocks(workspace=workspace, conditions=conditions, contact_ids=[contact.pk])
    return seen.get(contact.pk, frozenset())


def _rendered(render: Callable[[], Preview]) -> Preview:
    """A render error is the author's to see, inline: a limit names itself, anything else
    the template could not do with this recipient's data."""
    try:
        return render()
    except TemplateLimitExceeded as error:
        message = f"too big to render: {error}"
    except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as error:
        message = f"cannot render for this recipient: {error}"
    raise ValidationFailed(f"template: {message}", fields={"template": [message]})


def template_render_preview(
    *,
    workspace: Workspace,
    template: EmailTemplate | SmsTemplate | TemplateVersion | SmsTemplateVersion | Any,
    contact: Contact | None = None,
    context: dict[str, Any] | None = None,
) -> Preview:
    """Render a template (its current version, or a given version) for a contact, or for a
    sample recipient when `contact` is None. No Message row, no tracking, nothing sent.
    Email: `subject`, `html`, `text`; SMS: `body` and `sms` (encoding, segment count)."""
    if contact is not None and contact.workspace_id != workspace.pk:
        raise ValidationFailed("contact: not in this workspace", fields={"contact": "unknown"})
    version: Any = template
    if isinstance(template, EmailTemplate | SmsTemplate):
        version = template.current_version
    if version is None or version.workspace_id != workspace.pk:
        raise ValidationFailed("template: unknown template", fields={"template": "unknown"})
    config = messaging_settings(workspace=workspace)
    ctx = preview_context(
        workspace=workspace,
        config=config,
        contact=contact,
        context=context,
        segment_ids=_segments_for(workspace, contact, version.segment_ids)
        | _blocks_for(workspace, contact, getattr(version, "block_conditions", None)),
    )
    if isinstance(version, SmsTemplateVersion):
        return _rendered(
            lambda: preview_sms(body=version.body, context=ctx, workspace_id=workspace.pk)
        )
    return _rendered(
        lambda: preview_email(
            subject=version.subject,
            compiled_html=version.compiled_html,
            compiled_text=version.compiled_text,
            context=ctx,
        )
    )


def email_draft_preview(
    *, workspace: Workspace, content: EmailContent, contact: Contact | None = None
) -> Preview:
    """The editor's live preview of unsaved sources (validated exactly as a save would be)."""
    content = email_content_prepare(workspace=workspace, content=content)
    segment_ids = email_content_check(workspace=workspace, content=content)
    compiled_html = compile_html(
        html=content.html,
        layout_html=content.layout.html if content.layout else None,
        preheader=content.preheader,
        keep_styles=content.document is not None,
    )
    ctx = preview_context(
        workspace=workspace,
        config=messaging_settings(workspace=workspace),
        contact=contact,
        segment_ids=_segments_for(workspace, contact, segment_ids)
        | _blocks_for(workspace, contact, content.block_conditions),
    )
    compiled_text = compile_text(text=content.text, compiled_html=compiled_html)
    return _rendered(
        lambda: preview_email(
            subject=content.subject,
            compiled_html=compiled_html,
            compiled_text=compiled_text,
            context=ctx,
        )
    )


def sms_draft_preview(
    *, workspace: Workspace, body: str, contact: Contact | None = None
) -> Preview:
    from ..templating.checks import check_source
    from .templates import _raise

    result = check_source(body, field_name="body", html=False)
    _raise(result.problems)
    ctx = preview_context(
        workspace=workspace,
        config=messaging_settings(workspace=workspace),
        contact=contact,
        segment_ids=_segments_for(workspace, contact, result.segment_ids),
    )
    return _rendered(lambda: preview_sms(body=body, context=ctx, workspace_id=workspace.pk))
