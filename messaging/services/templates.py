"""Writes for templates and layouts. Saving validates (syntax, unknown variables, sandbox
escapes, required footer), compiles once (layout, preheader, CSS inlined, text part) and
stores an immutable version. A rejected save changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from django.db import transaction
from django.db.models import Max

from workspaces.errors import ValidationFailed
from workspaces.models import User, Workspace

from .. import segments_bridge
from ..models import EmailTemplate, Layout, SmsTemplate, SmsTemplateVersion, TemplateVersion, Topic
from ..templating.checks import Problem, check_source, footer_problems, layout_check
from ..templating.compile import compile_html, compile_text
from . import blocks


def _raise(problems: list[Problem]) -> None:
    if not problems:
        return
    fields: dict[str, list[str]] = {}
    for problem in problems:
        fields.setdefault(problem.field, []).append(str(problem))
    first = problems[0]
    raise ValidationFailed(f"{first.field}: {first}", fields=fields)


def _segment_checker(workspace: Workspace) -> Any:
    return lambda segment_id: segments_bridge.segment_exists(
        workspace=workspace, segment_id=segment_id
    )


@dataclass
class EmailContent:
    name: str
    subject: str
    html: str = ""  # a block template: generated from `document`
    preheader: str = ""
    text: str = ""
    from_name: str = ""
    from_email: str = ""
    reply_to: str = ""
    layout: Layout | None = None
    topic: Topic | None = None
    # A block template: its source (html and text are generated from it by email_content_prepare)
    document: dict[str, Any] | None = None
    block_conditions: dict[str, Any] = field(default_factory=dict)


def email_content_prepare(*, workspace: Workspace, content: EmailContent) -> EmailContent:
    """A block template's content with its HTML compiled from the document and the brand (the
    text part is generated from that HTML); a code template's as it is. Raises
    ValidationFailed naming each bad path of the document."""
    if content.document is None:
        return content
    if content.layout is not None:
        raise ValidationFailed(f"layout: {blocks.NO_LAYOUT}", fields={"layout": blocks.NO_LAYOUT})
    compiled = blocks.document_compile(workspace=workspace, document=content.document)
    return replace(content, html=compiled.html, text="", block_conditions=compiled.conditions)


def email_content_check(*, workspace: Workspace, content: EmailContent) -> set[str]:
    """Validate everything; raise ValidationFailed naming each field. Returns segment ids used."""
    exists = _segment_checker(workspace)
    problems: list[Problem] = []
    if not content.name.strip():
        problems.append(Problem("name", None, "a template needs a name"))
    if not content.subject.strip():
        problems.append(Problem("subject", None, "a subject is required"))
    if not content.html.strip():
        problems.append(Problem("html", None, "the HTML body is empty"))
    if content.layout is not None and content.layout.workspace_id != workspace.pk:
        problems.append(Problem("layout", None, "unknown layout"))
    if content.topic is not None and content.topic.workspace_id != workspace.pk:
        problems.append(Problem("topic", None, "unknown topic"))
    _raise(problems)
    segment_ids: set[str] = set()
    sources = (
        ("subject", content.subject, False),
        ("preheader", content.preheader, False),
        ("html", content.html, True),
        ("text", content.text, False),
    )
    html_result = None
    for field_name, source, is_html in sources:
        result = check_source(source, field_name=field_name, html=is_html, segment_exists=exists)
        problems += result.problems
        segment_ids |= result.segment_ids
        if field_name == "html":
            html_result = result
    if html_result is not None and html_result.ok and content.layout is None:
        problems += footer_problems(
            html_result, field_name="html", what="An email without a layout"
        )
    _raise(problems)
    return segment_ids


def _version_number(template: EmailTemplate | SmsTemplate, model: Any) -> int:
    current = model.objects.filter(template=template).aggregate(top=Max("number"))["top"]
    return (current or 0) + 1


def _version_from(
    *,
    workspace: Workspace,
    template: EmailTemplate,
    content: EmailContent,
    segment_ids: set[str],
    user: User | None,
    note: str,
) -> TemplateVersion:
    layout_html = content.layout.html if content.layout is not None else None
    compiled_html = compile_html(
        html=content.html,
        layout_html=layout_html,
        preheader=content.preheader,
        keep_styles=content.document is not None,
    )
    version = TemplateVersion.objects.create(
        workspace=workspace,
        template=template,
        number=_version_number(template, TemplateVersion),
        subject=content.subject,
        preheader=content.preheader,
        html=content.html,
        text=content.text,
        from_name=content.from_name,
        from_email=content.from_email,
        reply_to=content.reply_to,
        layout=content.layout,
        topic=content.topic,
        document=content.document,
        block_conditions=content.block_conditions,
        compiled_html=compiled_html,
        compiled_text=compile_text(text=content.text, compiled_html=compiled_html),
        segment_ids=sorted(segment_ids),
        note=note[:200],
        created_by=user,
    )
    return version


CONTENT_FIELDS = (
    "name",
    "subject",
    "preheader",
    "html",
    "text",
    "from_name",
    "from_email",
    "reply_to",
    "layout",
    "topic",
    "document",
)


@transaction.atomic
def email_template_save(
    *,
    workspace: Workspace,
    content: EmailContent,
    template: EmailTemplate | None = None,
    user: User | None = None,
    note: str = "",
) -> EmailTemplate:
    """Create a template, or save a new version of one (only when something changed)."""
    content = email_content_prepare(workspace=workspace, content=content)
    segment_ids = email_content_check(workspace=workspace, content=content)
    if template is not None and template.current_version_id and _unchanged(template, content):
        return template
    if template is None:
        template = EmailTemplate(workspace=workspace)
    for name in CONTENT_FIELDS:
        setattr(template, name, getattr(content, name))
    template.save()
    version = _version_from(
        workspace=workspace,
        template=template,
        content=content,
        segment_ids=segment_ids,
        user=user,
        note=note,
    )
    template.current_version = version
    template.save(update_fields=["current_version", "updated_at"])
    return template


def _unchanged(template: EmailTemplate, content: EmailContent) -> bool:
    return all(getattr(template, name) == getattr(content, name) for name in CONTENT_FIELDS)


def content_of(
    template: EmailTemplate | TemplateVersion, *, name: str | None = None
) -> EmailContent:
    return EmailContent(
        name=name if name is not None else getattr(template, "name", ""),
        subject=template.subject,
        preheader=template.preheader,
        html=template.html,
        text=template.text,
        from_name=template.from_name,
        from_email=template.from_email,
        reply_to=template.reply_to,
        layout=template.layout,
        topic=template.topic,
        document=template.document,
    )


@transaction.atomic
def email_template_restore(
    *, workspace: Workspace, version: TemplateVersion, user: User | None = None
) -> EmailTemplate:
    """Make an old version current again, as a new version (history is never rewritten)."""
    template = version.template
    content = content_of(version, name=template.name)
    template = email_template_save(
        workspace=workspace,
        template=template,
        content=content,
        user=user,
        note=f"Restored from version {version.number}",
    )
    return template


@transaction.atomic
def block_templates_rebrand(*, workspace: Workspace, user: User | None = None) -> int:
    """After a brand change: every block template (not archived) gets a new version compiled
    with the new brand, as a layout change does for its templates. Returns how many changed.
    A template whose document no longer passes its checks (a segment it names was deleted)
    keeps its current version."""
    changed = 0
    templates = EmailTemplate.objects.filter(
        workspace=workspace, document__isnull=False, archived_at__isnull=True
    )
    for template in templates:
        before = template.current_version_id
        try:
            with transaction.atomic():
                saved = email_template_save(
                    workspace=workspace,
                    template=template,
                    content=content_of(template),
                    user=user,
                    note="Brand changed",
                )
        except ValidationFailed:
            continue
        changed += saved.current_version_id != before
    return changed


def email_template_archive(*, workspace: Workspace, template: EmailTemplate) -> None:
    from django.utils import timezone

    EmailTemplate.objects.filter(workspace=workspace, pk=template.pk).update(
        archived_at=timezone.now()
    )


# --- Layouts ----------------------------------------------------------------------------------


@transaction.atomic
def layout_save(
    *,
    workspace: Workspace,
    name: str,
    html: str,
    layout: Layout | None = None,
    user: User | None = None,
) -> Layout:
    """Save a layout. Templates using it get a new version compiled with the new layout."""
    problems = [] if name.strip() else [Problem("name", None, "a layout needs a name")]
    problems += layout_check(html)
    _raise(problems)
    if layout is None:
        layout = Layout(workspace=workspace)
    elif layout.html == html and layout.name == name:
        return layout
    layout.name, layout.html = name.strip(), html
    layout.save()
    for template in EmailTemplate.objects.filter(
        workspace=workspace, layout=layout, archived_at__isnull=True
    ):
        content = content_of(template)
        content.layout = layout
        segment_ids = email_content_check(workspace=workspace, content=content)
        version = _version_from(
            workspace=workspace,
            template=template,
            content=content,
            segment_ids=segment_ids,
            user=user,
            note=f"Layout “{layout.name}” changed",
        )
        EmailTemplate.objects.filter(pk=template.pk).update(current_version=version)
    return layout


# --- SMS ----------------------------------------------------------------------------------------


@transaction.atomic
def sms_template_save(
    *,
    workspace: Workspace,
    name: str,
    body: str,
    topic: Topic | None = None,
    template: SmsTemplate | None = None,
    user: User | None = None,
) -> SmsTemplate:
    problems = [] if name.strip() else [Problem("name", None, "a template needs a name")]
    if not body.strip():
        problems.append(Problem("body", None, "the message is empty"))
    if topic is not None and topic.workspace_id != workspace.pk:
        problems.append(Problem("topic", None, "unknown topic"))
    _raise(problems)
    result = check_source(
        body, field_name="body", html=False, segment_exists=_segment_checker(workspace)
    )
    _raise(result.problems)
    if (
        template is not None
        and template.body == body
        and template.name == name.strip()
        and (template.topic_id == (topic.pk if topic else None))
    ):
        return template
    if template is None:
        template = SmsTemplate(workspace=workspace)
    template.name, template.body, template.topic = name.strip(), body, topic
    template.save()
    version = SmsTemplateVersion.objects.create(
        workspace=workspace,
        template=template,
        number=_version_number(template, SmsTemplateVersion),
        body=body,
        topic=topic,
        segment_ids=sorted(result.segment_ids),
        created_by=user,
    )
    template.current_version = version
    template.save(update_fields=["current_version", "updated_at"])
    return template


def copy_name(name: str, *, limit: int = 120) -> str:
    suffix = " (copy)"
    return f"{name[: limit - len(suffix)]}{suffix}"


@transaction.atomic
def email_template_duplicate(
    *, workspace: Workspace, template: EmailTemplate, user: User | None = None
) -> EmailTemplate:
    """A new template with the same content (code or block), named "<name> (copy)"."""
    if template.workspace_id != workspace.pk:
        raise ValidationFailed("template: unknown template", fields={"template": "unknown"})
    content = content_of(template, name=copy_name(template.name))  # a document too
    return email_template_save(
        workspace=workspace, content=content, user=user, note=f"Copied from “{template.name}”"
    )
