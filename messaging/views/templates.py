"""Email templates, layouts and SMS templates: lists, the editor with live preview, test
sends and version history."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from workspaces.errors import TendrilError
from workspaces.forms import form_errors_from
from workspaces.scoping import scoped, workspace_view

from ..forms import (
    EmailTemplateForm,
    LayoutForm,
    PreviewForm,
    SmsPreviewForm,
    SmsTemplateForm,
    TestSendForm,
)
from ..models import EmailTemplate, Layout, SmsTemplate, TemplateVersion
from ..selectors import merge_tags
from ..services import (
    EmailContent,
    email_template_restore,
    email_template_save,
    layout_save,
    sms_template_save,
    test_send,
)
from ..services.preview import email_draft_preview, sms_draft_preview
from ..services.templates import email_template_archive, email_template_duplicate
from ..templating.sms import sms_info
from .common import EDIT, block_editor_boot, page, preview_contact


@workspace_view
def template_list(request: HttpRequest) -> HttpResponse:
    email = (
        scoped(request, EmailTemplate)
        .filter(archived_at__isnull=True)
        .select_related("current_version", "layout", "topic")
        .order_by("-updated_at")
    )
    sms = (
        scoped(request, SmsTemplate)
        .filter(archived_at__isnull=True)
        .select_related("current_version", "topic")
        .order_by("-updated_at")
    )
    layouts = scoped(request, Layout).order_by("name")
    return page(
        request,
        "messaging/template_list.html",
        {"email_templates": email, "sms_templates": sms, "layouts": layouts},
        tab="templates",
    )


def _content(form: EmailTemplateForm) -> EmailContent:
    data = form.cleaned_data
    return EmailContent(
        name=data["name"],
        subject=data["subject"],
        preheader=data.get("preheader") or "",
        html=data["html"],
        text=data.get("text") or "",
        from_name=data.get("from_name") or "",
        from_email=data.get("from_email") or "",
        reply_to=data.get("reply_to") or "",
        layout=data.get("layout"),
        topic=data.get("topic"),
    )


def _initial(template: EmailTemplate | None) -> dict[str, object]:
    if template is None:
        return {
            "subject": "Hello {{ first_name|default('there') }}",
            "html": "<h1>Hello {{ first_name|default('there') }}</h1>\n<p>…</p>\n",
        }
    fields = ("name", "subject", "preheader", "from_name", "from_email", "reply_to", "html", "text")
    initial: dict[str, object] = {name: getattr(template, name) for name in fields}
    initial.update(layout=template.layout_id, topic=template.topic_id)
    return initial


@workspace_view(write=EDIT)
def template_choose(request: HttpRequest) -> HttpResponse:
    """ "New email": design with blocks (the default), start from a starter, or write code."""
    return page(request, "messaging/template_choose.html", {}, tab="templates")


def _block_editor(request: HttpRequest, template: EmailTemplate | None) -> HttpResponse:
    versions = (
        template.versions.select_related("created_by").order_by("-number")[:30] if template else []
    )
    return page(
        request,
        "messaging/template_blocks.html",
        {"template": template, "boot": block_editor_boot(request, template), "versions": versions},
        tab="templates",
    )


@workspace_view(write=EDIT)
def template_new_blocks(request: HttpRequest) -> HttpResponse:
    """A new block template: the editor island saves it through the API."""
    return _block_editor(request, None)


@workspace_view(write=EDIT)
def template_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    template = get_object_or_404(scoped(request, EmailTemplate), pk=pk) if pk else None
    if template is not None and template.document is not None:
        return _block_editor(request, template)
    workspace = request.workspace  # type: ignore[attr-defined]
    form = EmailTemplateForm(request.POST or None, workspace=workspace, initial=_initial(template))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = email_template_save(
                    workspace=workspace,
                    template=template,
                    content=_content(form),
                    user=request.user,  # type: ignore[arg-type]
                )
            except TendrilError as error:
                form_errors_from(form, error)
            else:
                version = saved.current_version
                messages.success(request, f"Saved “{saved.name}” (version {version.number}).")  # type: ignore[union-attr]
                return redirect("messaging:template_edit", pk=saved.pk)
        status = 400
    versions = (
        template.versions.select_related("created_by").order_by("-number")[:30] if template else []
    )
    return page(
        request,
        "messaging/template_edit.html",
        {
            "template": template,
            "form": form,
            "versions": versions,
            "test_form": TestSendForm(initial={"to": request.user.email}),  # type: ignore[union-attr]
        },
        tab="templates",
        status=status,
    )


def _problems(form: Form) -> list[str]:
    """A preview's invalid fields as the lines its problems list shows."""
    if form.is_valid():
        return []
    return [f"{name}: {' '.join(errs)}" for name, errs in form.errors.items()]


