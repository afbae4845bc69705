"""HTML pages of segments: list, builder (create/edit), segment page, static list edits."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from contacts.models import Contact
from workspaces.errors import ValidationFailed
from workspaces.htmx import HtmxHttpRequest
from workspaces.roles import Capability
from workspaces.scoping import scoped, workspace_view

from . import selectors, services
from .filters.validation import FilterInvalid
from .models import ChangeReason, Segment

MARKETING = Capability.EDIT_MARKETING
IMPORT_MAX_ROWS = 50_000
MAX_FILTER_JSON = 200_000  # characters of the posted tree (the parser bounds its nodes too)


def _can_edit(request: HttpRequest) -> bool:
    return bool(request.membership.can(MARKETING))  # type: ignore[attr-defined]


# --- list ----------------------------------------------------------------------------------


@workspace_view
def segment_list(request: HttpRequest) -> HttpResponse:
    segments = selectors.segment_list(workspace=request.workspace)  # type: ignore[attr-defined]
    for segment in segments:
        segment.sparkline_json = json.dumps(segment.sparkline)  # type: ignore[attr-defined]
    return render(
        request,
        "segments/list.html",
        {"segments": segments, "can_edit": _can_edit(request)},
    )


# --- builder -----------------------------------------------------------------------------------


def _posted_filter(raw: str) -> Any:
    """The tree the condition editor island posts (its hidden `filter` input)."""
    if len(raw) > MAX_FILTER_JSON:
        raise ValidationFailed(
            "filter: too large", fields={"filter": "the conditions are too large to save"}
        )
    try:
        return json.loads(raw) if raw.strip() else {"all": []}
    except json.JSONDecodeError as error:
        raise ValidationFailed(
            f"filter: not valid JSON ({error.msg})", fields={"filter": "not valid JSON"}
        ) from None


def _editor(request: HttpRequest, segment: Segment | None, kind: str) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    errors: dict[str, str] = {}
    values = {
        "name": segment.name if segment else "",
        "description": segment.description if segment else "",
    }
    tree: Any = segment.filter if segment else {"all": []}
    status = 200
    if request.method == "POST":
        values = {key: request.POST.get(key, "") for key in values}
        try:
            if kind == Segment.Kind.DYNAMIC:
                tree = _posted_filter(request.POST.get("filter", ""))
            if segment is None:
                segment = services.segment_create(
                    workspace=workspace,
                    name=values["name"],
                    kind=kind,
                    filter=tree if kind == Segment.Kind.DYNAMIC else None,
                    description=values["description"],
                    created_by=request.user,  # type: ignore[arg-type]
                )
                messages.success(request, f"“{segment.name}” saved; computing its members.")
            else:
                segment = services.segment_update(
                    segment=segment,
                    name=values["name"],
                    description=values["description"],
                    filter=tree if kind == Segment.Kind.DYNAMIC else None,
                )
                messages.success(request, f"“{segment.name}” saved.")
            return redirect("segments:detail", segment_id=segment.pk)
        except FilterInvalid as error:
            errors = error.errors
            status = 400
        except ValidationFailed as error:
            errors = {f"@{key}": str(value) for key, value in error.fields.items()} or {
                "@": error.message
            }
            status = 400
    form_errors = {key[1:]: value for key, value in errors.items() if key.startswith("@")}
    filter_errors = {key: value for key, value in errors.items() if not key.startswith("@")}
    context = {
        "segment": segment,
        "kind": kind,
        "values": values,
        "form_errors": form_errors,
        # The condition editor island edits this tree in a hidden input and shows each error
        # next to the condition its JSON path names.
        "conditions": selectors.condition_editor(
            tree=tree,
            input_name="filter",
            errors=filter_errors,
            exclude_segment_id=segment.pk if segment else None,
        )
        if kind == Segment.Kind.DYNAMIC
        else None,
    }
    return render(request, "segments/form.html", context, status=status)


@workspace_view(read=MARKETING, write=MARKETING)
def segment_create(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind") or request.POST.get("kind") or Segment.Kind.DYNAMIC
    if kind not in Segment.Kind.values:
        kind = Segment.Kind.DYNAMIC
    return _editor(request, None, kind)


@workspace_view(read=MARKETING, write=MARKETING)
def segment_edit(request: HttpRequest, segment_id: int) -> HttpResponse:
    segment = get_object_or_404(scoped(request, Segment), pk=segment_id)
    return _editor(request, segment, segment.kind)


# --- segment page --------------------------------------------------------------------------------


def _page_number(request: HttpRequest) -> int:
    raw = request.GET.get("page", "1")
    return max(1, int(raw)) if raw.isdigit() else 1


@workspace_view
def segment_detail(request: HtmxHttpRequest, segment_id: int) -> HttpResponse:
    segment = get_object_or_404(scoped(request, Segment), pk=segment_id)
    page = _page_number(request)
    rows, has_next = selectors.segment_members_page(segment=segment, page=page)
    context = {
        "segment": segment,
        "members": rows,
        "page": page,
        "has_next": has_next,
        "history": selectors.segment_history(segment=segment, limit=50),
        "can_edit": _can_edit(request),
        "filter_json": json.dumps(segment.filter, indent=2),
        "referenced": scoped(request, Segment).filter(pk__in=segment.dep_segment_ids),
    }
    if request.htmx and request.htmx.target == "members":
        return render(request, "segments/detail.html#members", context)
    return render(request, "segments/detail.html", context)


@workspace_view
def segment_status(request: HttpRequest, segment_id: int) -> HttpResponse:
    """The recompute progress block; polls itself while a recompute runs."""
    segment = get_object_or_404(scoped(request, Segment), pk=segment_id)
    return render(request, "segments/detail.html#status", {"segment": segment})


@workspace_view(write=MARKETING)
@require_POST
def segment_recompute(request: HttpRequest, segment_id: int) -> HttpResponse:
    segment = get_object_or_404(scoped(request, Segment), pk=segment_id)
    services.segment_recompute_request(segment=segment)
    messages.info(request, "Recompute started.")
    return redirect("segments:detail", segment_id=segment.pk)


@workspace_view(write=MARKETING)
@require_POST
def segment_delete(request: HttpRequest, segment_id: int) -> HttpResponse:
    segment = get_object_or_404(scoped(request, Segment), pk=segment_id)
    try:
        services.segment_delete(segment=segment)
    except ValidationFailed as error:
        messages.error(request, error.message.partition(": ")[2] or error.message)
        return redirect("segments:detail", segment_id=segment.pk)
    messages.success(request, f"“{segment.name}” deleted.")
    return redirect("segments:list")


# --- static lists --------------------------------------------------------------------------------


def _contact_ids(request: HttpRequest, values: list[str]) -> list[int]:
    ids = [int(v) for v in values if v.isdigit()]
    emails = [v for v in values if "@" in v]
    return selectors.contact_ids_for(
        workspace=request.workspace,  # type: ignore[attr-defined]
        contact_ids=ids,
        emails=emails,
    )


def _static_change(
    request: HttpRequest,
    segment: Segment,
    values: list[str],
    *,
    add: bool,
    source: str = ChangeReason.MANUAL,
) -> int | None:
    ids = _contact_ids(request, values)
    change = services.static_list_add if add else services.static_list_remove
    try:
        applied = change(segment=segment, contact_ids=ids, source=source)
    except ValidationFailed as error:
        messages.error(request, error.message.partition(": ")[2] or error.message)
        return None
    return len(applied.entered if add else applied.exited)


@workspace_view(write=MARKETING)
@require_POST
def members_add(request: HttpRequest, segment_id: int) -> HttpResponse:
    segment = get_object_or_404(scoped(request, Segment), pk=segment_id)
    values = [v.strip() for v in request.POST.get("contacts", "").replace(",", "\n").split()]
    if not values:
        messages.error(request, "Contacts: give one or more emails or contact ids.")
    else:
        added = _static_change(request, segment, values, add=True)
        if added is not None:
            missing = len(values) - added
            note = f" ({missing} already in the list or unknown)" if missing > 0 else ""
            messages.success(request, f"Added {added} contact{'s' if added != 1 else ''}{note}.")
    return redirect("segments:detail", segment_id=segment.pk)


@workspace_view(write=MARKETING)
@require_POST
def members_remove(request: HttpRequest, segment_id: int) -> HttpResponse:
    segment = get_object_or_404(scoped(request, Segment), pk=segment_id)
    removed = _static_change(request, segment, request.POST.getlist("contact_id"), add=False)
    if removed is not None:
        messages.success(request, f"Removed {removed} contact{'s' if removed != 1 else ''}.")
    return redirect("segments:detail", segment_id=segment.pk)


@workspace_view(write=MARKETING)
@require_POST
def members_import(request: HttpRequest, segment_id: int) -> HttpResponse:
    """A CSV of emails or contact ids (first column, or a column named email / id)."""
    segment = get_object_or_404(scoped(request, Segment), pk=segment_id)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "File: choose a CSV file of emails or contact ids.")
        return redirect("segments:detail", segment_id=segment.pk)
    try:
        values = _csv_values(upload.read())
    except (UnicodeDecodeError, csv.Error) as error:
        messages.error(request, f"File: not a readable CSV ({error}).")
        return redirect("segments:detail", segment_id=segment.pk)
    if not values:
        messages.error(request, "File: no emails or contact ids found.")
        return redirect("segments:detail", segment_id=segment.pk)
    added = _static_change(request, segment, values, add=True, source=ChangeReason.IMPORT)
    if added is not None:
        messages.success(request, f"Imported {len(values)} rows: {added} added to the list.")
    return redirect("segments:detail", segment_id=segment.pk)


def _csv_values(raw: bytes) -> list[str]:
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))[: IMPORT_MAX_ROWS + 1]
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0]]
    column = next(
        (header.index(name) for name in ("email", "id", "contact_id") if name in header), None
    )
    body = rows[1:] if column is not None else rows
    column = column or 0
    return [row[column].strip() for row in body if len(row) > column and row[column].strip()]


# --- contact page panel ----------------------------------------------------------------------------


@workspace_view(write=MARKETING)
def contact_lists(request: HttpRequest, contact_id: int) -> HttpResponse:
    """The contact's segments and lists, with add/remove for static lists.

    A fragment for the contact page: `hx-get` it into a card (GET), POST `list` + `op`."""
    contact = get_object_or_404(scoped(request, Contact), pk=contact_id)
    if request.method == "POST":
        segment = get_object_or_404(scoped(request, Segment), pk=request.POST.get("list") or 0)
        _static_change(request, segment, [str(contact.pk)], add=request.POST.get("op") != "remove")
    memberships = selectors.contact_memberships(workspace=request.workspace, contact=contact)  # type: ignore[attr-defined]
    member_of = {m.segment_id for m in memberships}
    context = {
        "contact": contact,
        "memberships": memberships,
        "addable": selectors.static_lists(workspace=request.workspace).exclude(pk__in=member_of),  # type: ignore[attr-defined]
        "can_edit": _can_edit(request),
    }
    return render(request, "segments/contact_lists.html", context)
