"""Contact pages: the list (search, filters, sorting, pages, CSV export), the profile with its
timeline, tags and edit form."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from contacts import selectors
from contacts.forms import ContactForm, TagForm
from contacts.models import Contact, LifecycleStage
from contacts.services import contacts as services
from workspaces.errors import TendrilError, ValidationFailed
from workspaces.export import csv_response
from workspaces.htmx import HtmxHttpRequest
from workspaces.roles import Capability
from workspaces.scoping import scoped, workspace_view

from .timeline import timeline_entry

PAGE_SIZE = 50
TIMELINE_PAGE = 30
EDIT = Capability.EDIT_CONTACTS

# Columns of the list a person can sort by: column → its sort key, first click's direction.
SORTABLE = {
    "name": "name",
    "company": "company",
    "score": "-score",
    "last_seen": "-last_seen_at",
    "updated": "-updated_at",
}


def _sort_links(current: str) -> dict[str, dict[str, str]]:
    """For each sortable column: the sort a click asks for, and the arrow to show now."""
    links = {}
    for column, first in SORTABLE.items():
        plain = first.lstrip("-")
        if current.lstrip("-") == plain:
            arrow = "↓" if current.startswith("-") else "↑"
            next_sort = plain if current.startswith("-") else f"-{plain}"
        else:
            arrow, next_sort = "", first
        links[column] = {"sort": next_sort, "arrow": arrow}
    return links


def _filters(request: HttpRequest) -> tuple[selectors.ContactFilters, str]:
    """Filters from the query string; a bad one is dropped with a message, not a 500."""
    params = request.GET.copy()
    # The UI sends one "attribute" text box and empty selects; drop empties.
    for key in list(params):
        if not any(v.strip() for v in params.getlist(key)):
            del params[key]
    try:
        return selectors.ContactFilters.from_params(params), ""
    except ValidationFailed as error:
        for field in error.fields:
            params.pop(field, None)
        return selectors.ContactFilters.from_params(params), error.message


def _can_edit(request: HttpRequest) -> bool:
    return request.membership.can(EDIT)  # type: ignore[attr-defined,no-any-return]


@workspace_view
def contact_list(request: HtmxHttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    filters, problem = _filters(request)
    paginator = Paginator(selectors.contact_list(workspace=workspace, filters=filters), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context: dict[str, Any] = {
        "page": page,
        "filters": filters,
        "problem": problem,
        "query": query.urlencode(),
        "sort_query": _without(query, "sort"),
        "sorts": _sort_links(filters.sort),
        "stages": LifecycleStage.choices,
        "can_edit": _can_edit(request),
        "can_delete": request.membership.can(Capability.DELETE_CONTACTS),  # type: ignore[attr-defined]
    }
    if request.htmx and request.htmx.target == "contact-results":
        return render(request, "contacts/list.html#results", context)
    context["tags"] = selectors.tag_list(workspace=workspace, limit=200)
    context["owners"] = selectors.owner_choices(workspace=workspace)
    return render(request, "contacts/list.html", context, status=400 if problem else 200)


def _without(query: Any, key: str) -> str:
    copy = query.copy()
    copy.pop(key, None)
    return str(copy.urlencode())


# --- Export ------------------------------------------------------------------------------


EXPORT_FIELDS = [
    "id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "country",
    "city",
    "timezone",
    "lifecycle_stage",
    "owner",
    "tags",
    "score",
    "email_consent",
    "sms_consent",
    "external_id",
    "created_at",
    "updated_at",
    "last_seen_at",
]


def _export_rows(contacts: Any, attribute_keys: list[str]) -> Iterator[list[Any]]:
    """One row per contact (cells made safe for a spreadsheet by workspaces.export)."""
    for contact in contacts.iterator(chunk_size=2000):
        row = []
        for name in EXPORT_FIELDS:
            if name == "owner":
                value: Any = contact.owner.email if contact.owner_id else ""
            elif name == "tags":
                value = ";".join(contact.tags)
            else:
                value = getattr(contact, name)
                if hasattr(value, "isoformat"):
                    value = value.isoformat()
            row.append(value)
        for key in attribute_keys:
            value = contact.attributes.get(key)
            if isinstance(value, list):
                value = ", ".join(str(v) for v in value)
            elif isinstance(value, bool):
                value = "true" if value else "false"
            row.append(value)
        yield row


@workspace_view
def contact_export(request: HttpRequest) -> StreamingHttpResponse:
    """The contacts the list shows (same filters and order), streamed as CSV."""
    workspace = request.workspace  # type: ignore[attr-defined]
    filters, _ = _filters(request)
    contacts = selectors.contact_list(workspace=workspace, filters=filters)
    keys = list(
        selectors.attribute_definition_list(workspace=workspace).values_list("key", flat=True)
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    return csv_response(
        _export_rows(contacts, keys), filename=f"contacts-{stamp}", header=EXPORT_FIELDS + keys
    )


# --- Profile -----------------------------------------------------------------------------


def _contact(request: HttpRequest, contact_id: int) -> Contact:
    return get_object_or_404(scoped(request, Contact).select_related("owner"), pk=contact_id)


def _timeline_context(request: HttpRequest, contact: Contact) -> dict[str, Any]:
    try:
        page = selectors.contact_timeline(
            workspace=request.workspace,  # type: ignore[attr-defined]
            contact=contact,
            before=request.GET.get("before") or None,
            limit=TIMELINE_PAGE,
        )
    except ValidationFailed:
        page = selectors.TimelinePage(events=[], next_before=None)
    return {"entries": [timeline_entry(e) for e in page.events], "next_before": page.next_before}


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


@workspace_view
def contact_detail(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = _contact(request, contact_id)
    definitions = {
        d.key: d
        for d in selectors.attribute_definition_list(workspace=request.workspace)  # type: ignore[attr-defined]
    }
    attributes = [
        (
            definitions[key].label if key in definitions and definitions[key].label else key,
            _shown(value),
        )
        for key, value in sorted(contact.attributes.items())
    ]
    context = {
        "contact": contact,
        "attributes": attributes,
        "can_edit": _can_edit(request),
        "can_delete": request.membership.can(Capability.DELETE_CONTACTS),  # type: ignore[attr-defined]
        "tag_form": TagForm(),
        **_timeline_context(request, contact),
    }
    return render(request, "contacts/detail.html", context)


@workspace_view
def contact_timeline(request: HttpRequest, contact_id: int) -> HttpResponse:
    """The next page of the timeline ("Load more"), as the partial htmx appends."""
    contact = _contact(request, contact_id)
    context = {"contact": contact, **_timeline_context(request, contact)}
    return render(request, "contacts/detail.html#timeline-page", context)


@workspace_view(write=EDIT)
@require_POST
def contact_tag_add(request: HtmxHttpRequest, contact_id: int) -> HttpResponse:
    contact = _contact(request, contact_id)
    form = TagForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            contact = services.contact_tags_add(
                workspace=request.workspace,  # type: ignore[attr-defined]
                contact=contact,
                tags=[form.cleaned_data["tag"]],
            )
        except TendrilError as problem:
            error = problem.message
    else:
        error = "Type a tag (at most 100 characters)."
    return _tags_response(request, contact, error)


@workspace_view(write=EDIT)
@require_POST
def contact_tag_remove(request: HtmxHttpRequest, contact_id: int) -> HttpResponse:
    contact = _contact(request, contact_id)
    form = TagForm(request.POST)
    if form.is_valid():  # an empty or overlong tag is on no contact: nothing to remove
        contact = services.contact_tags_remove(
            workspace=request.workspace,  # type: ignore[attr-defined]
            contact=contact,
            tags=[form.cleaned_data["tag"]],
        )
    return _tags_response(request, contact, "")


def _tags_response(request: HtmxHttpRequest, contact: Contact, error: str) -> HttpResponse:
    if request.htmx:
        context = {"contact": contact, "can_edit": True, "tag_form": TagForm(), "tag_error": error}
        return render(request, "contacts/detail.html#tags", context, status=400 if error else 200)
    if error:
        messages.error(request, error)
    return redirect("contacts:detail", contact_id=contact.pk)


def _contact_form(request: HttpRequest, contact: Contact | None) -> ContactForm:
    workspace = request.workspace  # type: ignore[attr-defined]
    definitions = list(selectors.attribute_definition_list(workspace=workspace)[:60])
    initial = ContactForm.initial_for(contact) if contact else {"lifecycle_stage": "subscriber"}
    return ContactForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        owners=selectors.owner_choices(workspace=workspace),
        attributes=definitions,
    )


def _save_contact(
    request: HttpRequest, form: ContactForm, contact: Contact | None
) -> Contact | None:
    workspace = request.workspace  # type: ignore[attr-defined]
    try:
        if contact is None:
            return services.contact_create(
                workspace=workspace, data=form.changes(None), source="ui"
            )
        updated, _ = services.contact_update(
            workspace=workspace, contact=contact, data=form.changes(contact), source="ui"
        )
        return updated
    except TendrilError as error:
        form.add_service_errors(error)
        return None


def _contact_form_page(request: HttpRequest, contact: Contact | None) -> HttpResponse:
    form = _contact_form(request, contact)
    if request.method == "POST" and form.is_valid():
        saved = _save_contact(request, form, contact)
        if saved is not None:
            verb = "Saved" if contact else "Added"
            messages.success(request, f"{verb} {saved.display_name}.")
            return redirect("contacts:detail", contact_id=saved.pk)
    status = 400 if form.errors else 200
    return render(request, "contacts/edit.html", {"form": form, "contact": contact}, status=status)


@workspace_view(read=EDIT, write=EDIT)
def contact_edit(request: HttpRequest, contact_id: int) -> HttpResponse:
    return _contact_form_page(request, _contact(request, contact_id))


@workspace_view(read=EDIT, write=EDIT)
def contact_create(request: HttpRequest) -> HttpResponse:
    return _contact_form_page(request, None)


@workspace_view(write=Capability.DELETE_CONTACTS)
@require_POST
def contact_delete(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = _contact(request, contact_id)
    name = contact.display_name
    services.contact_delete(workspace=request.workspace, contact=contact)  # type: ignore[attr-defined]
    messages.success(request, f"Deleted {name} and their activity.")
    return redirect("contacts:list")
