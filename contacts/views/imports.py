"""CSV import pages: upload, column mapping with a preview, live progress, error report."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from contacts.forms import ImportMappingForm, UploadForm
from contacts.models import ContactImport
from contacts.selectors import attribute_definition_list
from contacts.services import imports as services
from workspaces.errors import ValidationFailed
from workspaces.export import csv_response
from workspaces.forms import form_errors_from
from workspaces.roles import Capability
from workspaces.scoping import scoped, workspace_view

EDIT = Capability.EDIT_CONTACTS


def _import(request: HttpRequest, import_id: int) -> ContactImport:
    return get_object_or_404(scoped(request, ContactImport).defer("data"), pk=import_id)


@workspace_view(read=EDIT, write=EDIT)
def import_list(request: HttpRequest) -> HttpResponse:
    posted = request.method == "POST"
    form = UploadForm(request.POST if posted else None, request.FILES if posted else None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            created = services.import_create(
                workspace=request.workspace,  # type: ignore[attr-defined]
                upload=upload,
                filename=upload.name,
                created_by=request.user,  # type: ignore[arg-type]
            )
        except ValidationFailed as error:
            form_errors_from(form, error)
        else:
            return redirect("contacts:import_detail", import_id=created.pk)
    imports = (
        scoped(request, ContactImport)
        .defer("data", "errors")
        .select_related("created_by")
        .order_by("-created_at")[:50]
    )
    context = {"form": form, "imports": imports, "max_mb": services._max_bytes() // (1024 * 1024)}
    return render(
        request, "contacts/imports/list.html", context, status=400 if form.errors else 200
    )


def _target_choices(request: HttpRequest, contact_import: ContactImport) -> list[tuple[str, str]]:
    known = list(
        attribute_definition_list(workspace=request.workspace).values_list("key", flat=True)[:300]
    )  # type: ignore[attr-defined]
    choices = [("", "— Skip this column —")]
    choices += list(services.FIELD_TARGETS.items())
    choices += [(services.ATTRIBUTE_TARGET + key, f"Attribute: {key}") for key in known]
    guessed = {
        t for t in contact_import.mapping.values() if t.startswith(services.ATTRIBUTE_TARGET)
    }
    choices += [
        (target, f"New attribute: {target[len(services.ATTRIBUTE_TARGET) :]}")
        for target in sorted(guessed)
        if target[len(services.ATTRIBUTE_TARGET) :] not in known
    ]
    return choices


@workspace_view(read=EDIT, write=EDIT)
def import_detail(request: HttpRequest, import_id: int) -> HttpResponse:
    contact_import = _import(request, import_id)
    if contact_import.status != ContactImport.Status.MAPPING:
        return render(request, "contacts/imports/detail.html", {"imp": contact_import})
    form = ImportMappingForm(
        request.POST if request.method == "POST" else None,
        initial=ImportMappingForm.initial_for(contact_import),
        headers=contact_import.headers,
        targets=_target_choices(request, contact_import),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.import_configure(
                contact_import=contact_import,
                mapping=form.mapping(),
                upsert_key=form.cleaned_data["upsert_key"],
                tags=form.tag_list(),
            )
        except ValidationFailed as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request,
                f"Importing {contact_import.total_rows:,} rows from {contact_import.filename}.",
            )
            return redirect("contacts:import_detail", import_id=contact_import.pk)
    full = ContactImport.objects.get(pk=contact_import.pk)  # with the file, for the preview
    preview = services.import_preview(contact_import=full)
    columns = [
        {
            "header": header,
            "samples": [row[i] for row in preview if row[i].strip()][:3],
            "field": form.column(i),
        }
        for i, header in enumerate(contact_import.headers)
    ]
    context = {"imp": contact_import, "form": form, "columns": columns, "preview": preview}
    return render(
        request, "contacts/imports/mapping.html", context, status=400 if form.errors else 200
    )


@workspace_view(read=EDIT)
def import_progress(request: HttpRequest, import_id: int) -> HttpResponse:
    """The progress card alone; htmx polls it every second until the import finishes."""
    return render(
        request, "contacts/imports/detail.html#progress", {"imp": _import(request, import_id)}
    )


@workspace_view(read=EDIT)
def import_errors(request: HttpRequest, import_id: int) -> StreamingHttpResponse:
    contact_import = get_object_or_404(scoped(request, ContactImport).defer("data"), pk=import_id)
    rows = iter(services.import_error_report(contact_import=contact_import))
    header = next(rows, [])
    name = contact_import.filename.rsplit(".", 1)[0] or "import"
    return csv_response(rows, filename=f"{name}-errors", header=header)
