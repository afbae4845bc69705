"""Hosted forms: the marketer's pages (list, build, embed) and the public page visitors fill in."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt

from contacts.forms import (
    FormFieldFormSet,
    FormSettingsForm,
    HostedSubmissionForm,
    form_field_rows,
    form_field_rows_change,
    form_fields_from_formset,
    form_fields_initial,
)
from contacts.models import Form, FormSubmission
from contacts.selectors import attribute_definition_list, form_workspace_id
from contacts.services import forms as services
from workspaces.client_ip import client_ip
from workspaces.errors import TendrilError, ValidationFailed
from workspaces.forms import RowActionInvalid, form_errors_from
from workspaces.roles import Capability
from workspaces.scoping import public_view, scoped, workspace_view

MARKETING = Capability.EDIT_MARKETING
DEFAULT_FIELDS = [
    {"key": "email", "label": "Email", "type": "email", "required": True},
    {"key": "first_name", "label": "First name", "type": "text", "required": False},
]


def _form(request: HttpRequest, form_id: int) -> Form:
    return get_object_or_404(scoped(request, Form), pk=form_id)


@workspace_view
def form_list(request: HttpRequest) -> HttpResponse:
    forms = (
        scoped(request, Form)
        .annotate(submission_count=Count("submissions"))
        .order_by("-created_at")
    )
    context = {"forms": forms, "can_edit": request.membership.can(MARKETING)}  # type: ignore[attr-defined]
    return render(request, "contacts/forms/list.html", context)


def _builder(request: HttpRequest, form: Form | None) -> HttpResponse:
    """Create or edit a form: settings + a formset of fields; service errors go inline.

    The rows' buttons (add, remove, move) post the whole form with `row_action`; that
    re-renders just the rows, changed, and saves nothing."""
    if form is None:
        initial: dict[str, Any] = {}
        fields_initial = DEFAULT_FIELDS
    else:
        initial = {name: getattr(form, name) for name in services.FORM_SETTINGS}
        initial["tags"] = ", ".join(form.tags)
        fields_initial = form.fields
    post = request.POST if request.method == "POST" else None
    if post is None:
        formset = FormFieldFormSet(initial=form_fields_initial(fields_initial), prefix="fields")
    else:  # the rows as posted; no `initial`, or a row equal to a stored one counts as blank
        formset = FormFieldFormSet(post, prefix="fields")
    if post is not None and "row_action" in post:
        return _rows_changed(request, formset, post["row_action"])
    settings_form = FormSettingsForm(post, initial=initial)
    if post is not None:
        saved = _save(request, form, settings_form, formset)
        if saved is not None:
            messages.success(request, f"Saved “{saved.name}”.")
            return redirect("contacts:form_detail", form_id=saved.pk)
    context = {
        "form_obj": form,
        "form": settings_form,
        "formset": formset,
        "field_keys": [*services.CONTACT_FIELDS, *_attribute_keys(request)],
        "field_error": getattr(formset, "service_error", ""),
        "max_fields": services.MAX_FIELDS,
    }
    has_errors = settings_form.errors or any(formset.errors) or context["field_error"]
    return render(request, "contacts/forms/edit.html", context, status=400 if has_errors else 200)


def _save(request: HttpRequest, form: Form | None, settings_form: Any, formset: Any) -> Form | None:
    """Check everything — every problem at once, each on its setting or row — and save.
    None when anything is wrong; nothing is written then."""
    if not formset.is_valid():
        settings_form.is_valid()  # so its errors show alongside
        return None
    fields, rows = form_fields_from_formset(formset)
    try:
        if not settings_form.is_valid():
            services.form_fields_clean(fields)  # only to name the rows' problems too
            return None
        data = {**settings_form.settings(), "fields": fields}
        if form is None:
            return services.form_create(
                workspace=request.workspace,  # type: ignore[attr-defined]
                data=data,
                created_by=request.user,  # type: ignore[arg-type]
            )
        return services.form_update(form=form, data=data)
    except ValidationFailed as error:
        _attach_errors(error, settings_form, formset, rows)
        if form is not None:
            form.refresh_from_db()  # the page's title keeps the saved name
        return None


def _rows_changed(request: HttpRequest, formset: Any, action: str) -> HttpResponse:
    """One row button: the rows as typed, with the change applied; nothing is validated or
    saved (that waits for Save), so half-filled rows show no errors yet."""
    try:
        rows, landed = form_field_rows_change(
            form_field_rows(formset), action, limit=services.MAX_FIELDS
        )
    except RowActionInvalid as error:
        return HttpResponseBadRequest(f"row_action: {error}")
    changed = FormFieldFormSet(initial=rows, prefix="fields")
    focus, focus_row = _focus_after(action.partition(":")[0], landed, len(rows))
    if focus == "key" and focus_row is not None:
        changed.forms[focus_row].fields["key"].widget.attrs["autofocus"] = True
    context = {
        "formset": changed,
        "max_fields": services.MAX_FIELDS,
        "focus": focus,
        "focus_row": focus_row,
    }
    return render(request, "contacts/forms/edit.html#fields", context)


def _focus_after(verb: str, landed: int | None, count: int) -> tuple[str, int | None]:
    """Where keyboard focus goes after a row button, so pressing it again keeps working:
    a new row's first input, a moved row's same arrow (the other one at either end), the
    next row's remove button (Add field when none is left)."""
    if landed is None:
        return "add", None
    if verb in ("up", "down"):
        at_end = landed == 0 if verb == "up" else landed == count - 1
        if not at_end:
            return verb, landed
        return ("down" if verb == "up" else "up", landed) if count > 1 else ("key", landed)
    return ("remove" if verb == "remove" else "key"), landed


