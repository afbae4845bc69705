"""Privacy requests: find a contact, download their data as JSON, erase them.

The contacts UI can link here: /messaging/privacy/<contact id>/ (name "messaging:privacy_contact").
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from contacts.models import Contact
from workspaces.roles import Capability
from workspaces.scoping import scoped, workspace_view

from ..forms import EraseConfirmForm
from ..privacy import contact_erase, contact_export
from .common import page

# Exporting or erasing a person is a data-protection act: contacts editors and up.
EDIT_CONTACTS = Capability.EDIT_CONTACTS


@workspace_view(read=EDIT_CONTACTS)
def privacy(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    found = []
    if query:
        contacts = scoped(request, Contact)
        found = list(
            (
                contacts.filter(pk=int(query))
                if query.isdigit()
                else contacts.filter(email__icontains=query.lower()) | contacts.filter(phone=query)
            ).order_by("email")[:25]
        )
    return page(request, "messaging/privacy.html", {"q": query, "found": found}, tab="privacy")


@workspace_view(read=EDIT_CONTACTS)
def privacy_contact(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(scoped(request, Contact), pk=pk)
    form = EraseConfirmForm(expected=_erase_word(contact))
    context = {"contact": contact, "form": form}
    return page(request, "messaging/privacy_contact.html", context, tab="privacy")


def _erase_word(contact: Contact) -> str:
    """What erasing this contact asks to be typed: their email address, or their id."""
    return contact.email or str(contact.pk)


@workspace_view(read=EDIT_CONTACTS)
def privacy_export(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(scoped(request, Contact), pk=pk)
    data = contact_export(workspace=request.workspace, contact=contact)  # type: ignore[attr-defined]
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}.json"'
    return response


@workspace_view(read=EDIT_CONTACTS, write=EDIT_CONTACTS)
@require_POST
def privacy_erase(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(scoped(request, Contact), pk=pk)
    form = EraseConfirmForm(request.POST, expected=_erase_word(contact))
    if not form.is_valid():
        context = {"contact": contact, "form": form}
        return page(request, "messaging/privacy_contact.html", context, tab="privacy", status=400)
    report = contact_erase(
        workspace=request.workspace,  # type: ignore[attr-defined]
        contact=contact,
        actor=request.user,  # type: ignore[arg-type]
    )
    messages.success(
        request,
        f"Erased: {report.events} events and {report.messages} messages deleted; "
        f"{report.suppressions_kept} suppression(s) kept as a hash.",
    )
    return redirect("messaging:privacy")
