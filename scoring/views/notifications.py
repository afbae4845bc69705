"""The notification feed and the bell (in-app notifications about leads and tasks)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from scoring import selectors, services
from scoring.forms import NotificationsReadForm
from workspaces.htmx import HtmxHttpRequest
from workspaces.roles import Capability
from workspaces.scoping import workspace_view


def _feed(request: HttpRequest, template: str) -> HttpResponse:
    items = selectors.notifications_for(workspace=request.workspace, user=request.user, limit=100)  # type: ignore[attr-defined,arg-type]
    return render(request, template, {"items": items})


@workspace_view
def notification_list(request: HttpRequest) -> HttpResponse:
    return _feed(request, "scoring/notifications.html")


@workspace_view
def notification_bell(request: HttpRequest) -> HttpResponse:
    return render(request, "scoring/_bell.html")


# Marking one's own notifications read is open to every member (viewers get them too).
@workspace_view(write=Capability.VIEW)
@require_POST
def notification_read(request: HtmxHttpRequest) -> HttpResponse:
    form = NotificationsReadForm(request.POST)
    form.is_valid()  # never invalid: what is not an id is left out
    ids = form.cleaned_data["id"] or None  # none given: all of them
    services.notifications_mark_read(workspace=request.workspace, user=request.user, ids=ids)  # type: ignore[attr-defined,arg-type]
    if request.htmx:  # "Mark all read" swaps the feed in place: the feed partial, not the page
        return _feed(request, "scoring/notifications.html#feed")
    return redirect("scoring:notifications")