@workspace_view(write=EDIT)
@require_POST
def template_preview(request: HttpRequest) -> HttpResponse:
    """The live preview (htmx): the unsaved form rendered for the chosen contact."""
    workspace = request.workspace  # type: ignore[attr-defined]
    form = EmailTemplateForm(request.POST, workspace=workspace)
    chosen = PreviewForm(request.POST)
    contact = (
        preview_contact(request, chosen.cleaned_data["preview_contact"])
        if chosen.is_valid()
        else None
    )
    preview, problems = None, _problems(chosen) or _problems(form)
    if not problems:
        try:
            preview = email_draft_preview(
                workspace=workspace, content=_content(form), contact=contact
            )
        except TendrilError as error:
            problems = [
                f"{name}: {message}"
                for name, found in error.fields.items()
                for message in (found if isinstance(found, list) else [found])
            ]
    return page(
        request,
        "messaging/template_edit.html#preview",
        {"preview": preview, "problems": problems, "preview_for": contact},
        tab="templates",
    )


@workspace_view(write=EDIT)
@require_POST
def template_test_send(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(scoped(request, EmailTemplate), pk=pk)
    form = TestSendForm(request.POST)
    if form.is_valid():
        try:
            test_send(
                workspace=request.workspace,  # type: ignore[attr-defined]
                template=template,
                to=form.cleaned_data["to"],
                contact=preview_contact(request, form.cleaned_data["preview_contact"]),
                user=request.user,  # type: ignore[arg-type]
            )
        except TendrilError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Test sent to {form.cleaned_data['to']}.")
    else:
        messages.error(
            request,
            "Enter an address to send the test to."
            if "to" in form.errors
            else " ".join(form.errors["preview_contact"]),
        )
    return redirect("messaging:template_edit", pk=template.pk)


@workspace_view
def template_version(request: HttpRequest, pk: int, version_pk: int) -> HttpResponse:
    template = get_object_or_404(scoped(request, EmailTemplate), pk=pk)
    version = get_object_or_404(
        scoped(request, TemplateVersion).select_related("created_by", "layout"),
        template=template,
        pk=version_pk,
    )
    from ..services import template_render_preview

    preview = template_render_preview(workspace=request.workspace, template=version)  # type: ignore[attr-defined]
    return page(
        request,
        "messaging/template_version.html",
        {"template": template, "version": version, "preview": preview},
        tab="templates",
    )


@workspace_view(write=EDIT)
@require_POST
def template_restore(request: HttpRequest, pk: int, version_pk: int) -> HttpResponse:
    template = get_object_or_404(scoped(request, EmailTemplate), pk=pk)
    version = get_object_or_404(scoped(request, TemplateVersion), template=template, pk=version_pk)
    try:
        restored = email_template_restore(
            workspace=request.workspace,  # type: ignore[attr-defined]
            version=version,
            user=request.user,  # type: ignore[arg-type]
        )
    except TendrilError as error:
        messages.error(request, f"Version {version.number} cannot be restored: {error.message}")
    else:
        messages.success(
            request,
            f"Restored version {version.number} as version {restored.current_version.number}.",  # type: ignore[union-attr]
        )
    return redirect("messaging:template_edit", pk=template.pk)


@workspace_view(write=EDIT)
@require_POST
def template_duplicate(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Duplicate" on the template list: a copy named "… (copy)", opened in its editor."""
    template = get_object_or_404(scoped(request, EmailTemplate), pk=pk)
    try:
        copy = email_template_duplicate(
            workspace=request.workspace,  # type: ignore[attr-defined]
            template=template,
            user=request.user,  # type: ignore[arg-type]
        )
    except TendrilError as error:
        messages.error(request, f"“{template.name}” cannot be copied: {error.message}")
        return redirect("messaging:list")
    messages.success(request, f"Copied “{template.name}” as “{copy.name}”.")
    return redirect("messaging:template_edit", pk=copy.pk)


@workspace_view(write=EDIT)
@require_POST
def template_archive(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(scoped(request, EmailTemplate), pk=pk)
    email_template_archive(workspace=request.workspace, template=template)  # type: ignore[attr-defined]
    messages.success(request, f"Archived “{template.name}”.")
    return redirect("messaging:list")


# --- Layouts ------------------------------------------------------------------------------------


@workspace_view(write=EDIT)
def layout_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    layout = get_object_or_404(scoped(request, Layout), pk=pk) if pk else None
    initial = {"name": layout.name, "html": layout.html} if layout else {"html": DEFAULT_LAYOUT}
    form = LayoutForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = layout_save(
                    workspace=request.workspace,  # type: ignore[attr-defined]
                    layout=layout,
                    name=form.cleaned_data["name"],
                    html=form.cleaned_data["html"],
                    user=request.user,  # type: ignore[arg-type]
                )
            except TendrilError as error:
                form_errors_from(form, error)
            else:
                messages.success(request, f"Saved layout “{saved.name}”.")
                return redirect("messaging:layout_edit", pk=saved.pk)
        status = 400
    return page(
        request,
        "messaging/layout_edit.html",
        {"layout": layout, "form": form},
        tab="templates",
        status=status,
    )


DEFAULT_LAYOUT = """<!doctype html>
<html>
<head>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { margin: 0; background: #f6f7f9; font-family: Arial, sans-serif; color: #1c2330; }
  .wrap { max-width: 600px; margin: 0 auto; background: #ffffff; padding: 24px; }
  .footer { color: #667085; font-size: 12px; text-align: center; padding: 16px; }
  @media (max-width: 600px) { .wrap { padding: 16px; } }
</style>
</head>
<body>
<div class="wrap">
{{ content }}
</div>
<p class="footer">{{ workspace.name }} · {{ workspace.physical_address }}<br>
<a href="{{ unsubscribe_url }}">Unsubscribe</a> · <a href="{{ preferences_url }}">Preferences</a></p>
</body>
</html>
"""


# --- SMS ------------------------------------------------------------------------------------------


@workspace_view(write=EDIT)
def sms_template_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    template = get_object_or_404(scoped(request, SmsTemplate), pk=pk) if pk else None
    workspace = request.workspace  # type: ignore[attr-defined]
    initial = (
        {"name": template.name, "body": template.body, "topic": template.topic_id}
        if template
        else {}
    )
    form = SmsTemplateForm(request.POST or None, workspace=workspace, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = sms_template_save(
                    workspace=workspace,
                    template=template,
                    name=form.cleaned_data["name"],
                    body=form.cleaned_data["body"],
                    topic=form.cleaned_data.get("topic"),
                    user=request.user,  # type: ignore[arg-type]
                )
            except TendrilError as error:
                form_errors_from(form, error)
            else:
                messages.success(request, f"Saved “{saved.name}”.")
                return redirect("messaging:sms_template_edit", pk=saved.pk)
        status = 400
    body = form["body"].value() or ""
    return page(
        request,
        "messaging/sms_template_edit.html",
        {
            "template": template,
            "form": form,
            "info": sms_info(str(body)),
            "merge_tags": merge_tags(workspace=workspace),
            "opt_out_text": settings.MESSAGING_SMS_OPT_OUT_TEXT,
        },
        tab="templates",
        status=status,
    )


def _sms_cost(segments: int) -> dict[str, float]:
    """What the composer estimates one message and a thousand of them to cost (USD)."""
    each = segments * settings.MESSAGING_SMS_PRICE_PER_SEGMENT
    return {"each": each, "thousand": each * 1000}


@workspace_view(write=EDIT)
@require_POST
def sms_preview(request: HttpRequest) -> HttpResponse:
    form = SmsPreviewForm(request.POST)
    preview, problems = None, _problems(form)
    body = form.cleaned_data.get("body", "") if not problems else ""
    if not problems:
        try:
            preview = sms_draft_preview(
                workspace=request.workspace,  # type: ignore[attr-defined]
                body=body,
                contact=preview_contact(request, form.cleaned_data["preview_contact"]),
            )
        except TendrilError as error:
            problems = [str(m) for found in error.fields.values() for m in found]
    return page(
        request,
        "messaging/sms_template_edit.html#preview",
        {
            "preview": preview,
            "problems": problems,
            "info": sms_info(body),
            "cost": _sms_cost(preview.sms.segments) if preview and preview.sms else None,
        },
        tab="templates",
    )