def _attribute_keys(request: HttpRequest) -> list[str]:
    definitions = attribute_definition_list(workspace=request.workspace)  # type: ignore[attr-defined]
    return list(definitions.values_list("key", flat=True)[:200])


def _attach_errors(
    error: ValidationFailed, settings_form: Any, formset: Any, rows: list[int]
) -> None:
    for name, problem in error.fields.items():
        text = problem[0] if isinstance(problem, list) and problem else str(problem)
        parts = name.split(".")
        if parts[0] == "fields" and len(parts) == 3 and parts[1].isdigit():
            row = formset.forms[rows[int(parts[1])]]
            row.add_error(parts[2] if parts[2] in row.fields else None, text)
        elif name == "fields":
            formset.service_error = text
        else:
            settings_form.add_error(name if name in settings_form.fields else None, text)


@workspace_view(read=MARKETING, write=MARKETING)
def form_create(request: HttpRequest) -> HttpResponse:
    return _builder(request, None)


@workspace_view(read=MARKETING, write=MARKETING)
def form_edit(request: HttpRequest, form_id: int) -> HttpResponse:
    return _builder(request, _form(request, form_id))


@workspace_view
def form_detail(request: HttpRequest, form_id: int) -> HttpResponse:
    form = _form(request, form_id)
    hosted_url = request.build_absolute_uri(reverse("contacts:hosted_form", args=[form.public_id]))
    submissions = (
        scoped(request, FormSubmission)
        .filter(form=form)
        .select_related("contact")
        .order_by("-created_at")
    )
    context = {
        "form_obj": form,
        "hosted_url": hosted_url,
        "embed_url": f"{hosted_url}?embed=1",
        "submission_count": submissions.count(),
        "submissions": submissions[:20],
        "can_edit": request.membership.can(MARKETING),  # type: ignore[attr-defined]
        "honeypot": services.HONEYPOT_FIELD,
    }
    return render(request, "contacts/forms/detail.html", context)


# --- The public page --------------------------------------------------------------------------


def _hosted_context(
    form: Form, request: HttpRequest, submission: HostedSubmissionForm | None = None
) -> dict[str, Any]:
    """The page for a visitor: blank, or as they sent it with each problem at its field."""
    sent = submission
    rows = []
    for field in form.fields:
        bound = sent[field["key"]] if sent else None
        rows.append(
            {
                **field,
                "value": (bound.value() or "") if bound else "",
                "error": bound.errors[0] if bound and bound.errors else "",
            }
        )
    consent = sent[services.CONSENT_FIELD] if sent else None
    return {
        "form_obj": form,
        "rows": rows,
        "embed": bool(request.GET.get("embed")),
        "page_url": (sent["page_url"].value() if sent else request.GET.get("page_url"))
        or request.META.get("HTTP_REFERER", ""),
        "anonymous_id": (sent["anonymous_id"].value() if sent else request.GET.get("anonymous_id"))
        or request.GET.get("aid", ""),
        "consent_checked": bool(consent and consent.value()),
        "consent_error": consent.errors[0] if consent and consent.errors else "",
        "form_errors": sent.non_field_errors() if sent else [],
        "has_errors": bool(sent and sent.errors),  # what names no field: in `form_errors`
        "honeypot": services.HONEYPOT_FIELD,
    }


def _success(request: HttpRequest, form: Form, embed: bool) -> HttpResponse:
    if form.redirect_url:
        if embed:  # leave the iframe: the thank-you page belongs to the whole window
            return render(
                request, "contacts/forms/hosted_redirect.html", {"url": form.redirect_url}
            )
        return redirect(form.redirect_url)
    return render(
        request, "contacts/forms/hosted.html", {"form_obj": form, "done": True, "embed": embed}
    )


@public_view(
    "hosted form: anyone may sign up; abuse is limited per IP and by a honeypot",
    workspace=lambda request, public_id: form_workspace_id(public_id=public_id),
)
@csrf_exempt  # embedded on other sites (third-party iframe: no cookies); nothing ambient to forge
@xframe_options_exempt  # meant to be embedded in an iframe
def hosted_form(request: HttpRequest, public_id: str) -> HttpResponse:
    form = Form.objects.select_related("workspace").filter(public_id=public_id).first()
    if form is None:
        return render(request, "contacts/forms/hosted_missing.html", status=404)
    embed = bool(request.GET.get("embed"))
    if not form.is_active:
        return render(
            request,
            "contacts/forms/hosted.html",
            {"form_obj": form, "closed": True, "embed": embed},
            status=410,
        )
    if request.method == "GET":
        return render(request, "contacts/forms/hosted.html", _hosted_context(form, request))
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    ip = client_ip(request)
    submission = HostedSubmissionForm(request.POST, definition=form)
    if services.form_rate_limit_hit(form=form, ip=ip):
        context = {**_hosted_context(form, request, submission), "rate_limited": True}
        response = render(request, "contacts/forms/hosted.html", context, status=429)
        response["Retry-After"] = "60"
        return response
    if submission.is_valid():  # text, none required (a NUL character is refused here)
        if submission.from_a_bot():
            return _success(request, form, embed)  # a bot: thank it and keep nothing
        data = submission.cleaned_data
        try:
            services.form_submit(
                form=form,
                data=data,
                ip=ip,
                page_url=data["page_url"],
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
                anonymous_id=data["anonymous_id"],
            )
        except TendrilError as error:
            form_errors_from(submission, error)
    if submission.errors:
        context = _hosted_context(form, request, submission)
        return render(request, "contacts/forms/hosted.html", context, status=400)
    return _success(request, form, embed)
