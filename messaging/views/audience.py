"""Suppressions, topics, sending settings and pause/resume."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from workspaces.errors import TendrilError
from workspaces.forms import form_errors_from
from workspaces.roles import Capability
from workspaces.scoping import scoped, workspace_view

from ..esp import workspace_webhook_urls
from ..forms import BrandForm, SettingsForm, SuppressionForm, TopicForm
from ..models import MessagingSettings, Suppression, Topic
from ..services import (
    esp_webhook_secret_rotate,
    messaging_settings,
    messaging_settings_update,
    sending_resume,
    suppression_add,
    suppression_remove,
    topic_save,
)
from ..services.brand import COLOURS, brand_fonts, brand_of, brand_update
from ..services.config import SETTINGS_FIELDS, topic_default
from ..services.media import media_upload
from .common import EDIT, page

PAGE_SIZE = 100


@workspace_view(write=EDIT)
def suppression_list(request: HttpRequest) -> HttpResponse:
    form = SuppressionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                suppression_add(
                    workspace=request.workspace,  # type: ignore[attr-defined]
                    source="manual",
                    **form.cleaned_data,
                )
            except TendrilError as error:
                form_errors_from(form, error)
            else:
                messages.success(request, f"Suppressed {form.cleaned_data['address']}.")
                return redirect("messaging:suppression_list")
        status = 400
    suppressions = scoped(request, Suppression).order_by("-created_at")
    query = request.GET.get("q", "").strip().lower()
    if query:
        suppressions = suppressions.filter(address__icontains=query)
    reason = request.GET.get("reason", "")
    if reason:
        suppressions = suppressions.filter(reason=reason)
    return page(
        request,
        "messaging/suppression_list.html",
        {
            "suppressions": suppressions[:PAGE_SIZE],
            "total": suppressions.count(),
            "form": form,
            "q": query,
            "reason": reason,
        },
        tab="suppressions",
        status=status,
    )


@workspace_view(write=EDIT)
@require_POST
def suppression_delete(request: HttpRequest, pk: int) -> HttpResponse:
    suppression = get_object_or_404(scoped(request, Suppression), pk=pk)
    suppression_remove(workspace=request.workspace, suppression=suppression)  # type: ignore[attr-defined]
    messages.success(request, f"Removed {suppression.address or 'the address'} from the list.")
    return redirect("messaging:suppression_list")


@workspace_view(write=EDIT)
def topic_list(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    topic_default(workspace=workspace)
    form = TopicForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                topic = topic_save(workspace=workspace, **form.cleaned_data)
            except TendrilError as error:
                form_errors_from(form, error)
            else:
                messages.success(request, f"Topic “{topic.name}” added.")
                return redirect("messaging:topic_list")
        status = 400
    from django.db.models import Count

    topics = scoped(request, Topic).annotate(opted_out=Count("opt_outs")).order_by("name")
    return page(
        request,
        "messaging/topic_list.html",
        {"topics": topics, "form": form},
        tab="topics",
        status=status,
    )


@workspace_view(write=EDIT)
def topic_edit(request: HttpRequest, pk: int) -> HttpResponse:
    topic = get_object_or_404(scoped(request, Topic), pk=pk)
    form = TopicForm(
        request.POST or None, initial={"name": topic.name, "description": topic.description}
    )
    if request.method == "POST" and form.is_valid():
        try:
            topic_save(workspace=request.workspace, topic=topic, **form.cleaned_data)  # type: ignore[attr-defined]
        except TendrilError as error:
            form_errors_from(form, error)
        else:
            messages.success(request, "Topic saved.")
            return redirect("messaging:topic_list")
    return page(
        request,
        "messaging/topic_edit.html",
        {"topic": topic, "form": form},
        tab="topics",
        status=400 if request.method == "POST" else 200,
    )


def _brand_form(current: MessagingSettings, data: Any = None, files: Any = None) -> BrandForm:
    brand = brand_of(current)
    initial = {name: getattr(brand, name) for name in COLOURS} | {"font": brand.font}
    return BrandForm(data, files, initial=initial, fonts=brand_fonts())


@workspace_view(write=EDIT)
def settings_view(request: HttpRequest) -> HttpResponse:
    return _settings_page(request)


def _settings_page(request: HttpRequest, brand_form: BrandForm | None = None) -> HttpResponse:
    """The settings page; a POST here saves the sending settings (brand_view the brand)."""
    workspace = request.workspace  # type: ignore[attr-defined]
    current = messaging_settings(workspace=workspace)
    saving = request.method == "POST" and brand_form is None
    form = SettingsForm((request.POST or None) if saving else None, instance=current)
    if saving:
        if form.is_valid():
            values = {name: form.cleaned_data[name] for name in SETTINGS_FIELDS}
            try:
                messaging_settings_update(workspace=workspace, **values)
            except TendrilError as error:
                form_errors_from(form, error)
            else:
                messages.success(request, "Sending settings saved.")
                return redirect("messaging:settings")
        current.refresh_from_db()
    can_manage = request.membership.can(Capability.MANAGE_WORKSPACE)  # type: ignore[attr-defined]
    webhook_urls = (
        workspace_webhook_urls(
            site_url=settings.SITE_URL,
            workspace_id=workspace.pk,
            secret=current.esp_webhook_secret,
        )
        if can_manage and current.esp_webhook_secret
        else []
    )
    logo = current.brand_logo
    return page(
        request,
        "messaging/settings.html",
        {
            "form": form,
            "brand_form": brand_form or _brand_form(current),
            "brand_logo": logo,
            "can_manage": can_manage,
            "esp_webhook_urls": webhook_urls,
        },
        tab="settings",
        status=400 if request.method == "POST" else 200,
    )


@workspace_view(write=EDIT)
@require_POST
def brand_view(request: HttpRequest) -> HttpResponse:
    """Messages → Settings → Brand: logo (uploaded as an email image), colours and font."""
    workspace = request.workspace  # type: ignore[attr-defined]
    current = messaging_settings(workspace=workspace)
    form = _brand_form(current, request.POST, request.FILES)
    if form.is_valid():
        values: dict[str, Any] = {name: form.cleaned_data[name] for name in (*COLOURS, "font")}
        try:
            with transaction.atomic():
                if form.cleaned_data["logo"]:
                    values["logo"] = media_upload(
                        workspace=workspace,
                        upload=form.cleaned_data["logo"],
                        alt=form.cleaned_data["logo_alt"],
                        user=request.user,  # type: ignore[arg-type]
                    )
                elif form.cleaned_data["remove_logo"]:
                    values["logo"] = None
                brand_update(workspace=workspace, **values)
        except TendrilError as error:
            error.fields = {
                {"file": "logo", "alt": "logo_alt"}.get(name, name): message
                for name, message in error.fields.items()
            }
            form_errors_from(form, error)
        else:
            messages.success(request, "Brand saved: block emails use it from now on.")
            return redirect("messaging:settings")
    return _settings_page(request, brand_form=form)


@workspace_view(write=Capability.MANAGE_WORKSPACE)
@require_POST
def esp_webhook_rotate_view(request: HttpRequest) -> HttpResponse:
    """A new secret for the workspace's ESP webhook addresses (the old ones stop at once)."""
    esp_webhook_secret_rotate(workspace=request.workspace)  # type: ignore[attr-defined]
    messages.success(
        request, "New ESP webhook addresses: set them at your ESP; the old ones no longer answer."
    )
    return redirect("messaging:settings")


@workspace_view(write=EDIT)
@require_POST
def sending_resume_view(request: HttpRequest) -> HttpResponse:
    sending_resume(workspace=request.workspace)  # type: ignore[attr-defined]
    messages.success(request, "Sending resumed: held messages go out now.")
    return redirect("messaging:settings")
