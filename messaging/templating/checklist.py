"""The pre-send checklist: pure rules over an email's parts (no database, no network).

Each rule gives `Check`s with a key (subject, preheader, links, images, footer, size, spam), a
severity (an error should stop a send, a warning is advice) and, when the email is a block
document, the id of the block to fix. Links are judged by their form only: no request is ever
made from the server. The spam score itself is measured elsewhere (templating.spam); here it
is only judged against the threshold.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from .checks import check_source, footer_problems
from .spam import SpamResult

GMAIL_CLIP_BYTES = 102 * 1024  # Gmail shows "[Message clipped]" past 102 KB of HTML
SIZE_WARNING_BYTES = 90 * 1024  # tracking links add to the size at send time
MERGE_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.I)
SUBJECT_LONG = 100
PREHEADER_SHORT = 20
SAFE_SCHEMES = ("mailto:", "tel:")


@dataclass(frozen=True)
class Check:
    key: str
    ok: bool
    severity: str  # "error" | "warning"
    message: str
    block_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "key": self.key,
            "ok": self.ok,
            "severity": self.severity,
            "message": self.message,
        }
        if self.block_id is not None:
            found["block_id"] = self.block_id
        return found


@dataclass(frozen=True)
class Link:
    href: str
    block_id: str | None = None
    text: str = ""


@dataclass(frozen=True)
class Image:
    src: str
    alt: str
    block_id: str | None = None


def _passed(key: str, message: str) -> Check:
    return Check(key, True, "error", message)


# --- Subject and preheader --------------------------------------------------------------------


def subject_checks(subject: str) -> list[Check]:
    text = subject.strip()
    if not text:
        return [Check("subject", False, "error", "The subject is empty.")]
    if len(text) > SUBJECT_LONG:
        return [
            Check(
                "subject",
                False,
                "warning",
                f"The subject is {len(text)} characters long: inboxes cut it near 60–100.",
            )
        ]
    return [_passed("subject", "The subject is set.")]


def preheader_checks(preheader: str) -> list[Check]:
    text = preheader.strip()
    if not text:
        return [
            Check(
                "preheader",
                False,
                "error",
                "The preheader is empty: inboxes show the first words of the body instead.",
            )
        ]
    if len(text) < PREHEADER_SHORT:
        return [
            Check(
                "preheader",
                False,
                "warning",
                f"The preheader is short ({len(text)} characters): inboxes fill the rest "
                "with the first words of the body.",
            )
        ]
    return [_passed("preheader", "The preheader is set.")]


# --- Links and images -------------------------------------------------------------------------


class _Collector(HTMLParser):
    def __init__(self, block_id: str | None):
        super().__init__(convert_charrefs=True)
        self.block_id = block_id
        self.links: list[Link] = []
        self.images: list[Image] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "a" and "href" in found:
            self.links.append(Link(found["href"], self.block_id))
        elif tag == "a":
            self.links.append(Link("", self.block_id))
        elif tag == "img":
            self.images.append(Image(found.get("src", ""), found.get("alt", ""), self.block_id))


def html_parts(html: str, block_id: str | None = None) -> tuple[list[Link], list[Image]]:
    """The links and images of an HTML fragment (merge tags are left as written)."""
    collector = _Collector(block_id)
    collector.feed(html)
    collector.close()
    return collector.links, collector.images


def _blocks(blocks: Any) -> Iterator[dict[str, Any]]:
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict):
            continue
        yield block
        if block.get("type") == "columns":
            for column in block.get("columns") or []:
                if isinstance(column, dict):
                    yield from _blocks(column.get("blocks"))


def document_parts(
    document: dict[str, Any], *, base_url: str = ""
) -> tuple[list[Link], list[Image]]:
    """The links and images of a block document, each with the id of its block. An image
    block's site-relative address ("/media/…", an upload) is made absolute with `base_url`,
    as the compiler does."""
    links: list[Link] = []
    images: list[Image] = []
    for block in _blocks(document.get("blocks")):
        kind, block_id = block.get("type"), str(block.get("id") or "") or None
        if kind in ("text", "html"):
            found_links, found_images = html_parts(str(block.get("html") or ""), block_id)
            links += found_links
            images += found_images
        elif kind == "image":
            src = str(block.get("src") or "")
            if base_url and src.startswith("/") and not src.startswith("//"):
                src = base_url.rstrip("/") + src
            images.append(Image(src, str(block.get("alt") or ""), block_id))
            if block.get("href"):
                links.append(Link(str(block["href"]), block_id))
        elif kind == "button":
            links.append(Link(str(block.get("href") or ""), block_id, str(block.get("text") or "")))
        elif kind == "social":
            for item in block.get("links") or []:
                if isinstance(item, dict):
                    links.append(Link(str(item.get("href") or ""), block_id))
    return links, images


BLOCK_PATH = re.compile(r"^blocks\[(\d+)\](?:\.columns\[(\d+)\]\.blocks\[(\d+)\])?")


def block_at(document: dict[str, Any], path: str) -> str | None:
    """The id of the block a JSON path ("blocks[2].alt", "blocks[1].columns[0].blocks[3]…")
    points into, or None."""
    found = BLOCK_PATH.match(path)
    if found is None:
        return None
    top, column, inner = found.groups()
    try:
        block = document["blocks"][int(top)]
        if column is not None:
            block = block["columns"][int(column)]["blocks"][int(inner)]
    except (KeyError, IndexError, TypeError):
        return None
    return str(block.get("id") or "") or None if isinstance(block, dict) else None


def _problem_key(path: str) -> str:
    leaf = path.rsplit(".", 1)[-1]
    if leaf in ("alt", "src"):
        return "images"
    if leaf == "href" or ".links[" in path:
        return "links"
    return "document"


def document_problem_checks(document: dict[str, Any], errors: dict[str, str]) -> list[Check]:
    """A block document's own problems ({json path: message}) as failing checks on their
    block (an image without alt text is an "images" check, a bad link a "links" one)."""
    return [
        Check(_problem_key(path), False, "error", f"{path}: {message}", block_at(document, path))
        for path, message in errors.items()
    ]


def merged(first: list[Check], checks: list[Check]) -> list[Check]:
    """`first` (a document's own problems) then `checks`, leaving out a check on a block
    that `first` already reports under the same key, and a passing check of a key that
    `first` fails."""
    reported = {(check.key, check.block_id) for check in first}
    failing_keys = {check.key for check in first}
    kept = [
        check
        for check in checks
        if (check.key, check.block_id) not in reported
        and not (check.ok and check.key in failing_keys)
    ]
    return [*first, *kept]


def url_problem(value: str) -> str | None:
    """Why a link or image address cannot be followed from an inbox, or None."""
    address = value.strip()
    if not address:
        return "has no address"
    if MERGE_TAG.search(address):
        return None  # a merge tag ({{ unsubscribe_url }}, {{ attributes.url }}) is filled per recipient
    if address.lower().startswith(SAFE_SCHEMES):
        return None if len(address) > 7 else "has an empty address"
    if any(c.isspace() for c in address):
        return f"“{address[:80]}” contains spaces"
    try:
        parts = urlsplit(address)
        host = parts.hostname or ""
    except ValueError:
        return f"“{address[:80]}” is not a valid URL"
    if parts.scheme not in ("http", "https"):
        return f"“{address[:80]}” is not an absolute http(s) URL"
    labels = host.split(".")
    if len(labels) < 2 or not all(HOST_LABEL.match(label) for label in labels):
        return f"“{address[:80]}” has no valid host name"
    return None


def link_checks(links: Iterable[Link]) -> list[Check]:
    found = []
    for link in links:
        problem = url_problem(link.href)
        if problem is not None:
            name = f"The link “{link.text}”" if link.text else "A link"
            found.append(Check("links", False, "error", f"{name} {problem}.", link.block_id))
    return found or [_passed("links", "Every link is an absolute URL.")]


def image_checks(images: Iterable[Image]) -> list[Check]:
    found = []
    for image in images:
        if not image.alt.strip():
            found.append(
                Check(
                    "images",
                    False,
                    "error",
                    "An image has no alt text (shown when images are off, read by screen readers).",
                    image.block_id,
                )
            )
        problem = url_problem(image.src)
        if problem is not None:
            found.append(Check("images", False, "error", f"An image {problem}.", image.block_id))
    return found or [_passed("images", "Every image has alt text and an absolute address.")]


# --- Footer, size, spam -----------------------------------------------------------------------


def footer_checks(html_source: str) -> list[Check]:
    """The compliance footer: the unsubscribe link and the postal address (the save check's rule)."""
    result = check_source(html_source, field_name="html", html=True)
    if not result.ok:
        return [Check("footer", False, "error", f"The HTML cannot be read: {result.problems[0]}")]
    problems = footer_problems(result, field_name="html", what="The email")
    if problems:
        return [Check("footer", False, "error", f"{problems[0]}.")]
    return [_passed("footer", "The footer has the unsubscribe link and the postal address.")]


def size_checks(html: str) -> list[Check]:
    size = len(html.encode("utf-8"))
    kb = f"{size / 1024:.1f} KB"
    if size > GMAIL_CLIP_BYTES:
        return [Check("size", False, "error", f"The HTML is {kb}: Gmail clips emails over 102 KB.")]
    if size > SIZE_WARNING_BYTES:
        return [
            Check(
                "size",
                False,
                "warning",
                f"The HTML is {kb}, near Gmail's 102 KB clipping limit (tracked links add more).",
            )
        ]
    return [_passed("size", f"The HTML is {kb}, under Gmail's 102 KB clipping limit.")]


def spam_checks(result: SpamResult, threshold: float) -> list[Check]:
    if not result.available or result.score is None:
        return [Check("spam", False, "warning", result.problem or "spam check unavailable")]
    if result.score >= threshold:
        return [
            Check(
                "spam",
                False,
                "error",
                f"Spam score {result.score:g} reaches the threshold {threshold:g}: "
                "see the rules that fired.",
            )
        ]
    if result.score >= threshold / 2:
        return [
            Check(
                "spam",
                False,
                "warning",
                f"Spam score {result.score:g} is over half the threshold {threshold:g}.",
            )
        ]
    return [_passed("spam", f"Spam score {result.score:g} (threshold {threshold:g}).")]


def run(
    *,
    subject: str,
    preheader: str,
    html_source: str,
    rendered_html: str,
    document: dict[str, Any] | None = None,
    spam: SpamResult | None = None,
    spam_threshold: float = 5.0,
    base_url: str = "",
) -> list[Check]:
    """Every rule, in the order the checklist shows them. `html_source` is the compiled
    Jinja HTML (merge tags as written), `rendered_html` what a recipient receives."""
    if document is not None:
        links, images = document_parts(document, base_url=base_url)
    else:
        links, images = html_parts(html_source)
    checks = [
        *subject_checks(subject),
        *preheader_checks(preheader),
        *link_checks(links),
        *image_checks(images),
        *footer_checks(html_source),
        *size_checks(rendered_html),
    ]
    if spam is not None:
        checks += spam_checks(spam, spam_threshold)
    return checks
