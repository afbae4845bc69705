"""Block templates on the server: check a document against the workspace, compile it with the
workspace's brand, render unsaved work for the editor's preview, and work out which dynamic
blocks each recipient of a send batch sees.

The document format and the compiler are messaging/blocks; the template checks (syntax,
unknown variables, sandbox) are the code templates' own, run on each piece of the document so
a problem names its block ("blocks[2].text: Line 1: unknown variable 'frist_name'").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from contacts.models import Contact
from workspaces.errors import ValidationFailed
from workspaces.models import Workspace

from .. import blocks, segments_bridge, tokens
from ..models import MessagingSettings
from ..rendering import preview_context, preview_email
from ..templating.checks import check_source
from ..templating.compile import compile_html, compile_text
from ..templating.sandbox import VISIBLE_BLOCK_PREFIX, TemplateLimitExceeded

NO_LAYOUT = "a block template brings its own layout (the brand); choose no layout"


def settings_read(workspace: Workspace) -> MessagingSettings:
    """The workspace's messaging settings without creating the row (a preview writes nothing)."""
    found = MessagingSettings.objects.filter(workspace=workspace).first()
    return found if found is not None else MessagingSettings(workspace=workspace)


def brand_of(config: MessagingSettings) -> blocks.Brand:
    logo_url = ""
    if config.brand_logo_id:
        try:
            logo_url = config.brand_logo.file.url  # type: ignore[union-attr]
        except (ValueError, AttributeError):
            logo_url = ""
    return blocks.Brand(
        primary_color=config.brand_primary_color,
        text_color=config.brand_text_color,
        background_color=config.brand_background_color,
        content_color=config.brand_content_color,
        font=config.brand_font,
        logo_url=logo_url,
        base_url=tokens.site(),
    )


def document_problems(*, workspace: Workspace, document: Any) -> dict[str, str]:
    """Everything wrong with a document in this workspace: {json path: message}."""
    errors = blocks.validate(document)
    if "document" in errors:
        return errors
    exists = _segment_checker(workspace)
    for path, source, is_html in blocks.template_sources(document):
        if path in errors:
            continue
        result = check_source(source, field_name=path, html=is_html, segment_exists=exists)
        if result.problems:
            errors[path] = str(result.problems[0])
    for item_path, tree in _conditions_with_paths(document):
        for inner, message in segments_bridge.filter_problems(
            workspace=workspace, tree=tree
        ).items():
            key = f"{item_path}.condition"
            if inner:
                key += inner if inner.startswith("[") else f".{inner}"
            errors.setdefault(key, f"the condition: {message}")
    return errors


def _segment_checker(workspace: Workspace) -> Any:
    return lambda segment_id: segments_bridge.segment_exists(
        workspace=workspace, segment_id=segment_id
    )


def _conditions_with_paths(document: Any) -> list[tuple[str, Any]]:
    found = []
    for index, block in enumerate(document.get("blocks") or []):
        if isinstance(block, dict) and isinstance(block.get("condition"), dict):
            found.append((f"blocks[{index}]", block["condition"]))
    return found


def document_compile(
    *, workspace: Workspace, document: Any, config: MessagingSettings | None = None
) -> blocks.Compiled:
    """Check (raising ValidationFailed naming each path) and compile with the brand."""
    errors = document_problems(workspace=workspace, document=document)
    if errors:
        path, message = next(iter(errors.items()))
        raise ValidationFailed(f"{path}: {message}", fields=errors)
    return blocks.compile_document(document, brand_of(config or settings_read(workspace)))


# --- The editor's preview: unsaved work, as a contact --------------------------------------

MAX_HTML = 512 * 1024


