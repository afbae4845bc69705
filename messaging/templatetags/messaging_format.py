"""How message sources read on list and detail pages: `{{ template.subject|as_sent }}` shows a
subject as the sample recipient (Ada Lovelace) would read it, not its template code."""

from __future__ import annotations

from django import template

from ..templating.personalise import render_text, sample_context

register = template.Library()


@register.filter
def as_sent(source: str) -> str:
    """The subject (or any one-line source) rendered for the sample recipient; the source as
    written when it cannot be rendered (the editor names the error)."""
    if not source or ("{{" not in source and "{%" not in source):
        return source
    try:
        return " ".join(render_text(source, sample_context()).split())
    except Exception:  # noqa: BLE001 - a list page never fails for one template's error
        return source
