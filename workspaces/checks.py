"""The isolation meta-check: every routed view must be behind the scoping layer.

A view passes when it is
- an HTML view decorated with @workspace_view, @login_only_view or @public_view(reason), or
- a DRF view whose class derives from workspaces.api.base.WorkspaceAPIView, or whose class
  says `tendril_scope = "public"` (with `tendril_public_reason`).
Third-party views we route (static docs, schema) are listed in ALLOWED_THIRD_PARTY.
It runs as a Django system check (so `manage.py check` and every test run fail) and is
called directly by the test suite.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core import checks
from django.urls import URLPattern, URLResolver, get_resolver

from .scoping import SCOPE_ATTR

SCOPES = {"workspace", "user", "public"}

# Views from libraries, routed deliberately and holding no tenant data.
ALLOWED_THIRD_PARTY = {
    "django.views.static.serve",
    "django.contrib.staticfiles.views.serve",
}


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def view_scope(callback: Any) -> str | None:
    for holder in (callback, getattr(callback, "cls", None), getattr(callback, "view_class", None)):
        if holder is None:
            continue
        scope = getattr(holder, SCOPE_ATTR, None)
        if scope in SCOPES:
            return str(scope)
    return None


def unscoped_views(urlconf: str | None = None) -> list[str]:
    """Routes whose view is in no scope, as 'route -> module.view'."""
    found = []
    for route, callback in _walk(get_resolver(urlconf).url_patterns):
        target = getattr(callback, "cls", None) or getattr(callback, "view_class", None) or callback
        name = f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', target)}"
        if name in ALLOWED_THIRD_PARTY or view_scope(callback):
            continue
        found.append(f"{route or '/'} -> {name}")
    return found


@checks.register(checks.Tags.security)
def check_every_view_is_scoped(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return [
        checks.Error(
            f"Unscoped view: {entry}",
            hint="Decorate it with @workspace_view / @public_view(reason) or derive from "
            "workspaces.api.base.WorkspaceAPIView.",
            id="tendril.E001",
        )
        for entry in unscoped_views()
    ]
