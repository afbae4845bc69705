"""The block document (version 1): its shape, checked block by block.

Every problem is keyed by the JSON path of what is wrong ("blocks[2].alt") and says, in words,
which block and what ("the image needs alt text"), so the editor can put it next to the block.
Checking is pure (no database): conditions are checked by the caller against the workspace
(segments' filter language), merge tags by the template checks (messaging/templating/checks.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

VERSION = 1
MAX_DOCUMENT_BYTES = 512 * 1024  # the JSON; far above any email (Gmail clips at 102 KB)
MAX_BLOCKS = 300  # all blocks, columns' inner blocks included
MAX_TEXT = 100_000  # one text or HTML field
MAX_DYNAMIC = 30  # blocks with a condition: each is one query per send batch
WIDTH_RANGE = (320, 800)

BLOCK_TYPES = (
    "heading",
    "text",
    "image",
    "button",
    "columns",
    "divider",
    "spacer",
    "social",
    "html",
    "footer",
    "products",
)
NETWORKS = ("facebook", "x", "instagram", "linkedin", "youtube", "tiktok", "website")
ALIGNS = ("left", "center", "right")
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
BLOCK_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
JINJA_START = ("{{", "{%")
LINK_SCHEMES = ("http://", "https://", "mailto:", "tel:")
STYLE_KEYS = {"padding", "align", "background", "color", "font_size"}
COMMON_KEYS = {"id", "type", "style", "condition"}
FIELDS: dict[str, set[str]] = {
    "heading": {"text", "level"},
    "text": {"html"},
    "image": {"src", "asset_id", "alt", "href", "width"},
    "button": {"text", "href", "button_color", "text_color"},
    "columns": {"columns"},
    "divider": {"color", "thickness"},
    "spacer": {"height"},
    "social": {"links"},
    "html": {"html"},
    "footer": {"text"},
    "products": {"title", "count", "per_row", "button_text"},
}
MAX_PRODUCTS = 12  # the products block: recommendations shown, at most
WHAT = {
    "heading": "the heading",
    "text": "the text block",
    "image": "the image",
    "button": "the button",
    "columns": "the columns block",
    "divider": "the divider",
    "spacer": "the spacer",
    "social": "the social links",
    "html": "the HTML block",
    "footer": "the footer",
    "products": "the products block",
}


@dataclass(frozen=True)
class Located:
    """A block and where it is: `path` ("blocks[1].columns[0].blocks[2]")."""

    path: str
    block: dict[str, Any]
    top_level: bool


def walk(document: Any) -> Iterator[Located]:
    """Every block that is a dict, in document order (columns' inner blocks after their block)."""
    blocks = document.get("blocks") if isinstance(document, dict) else None
    if not isinstance(blocks, list):
        return
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        path = f"blocks[{index}]"
        yield Located(path, block, True)
        yield from _inner(path, block)


def _inner(path: str, block: dict[str, Any]) -> Iterator[Located]:
    if block.get("type") != "columns" or not isinstance(block.get("columns"), list):
        return
    for c, column in enumerate(block["columns"]):
        inner = column.get("blocks") if isinstance(column, dict) else None
        if not isinstance(inner, list):
            continue
        for i, child in enumerate(inner):
            if isinstance(child, dict):
                yield Located(f"{path}.columns[{c}].blocks[{i}]", child, False)


def content_width(document: Any) -> int:
    settings = document.get("settings") if isinstance(document, dict) else None
    width = settings.get("width") if isinstance(settings, dict) else None
    if _int_in(width, *WIDTH_RANGE):
        return int(width)
    return 600


def validate(document: Any) -> dict[str, str]:
    """Everything wrong with the document's shape: {path: message}; empty when it is fine."""
    errors: dict[str, str] = {}
    if not isinstance(document, dict):
        return {"document": "the document must be a JSON object with a list of blocks"}
    try:
        size = len(json.dumps(document, ensure_ascii=False).encode())
    except (TypeError, ValueError):
        return {"document": "the document is not plain JSON"}
    if size > MAX_DOCUMENT_BYTES:
        return {"document": f"the document is {size:,} bytes; the limit is {MAX_DOCUMENT_BYTES:,}"}
    if document.get("version", VERSION) != VERSION:
        errors["version"] = f"unknown document version (this server reads version {VERSION})"
    for key in set(document) - {"version", "settings", "blocks"}:
        errors[key] = f"unknown key '{key}'"
    settings = document.get("settings", {})
    if not isinstance(settings, dict):
        errors["settings"] = "settings must be an object"
    elif "width" in settings and not _int_in(settings["width"], *WIDTH_RANGE):
        errors["settings.width"] = (
            f"the email width must be a whole number of pixels from {WIDTH_RANGE[0]} "
            f"to {WIDTH_RANGE[1]}"
        )
    blocks = document.get("blocks")
    if not isinstance(blocks, list):
        errors["blocks"] = "blocks must be a list"
        return errors
    if not blocks:
        errors["blocks"] = "the email has no blocks"
        return errors
    located = list(walk(document))
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            errors[f"blocks[{index}]"] = "a block must be an object with an id and a type"
    if len(located) > MAX_BLOCKS:
        errors["blocks"] = f"{len(located)} blocks; the limit is {MAX_BLOCKS}"
        return errors
    width = content_width(document)
    seen: dict[str, str] = {}
    footers = 0
    dynamic = 0
    for item in located:
        _check_block(item, width, errors)
        block_id = item.block.get("id")
        if isinstance(block_id, str) and BLOCK_ID.match(block_id):
            if block_id in seen:
                errors[f"{item.path}.id"] = (
                    f"the id '{block_id}' is already used by {seen[block_id]}"
                )
            else:
                seen[block_id] = item.path
        footers += item.block.get("type") == "footer"
        dynamic += "condition" in item.block and item.top_level
    if footers != 1:
        errors.setdefault(
            "blocks",
            "the email needs exactly one footer block (postal address, unsubscribe and "
            f"preferences links); it has {footers}",
        )
    if dynamic > MAX_DYNAMIC:
        errors.setdefault("blocks", f"{dynamic} dynamic blocks; the limit is {MAX_DYNAMIC}")
    return errors


def _check_block(item: Located, width: int, errors: dict[str, str]) -> None:
    block, path = item.block, item.path
    kind = block.get("type")
    if kind not in BLOCK_TYPES:
        errors[f"{path}.type"] = (
            f"unknown block type {json.dumps(kind)[:40]}; one of {', '.join(BLOCK_TYPES)}"
        )
        return
    what = WHAT[kind]

    def bad(key: str, message: str) -> None:
        errors.setdefault(f"{path}.{key}" if key else path, f"{what}: {message}")

    block_id = block.get("id")
    if not isinstance(block_id, str) or not BLOCK_ID.match(block_id):
        bad("id", "needs an id of 1 to 40 letters, digits, '-' or '_'")
    for key in set(block) - COMMON_KEYS - FIELDS[kind]:
        bad(key, f"has an unknown field '{key}'")
    if "condition" in block:
        if not item.top_level:
            bad("condition", "only a top-level block can be dynamic (not one inside columns)")
        elif kind == "footer":
            bad("condition", "the footer is shown to everyone; it cannot have a condition")
        elif not isinstance(block["condition"], dict):
            bad("condition", "the condition must be a filter (an object)")
    if not item.top_level and kind in ("columns", "footer"):
        bad("type", f"a {kind} block cannot be inside columns")
    _check_style(block.get("style"), path, what, errors)
    CHECKS[kind](block, width, bad)


def _check_style(style: Any, path: str, what: str, errors: dict[str, str]) -> None:
    if style is None:
        return
    if not isinstance(style, dict):
        errors[f"{path}.style"] = f"{what}: style must be an object"
        return
    for key in set(style) - STYLE_KEYS:
        errors[f"{path}.style.{key}"] = f"{what}: unknown style '{key}'"
    padding = style.get("padding")
    if padding is not None and not (
        isinstance(padding, list) and len(padding) == 4 and all(_int_in(p, 0, 80) for p in padding)
    ):
        errors[f"{path}.style.padding"] = (
            f"{what}: padding is [top, right, bottom, left], each 0 to 80 pixels"
        )
    if "align" in style and style["align"] not in ALIGNS:
        errors[f"{path}.style.align"] = f"{what}: align is left, center or right"
    for key in ("background", "color"):
        if key in style and not _color(style[key]):
            errors[f"{path}.style.{key}"] = f"{what}: {key} must be a colour like #1a2b3c"
    if "font_size" in style and not _int_in(style["font_size"], 10, 48):
        errors[f"{path}.style.font_size"] = f"{what}: the font size is 10 to 48 pixels"


def _int_in(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _color(value: Any) -> bool:
    return isinstance(value, str) and bool(COLOR.match(value))


def _text(value: Any, *, required: bool) -> str | None:
    """None when fine, else what is wrong with a text field."""
    if value is None or value == "":
        return "is empty" if required else None
    if not isinstance(value, str):
        return "must be text"
    if required and not value.strip():
        return "is empty"
    if len(value) > MAX_TEXT:
        return f"is longer than {MAX_TEXT:,} characters"
    return None


def link_problem(value: Any, *, required: bool) -> str | None:
    problem = _text(value, required=required)
    if problem or not value:
        return problem
    href = value.strip()
    if href.startswith(JINJA_START) or href.lower().startswith(LINK_SCHEMES):
        return None
    return "must be a full link starting with https:// (or mailto:, tel:, or a merge tag)"


def _heading(block: dict[str, Any], width: int, bad: Any) -> None:
    if problem := _text(block.get("text"), required=True):
        bad("text", f"the text {problem}")
    if block.get("level", 1) not in (1, 2, 3):
        bad("level", "the level is 1, 2 or 3")


def _rich(block: dict[str, Any], width: int, bad: Any) -> None:
    if problem := _text(block.get("html"), required=True):
        bad("html", f"the content {problem}")


def _image(block: dict[str, Any], width: int, bad: Any) -> None:
    src = block.get("src")
    if problem := _text(src, required=True):
        bad("src", f"the image address {problem}")
    elif not (src.startswith(("https://", "http://", "/")) or src.startswith(JINJA_START)):
        bad("src", "the image address must start with https:// (or be an uploaded image)")
    alt = block.get("alt")
    if not isinstance(alt, str) or not alt.strip():
        bad("alt", "an image needs alt text (what it shows, for screen readers and blocked images)")
    elif len(alt) > 300:
        bad("alt", "the alt text is longer than 300 characters")
    if block.get("href") not in (None, "") and (
        problem := link_problem(block["href"], required=False)
    ):
        bad("href", f"the link {problem}")
    if "width" in block and block["width"] is not None and not _int_in(block["width"], 16, width):
        bad("width", f"the width is 16 to {width} pixels (the email's content width)")
    if (
        "asset_id" in block
        and block["asset_id"] is not None
        and not _int_in(block["asset_id"], 1, 2**62)
    ):
        bad("asset_id", "asset_id must be an uploaded image's id")


def _button(block: dict[str, Any], width: int, bad: Any) -> None:
    if problem := _text(block.get("text"), required=True):
        bad("text", f"the label {problem}")
    if problem := link_problem(block.get("href"), required=True):
        bad("href", f"the link {problem}")
    for key in ("button_color", "text_color"):
        if block.get(key) is not None and not _color(block[key]):
            bad(key, f"{key.replace('_', ' ')} must be a colour like #1a2b3c")


def _columns(block: dict[str, Any], width: int, bad: Any) -> None:
    columns = block.get("columns")
    if not isinstance(columns, list) or len(columns) not in (2, 3):
        bad("columns", "has 2 or 3 columns")
        return
    for index, column in enumerate(columns):
        if not isinstance(column, dict) or not isinstance(column.get("blocks"), list):
            bad(f"columns[{index}]", f"column {index + 1} must be an object with a list of blocks")
        elif set(column) - {"blocks"}:
            bad(f"columns[{index}]", f"column {index + 1} has an unknown field")


def _divider(block: dict[str, Any], width: int, bad: Any) -> None:
    if block.get("color") is not None and not _color(block["color"]):
        bad("color", "the colour must be like #1a2b3c")
    if block.get("thickness") is not None and not _int_in(block["thickness"], 1, 8):
        bad("thickness", "the thickness is 1 to 8 pixels")


def _spacer(block: dict[str, Any], width: int, bad: Any) -> None:
    if not _int_in(block.get("height"), 4, 120):
        bad("height", "the height is 4 to 120 pixels")


def _social(block: dict[str, Any], width: int, bad: Any) -> None:
    links = block.get("links")
    if not isinstance(links, list) or not links:
        bad("links", "needs at least one link")
        return
    if len(links) > 10:
        bad("links", "has more than 10 links")
    for index, link in enumerate(links):
        if not isinstance(link, dict):
            bad(f"links[{index}]", "each link is {network, href}")
            continue
        if link.get("network") not in NETWORKS:
            bad(f"links[{index}].network", f"the network is one of {', '.join(NETWORKS)}")
        if problem := link_problem(link.get("href"), required=True):
            bad(f"links[{index}].href", f"the link {problem}")


def _raw(block: dict[str, Any], width: int, bad: Any) -> None:
    if problem := _text(block.get("html"), required=True):
        bad("html", f"the HTML {problem}")


def _footer(block: dict[str, Any], width: int, bad: Any) -> None:
    if problem := _text(block.get("text"), required=False):
        bad("text", f"the text {problem}")


def _products(block: dict[str, Any], width: int, bad: Any) -> None:
    """The recommended products (commerce): `count` of them, `per_row` side by side."""
    if not _int_in(block.get("count", 3), 1, MAX_PRODUCTS):
        bad("count", f"shows 1 to {MAX_PRODUCTS} products")
    if not _int_in(block.get("per_row", 3), 1, 4):
        bad("per_row", "puts 1 to 4 products side by side")
    for key, label, limit in (("title", "the title", 300), ("button_text", "the button label", 60)):
        value = block.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            bad(key, f"{label} must be text")
        elif len(value) > limit:
            bad(key, f"{label} is longer than {limit} characters")


CHECKS = {
    "heading": _heading,
    "text": _rich,
    "image": _image,
    "button": _button,
    "columns": _columns,
    "divider": _divider,
    "spacer": _spacer,
    "social": _social,
    "html": _raw,
    "footer": _footer,
    "products": _products,
}


def template_sources(document: Any) -> Iterator[tuple[str, str, bool]]:
    """Every piece of the document that is a template source: (path, source, is_html), for the
    template checks (syntax, unknown variables, sandbox) to name the block they are in."""
    for item in walk(document):
        block, kind = item.block, item.block.get("type")
        for key in ("text", "html", "alt", "href", "src", "title", "button_text"):
            value = block.get(key)
            if isinstance(value, str) and value:
                yield f"{item.path}.{key}", value, kind in ("text", "html") and key == "html"
        if kind == "social" and isinstance(block.get("links"), list):
            for index, link in enumerate(block["links"]):
                if isinstance(link, dict) and isinstance(link.get("href"), str):
                    yield f"{item.path}.links[{index}].href", link["href"], False


def conditions(document: Any) -> dict[str, Any]:
    """{block id: filter tree} of the top-level blocks that have a condition."""
    found: dict[str, Any] = {}
    for item in walk(document):
        if item.top_level and isinstance(item.block.get("condition"), dict):
            block_id = item.block.get("id")
            if isinstance(block_id, str):
                found[block_id] = item.block["condition"]
    return found
