"""How each kind of event reads on a contact's timeline.

Events are one stream (integrations' calls and the platform's own signals); this module
turns one into a line a person can scan: an icon, a sentence, a link and a few details.
Unknown names fall back to "<name>" with their properties, so a new signal shows up
usefully before anyone teaches this module about it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contacts.models import Event

MAX_DETAILS = 8


@dataclass
class TimelineEntry:
    event: Event
    kind: str  # css modifier: page, track, identify, email, sms, segment, score, form, workflow …
    icon: str  # a short glyph
    title: str
    url: str = ""
    details: list[tuple[str, str]] = field(default_factory=list)


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _details(values: dict[str, Any], skip: set[str] = frozenset()) -> list[tuple[str, str]]:  # type: ignore[assignment]
    return [
        (key, _short(value))
        for key, value in values.items()
        if key not in skip and value not in (None, "", [], {})
    ][:MAX_DETAILS]


def _page(event: Event) -> TimelineEntry:
    props, page = (
        event.properties,
        event.context.get("page", {}) if isinstance(event.context, dict) else {},
    )
    url = props.get("url") or (page.get("url") if isinstance(page, dict) else "") or ""
    title = props.get("title") or event.name or props.get("path") or url or "a page"
    details = []
    referrer = props.get("referrer") or (page.get("referrer") if isinstance(page, dict) else "")
    if referrer:
        details.append(("referrer", _short(referrer)))
    campaign = event.context.get("campaign") if isinstance(event.context, dict) else None
    if isinstance(campaign, dict):
        details += [(f"utm_{k}", _short(v)) for k, v in campaign.items() if v][:4]
    verb = "Viewed screen" if event.type == "screen" else "Viewed"
    return TimelineEntry(
        event, "page", "◉", f"{verb} {_short(title, 80)}", url=str(url), details=details
    )


_EMAIL_VERBS = {
    "sent": "Was sent an email",
    "delivered": "Received an email",
    "opened": "Opened an email",
    "clicked": "Clicked a link in an email",
    "bounced": "An email bounced",
    "complained": "Marked an email as spam",
    "unsubscribed": "Unsubscribed from email",
}
_SMS_VERBS = {
    "sent": "Was sent a text",
    "delivered": "Received a text",
    "failed": "A text failed",
    "replied": "Replied to a text",
}


def _platform(event: Event) -> TimelineEntry | None:
    family, _, what = event.name.partition(".")
    props = event.properties if isinstance(event.properties, dict) else {}
    if family == "email" and what in _EMAIL_VERBS:
        subject = props.get("subject") or props.get("template_name") or ""
        title = _EMAIL_VERBS[what] + (f": “{_short(subject, 80)}”" if subject else "")
        return TimelineEntry(
            event,
            "email",
            "✉",
            title,
            url=str(props.get("url") or ""),
            details=_details(props, {"subject", "url"}),
        )
    if family == "sms" and what in _SMS_VERBS:
        return TimelineEntry(event, "sms", "✆", _SMS_VERBS[what], details=_details(props))
    if family == "segment" and what in ("entered", "exited"):
        name = props.get("segment_name") or props.get("name") or f"#{props.get('segment_id', '?')}"
        verb = "Entered" if what == "entered" else "Left"
        return TimelineEntry(
            event,
            "segment",
            "◈",
            f"{verb} segment {name}",
            details=_details(props, {"segment_name", "name"}),
        )
    if family == "score" and what == "changed":
        before, after = (
            props.get("from", props.get("old")),
            props.get("to", props.get("new", props.get("score"))),
        )
        title = (
            f"Score {before} → {after}"
            if before is not None and after is not None
            else "Score changed"
        )
        return TimelineEntry(
            event,
            "score",
            "★",
            title,
            details=_details(props, {"from", "to", "old", "new", "score"}),
        )
    if family == "lifecycle" and what == "changed":
        after = props.get("to") or props.get("stage") or "?"
        return TimelineEntry(
            event, "score", "⇡", f"Became {after}", details=_details(props, {"to", "stage"})
        )
    if family == "workflow" and what in ("entered", "exited"):
        name = props.get("workflow_name") or f"#{props.get('workflow_id', '?')}"
        verb = "Entered" if what == "entered" else "Left"
        return TimelineEntry(
            event,
            "workflow",
            "⇢",
            f"{verb} workflow {name}",
            details=_details(props, {"workflow_name"}),
        )
    if family == "form" and what == "submitted":
        name = props.get("form_name") or f"#{props.get('form_id', '?')}"
        fields = props.get("fields") if isinstance(props.get("fields"), dict) else {}
        return TimelineEntry(event, "form", "✎", f"Submitted form {name}", details=_details(fields))
    return None


def timeline_entry(event: Event) -> TimelineEntry:
    if event.type in ("page", "screen"):
        return _page(event)
    if event.type == "identify":
        traits = event.properties if isinstance(event.properties, dict) else {}
        title = "Identified" + (f" as {traits['email']}" if traits.get("email") else "")
        return TimelineEntry(event, "identify", "◎", title, details=_details(traits, {"email"}))
    if event.type == "alias":
        return TimelineEntry(
            event, "identify", "◎", "Linked an earlier identity", details=_details(event.properties)
        )
    if event.type == "group":
        return TimelineEntry(
            event, "identify", "◎", "Joined a group", details=_details(event.properties)
        )
    entry = _platform(event)
    if entry is not None:
        return entry
    return TimelineEntry(
        event, "track", "●", event.name or "Event", details=_details(event.properties)
    )
