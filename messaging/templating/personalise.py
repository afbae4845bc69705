"""Per-recipient work: build the context, render, rewrite links for click tracking, add the pixel.

Nothing here parses HTML or touches CSS: that was done once when the version was saved.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from commerce.selectors import recommendations_sample

from .sandbox import PRIVATE_SEGMENTS_KEY, compiled

HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.I | re.S)
BARE_URL = re.compile(r"https?://[^\s<>()\"']+")
BODY_END = re.compile(r"</body\s*>", re.I)


def contact_data(contact: Any) -> dict[str, Any]:
    """A contact as plain data (templates never see the model instance)."""
    return {
        "id": contact.pk,
        "email": contact.email,
        "phone": contact.phone,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "full_name": f"{contact.first_name} {contact.last_name}".strip(),
        "company": contact.company,
        "job_title": contact.job_title,
        "country": contact.country,
        "city": contact.city,
        "timezone": contact.timezone,
        "lifecycle_stage": contact.lifecycle_stage,
        "score": contact.score,
        "tags": list(contact.tags or []),
        "attributes": dict(contact.attributes or {}),
        "created_at": _iso(contact.created_at),
        "last_seen_at": _iso(contact.last_seen_at),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def build_context(
    *,
    contact: Mapping[str, Any],
    workspace: Mapping[str, Any],
    event: Mapping[str, Any] | None = None,
    message: Mapping[str, Any] | None = None,
    unsubscribe_url: str = "",
    preferences_url: str = "",
    segment_ids: frozenset[str] | set[str] = frozenset(),
    recommendations: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "contact": contact,
        "attributes": contact.get("attributes", {}),
        "event": dict(event or {}),
        "workspace": workspace,
        "message": dict(message or {}),
        "unsubscribe_url": unsubscribe_url,
        "preferences_url": preferences_url,
        PRIVATE_SEGMENTS_KEY: segment_ids,
        # commerce's products for this contact ({{ recommendations[0].name }}, the products
        # block): a list, or a sequence that loads on first use (previews)
        "recommendations": recommendations,
    }
    for key in ("email", "phone", "first_name", "last_name", "full_name", "company"):
        context[key] = contact.get(key, "")
    context["job_title"] = contact.get("job_title", "")
    context["city"] = contact.get("city", "")
    return context


def sample_context() -> dict[str, Any]:
    """A plausible recipient, for save-time checks and previews without a contact."""
    return build_context(
        contact={
            "id": 0,
            "email": "ada@example.com",
            "phone": "+15555550100",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "full_name": "Ada Lovelace",
            "company": "Analytical Engines",
            "job_title": "Engineer",
            "country": "GB",
            "city": "London",
            "timezone": "Europe/London",
            "lifecycle_stage": "lead",
            "score": 42,
            "tags": ["vip"],
            "attributes": {"plan": "pro"},
            "created_at": None,
            "last_seen_at": None,
        },
        workspace={"name": "Example workspace", "physical_address": "1 Example Street, London"},
        event={
            "name": "Cart Abandoned",
            "properties": {
                "cart_items": [{"name": "Widget", "price": 9.5, "quantity": 2}],
                "total": 19.0,
            },
            "timestamp": None,
        },
        message={"id": 0, "subject": "", "channel": "email"},
        unsubscribe_url="#unsubscribe",
        preferences_url="#preferences",
        recommendations=recommendations_sample(),
    )


@dataclass
class RenderedEmail:
    subject: str
    html: str
    text: str


def render_email(
    *, subject: str, compiled_html: str, compiled_text: str, context: Mapping[str, Any]
) -> RenderedEmail:
    return RenderedEmail(
        subject=" ".join(compiled(subject, html=False).render(context).split()),
        html=compiled(compiled_html, html=True).render(context),
        text=compiled(compiled_text, html=False).render(context),
    )


def render_text(source: str, context: Mapping[str, Any]) -> str:
    return compiled(source, html=False).render(context)


def _is_trackable(url: str, site: str) -> bool:
    return url.startswith(("http://", "https://")) and not url.startswith(f"{site}/m/")


def rewrite_html_links(html: str, *, site: str, wrap: Callable[[str], str]) -> str:
    """Point every http(s) link at the click tracker (our own /m/ links stay as they are)."""
    cache: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        url = html_lib.unescape(match.group(3).strip())
        if not _is_trackable(url, site):
            return match.group(0)
        if url not in cache:
            cache[url] = wrap(url)
        return f"{match.group(1)}{match.group(2)}{cache[url]}{match.group(2)}"

    return HREF.sub(replace, html)


def rewrite_text_links(text: str, *, site: str, wrap: Callable[[str], str]) -> str:
    def replace(match: re.Match[str]) -> str:
        url = match.group(0)
        return wrap(url) if _is_trackable(url, site) else url

    return BARE_URL.sub(replace, text)


def add_pixel(html: str, pixel_url: str) -> str:
    pixel = f'<img src="{pixel_url}" width="1" height="1" alt="" style="display:block;border:0">'
    ends = list(BODY_END.finditer(html))
    if not ends:
        return html + pixel
    at = ends[-1].start()
    return html[:at] + pixel + html[at:]


def with_utm(url: str, params: Mapping[str, str]) -> str:
    """Add UTM parameters a link does not already carry."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {key for key, _ in query}
    query += [(key, value) for key, value in params.items() if value and key not in present]
    return urlunsplit(parts._replace(query=urlencode(query)))
