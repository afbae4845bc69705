"""Public endpoints reached from inside an email: the open pixel, click redirects, one-click
unsubscribe, the preference centre and double opt-in confirmation.

No login and no workspace session here: each request is authenticated by a token signed
with the server's secret, and the token names the workspace and the object it is about.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotFound,
    HttpResponseRedirect,
)
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from contacts.models import ConsentStatus, Contact
from workspaces.client_ip import client_ip
from workspaces.scoping import public_view

from .. import tokens
from ..models import Message, Topic
from ..services import audience
from ..services.tracking import message_clicked, message_opened, short_link_target

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _token_workspace(read: Callable[[str], Any]) -> Callable[..., int | None]:
    """The workspace a signed token names, for @public_view(workspace=…): the view then runs
    in that workspace's scope (Row Level Security). None for a bad token."""

    def resolve(request: HttpRequest, token: str) -> int | None:
        try:
            ref = read(token)
        except tokens.BadToken:
            return None
        return (ref[0] if isinstance(ref, tuple) else ref).workspace_id

    return resolve


def _agent(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:200]


def _hit(request: HttpRequest) -> dict[str, str]:
    """What tells a person from a machine (messaging/machine.py): agent, address, method."""
    return {"user_agent": _agent(request), "ip": client_ip(request), "method": request.method or ""}


@public_view(
    "email open pixel: a signed token names the message",
    workspace=_token_workspace(tokens.open_token_read),
)
@never_cache
@require_http_methods(["GET", "HEAD"])
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    try:
        ref = tokens.open_token_read(token)
    except tokens.BadToken:
        ref = None
    if ref is not None:  # a HEAD is a machine's look (messaging/machine.py)
        message_opened(ref=ref, **_hit(request))
    # Always the image: a broken pixel would show in the reader's mail client.
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store, private"
    return response


@public_view(
    "click redirect: the signed token carries the message and the original URL",
    workspace=_token_workspace(tokens.click_token_read),
)
@never_cache
@require_http_methods(["GET", "HEAD"])
def click(request: HttpRequest, token: str) -> HttpResponse:
    try:
        ref, url = tokens.click_token_read(token)
    except tokens.BadToken:
        return HttpResponseBadRequest("This link is broken or was altered.")
    if urlsplit(url).scheme not in ("http", "https"):
        return HttpResponseBadRequest("This link is broken or was altered.")
    message_clicked(ref=ref, url=url, **_hit(request))
    return HttpResponseRedirect(url)


@public_view(
    "SMS short link: a signed token names the message and the link's position in it",
    workspace=_token_workspace(tokens.short_link_token_read),
)
@never_cache
@require_http_methods(["GET", "HEAD"])
def short_link(request: HttpRequest, token: str) -> HttpResponse:
    try:
        ref, index = tokens.short_link_token_read(token)
    except tokens.BadToken:
        return HttpResponseBadRequest("This link is broken or was altered.")
    url = short_link_target(ref, index)
    if url is None or urlsplit(url).scheme not in ("http", "https"):
        return HttpResponseNotFound("This link no longer exists.")
    message_clicked(ref=ref, url=url, **_hit(request))
    return HttpResponseRedirect(url)


def _contact_for(ref: tokens.ContactRef) -> Contact | None:
    return (
        Contact.objects.filter(workspace_id=ref.workspace_id, pk=ref.contact_id)
        .select_related("workspace")
        .first()
        if ref.contact_id
        else None
    )


@public_view(
    "one-click unsubscribe (RFC 8058): a signed token names the contact",
    workspace=_token_workspace(tokens.unsubscribe_token_read),
)
@csrf_exempt  # mail providers POST here without cookies; the signed token is the credential
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        ref = tokens.unsubscribe_token_read(token)
    except tokens.BadToken:
        return render(request, "messaging/public/link_invalid.html", status=400)
    contact = _contact_for(ref)
    if contact is None:
        return render(request, "messaging/public/unsubscribe_test.html")
    preferences = tokens.preferences_url(ref.workspace_id, contact.pk)
    if request.method == "GET":
        return render(
            request,
            "messaging/public/unsubscribe.html",
            {
                "contact": contact,
                "workspace": contact.workspace,
                "done": False,
                "preferences_url": preferences,
            },
        )
    message = (
        Message.objects.filter(workspace_id=ref.workspace_id, pk=ref.message_id).first()
        if ref.message_id
        else None
    )
    one_click = request.POST.get("List-Unsubscribe") == "One-Click"
    audience.contact_unsubscribe(
        workspace=contact.workspace,
        contact=contact,
        source="one_click" if one_click else "unsubscribe_link",
        message=message,
    )
    if one_click:
        return HttpResponse("Unsubscribed.", content_type="text/plain")
    return render(
        request,
        "messaging/public/unsubscribe.html",
        {
            "contact": contact,
            "workspace": contact.workspace,
            "done": True,
            "preferences_url": preferences,
        },
    )


@public_view(
    "preference centre: a signed token names the contact",
    workspace=_token_workspace(tokens.preferences_token_read),
)
@never_cache
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    try:
        ref = tokens.preferences_token_read(token)
    except tokens.BadToken:
        return render(request, "messaging/public/link_invalid.html", status=400)
    contact = _contact_for(ref)
    if contact is None:
        return render(request, "messaging/public/unsubscribe_test.html")
    workspace = contact.workspace
    topics = list(Topic.objects.filter(workspace=workspace).order_by("name"))
    saved = False
    if request.method == "POST":
        if request.POST.get("unsubscribe_all"):
            audience.contact_unsubscribe(workspace=workspace, contact=contact, source="preferences")
        else:
            wanted = [int(v) for v in request.POST.getlist("topics") if v.isdigit()]
            audience.topic_preferences_set(
                workspace=workspace,
                contact=contact,
                subscribed_topic_ids=wanted,
                source="preferences",
            )
            if contact.email_consent == ConsentStatus.UNSUBSCRIBED and wanted:
                audience.contact_resubscribe(
                    workspace=workspace, contact=contact, source="preferences"
                )
        contact.refresh_from_db()
        saved = True
    opted_out = audience.topic_opt_out_ids(workspace=workspace, contact=contact)
    return render(
        request,
        "messaging/public/preferences.html",
        {
            "contact": contact,
            "workspace": workspace,
            "topics": [(t, t.pk not in opted_out) for t in topics],
            "unsubscribed": contact.email_consent == ConsentStatus.UNSUBSCRIBED,
            "saved": saved,
        },
    )


@public_view(
    "double opt-in confirmation: a signed, expiring token names the contact",
    workspace=_token_workspace(tokens.confirm_token_read),
)
@never_cache
@require_http_methods(["GET"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        ref, source = tokens.confirm_token_read(token)
    except tokens.BadToken:
        return render(request, "messaging/public/link_invalid.html", status=400)
    contact = _contact_for(ref)
    if contact is None:
        return render(request, "messaging/public/link_invalid.html", status=400)
    audience.double_opt_in_confirm(workspace=contact.workspace, contact=contact, source=source)
    return render(
        request,
        "messaging/public/confirmed.html",
        {"contact": contact, "workspace": contact.workspace},
    )