@dataclass
class Rendered:
    subject: str = ""
    html: str = ""
    text: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def draft_render(
    *,
    workspace: Workspace,
    subject: str,
    preheader: str = "",
    document: Any = None,
    html: str | None = None,
    contact: Contact | None = None,
) -> Rendered:
    """Render unsaved work (a document, or code-template HTML) as `contact` (or the sample
    recipient). Nothing is written. Problems come back in `errors` ({path: message}) with as
    much of the email rendered as can be: blocks with a problem are left out."""
    if contact is not None and contact.workspace_id != workspace.pk:
        raise ValidationFailed(
            "contact_id: not in this workspace", fields={"contact_id": "unknown"}
        )
    config = settings_read(workspace)
    errors: dict[str, str] = {}
    for name, source in (("subject", subject), ("preheader", preheader)):
        result = check_source(source, field_name=name, html=False)
        if result.problems:
            errors[name] = str(result.problems[0])
    segment_ids: set[str] = set()
    conditions: dict[str, Any] = {}
    if document is not None:
        errors.update(document_problems(workspace=workspace, document=document))
        if "document" in errors or "blocks" in errors and not _has_blocks(document):
            return Rendered(errors=errors)
        compiled = blocks.compile_document(document, brand_of(config), skip=frozenset(errors))
        source, conditions = compiled.html, compiled.conditions
    else:
        source = html or ""
        if len(source) > MAX_HTML:
            return Rendered(errors={"html": f"the HTML is longer than {MAX_HTML:,} characters"})
        result = check_source(
            source, field_name="html", html=True, segment_exists=_segment_checker(workspace)
        )
        segment_ids = result.segment_ids
        if result.problems:
            errors["html"] = str(result.problems[0])
            return Rendered(errors=errors)
    compiled_html = compile_html(
        html=source, layout_html=None, preheader=preheader, keep_styles=document is not None
    )
    compiled_text = compile_text(text="", compiled_html=compiled_html)
    visible = _preview_visibility(workspace, contact, segment_ids, conditions)
    ctx = preview_context(workspace=workspace, config=config, contact=contact, segment_ids=visible)
    try:
        preview = preview_email(
            subject=subject if "subject" not in errors else "",
            compiled_html=compiled_html,
            compiled_text=compiled_text,
            context=ctx,
        )
    except TemplateLimitExceeded as error:
        errors["template"] = f"too big to render: {error}"
        return Rendered(errors=errors)
    except Exception as error:  # noqa: BLE001 — the author's to see, inline
        errors["template"] = f"cannot render for this recipient: {error}"
        return Rendered(errors=errors)
    return Rendered(subject=preview.subject, html=preview.html, text=preview.text, errors=errors)


def _has_blocks(document: Any) -> bool:
    return isinstance(document, dict) and bool(document.get("blocks"))


def _preview_visibility(
    workspace: Workspace,
    contact: Contact | None,
    segment_ids: Iterable[str],
    conditions: dict[str, Any],
) -> frozenset[str]:
    """The sample recipient sees every dynamic block (the author sees all their content);
    a chosen contact sees the ones whose condition they match."""
    if contact is None:
        return frozenset(f"{VISIBLE_BLOCK_PREFIX}{block_id}" for block_id in conditions)
    found: set[str] = set()
    if segment_ids:
        found |= segments_bridge.memberships(
            workspace=workspace, segment_ids=sorted(segment_ids), contact_ids=[contact.pk]
        ).get(contact.pk, frozenset())
    found |= visible_blocks(
        workspace=workspace, conditions=conditions, contact_ids=[contact.pk]
    ).get(contact.pk, frozenset())
    return frozenset(found)


# --- Sending: which dynamic blocks each recipient of a batch sees ---------------------------


def visible_blocks(
    *, workspace: Workspace, conditions: dict[str, Any], contact_ids: Iterable[int]
) -> dict[int, frozenset[str]]:
    """{contact id: {"block:<id>", …}} for the blocks whose condition the contact matches:
    one query per condition for the whole batch (segments' filter compiled to SQL)."""
    wanted = sorted(set(contact_ids))
    found: dict[int, set[str]] = {contact_id: set() for contact_id in wanted}
    for block_id, tree in conditions.items():
        for contact_id in segments_bridge.filter_matches(
            workspace=workspace, tree=tree, contact_ids=wanted
        ):
            found[contact_id].add(f"{VISIBLE_BLOCK_PREFIX}{block_id}")
    return {contact_id: frozenset(ids) for contact_id, ids in found.items()}
