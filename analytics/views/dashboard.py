"""The analytics dashboard: the workspace's funnel, channels, workflows and revenue."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from workspaces.scoping import workspace_view


@workspace_view
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "analytics/dashboard.html", {})
