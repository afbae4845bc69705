"""Block document + brand → MJML → responsive, Outlook-safe HTML (a Jinja source).

mrml (MJML in Rust) writes the hard part of email HTML: nested tables, `<!--[if mso]>` ghost
tables so Outlook's Word engine keeps the width, columns that sit side by side from 480 px and
stack below it (a media query), inline styles on every cell. But its parser expects XML-clean
markup, and authors' text carries Jinja (`{{ first_name | default("there") }}`, quotes
included) and, in HTML blocks, whatever HTML they wrote. So mrml never sees author content:
each piece goes into a *slot*, MJML gets an inert token (`tjs7x`) in its place, and after
mrml the slots are put back. Author text is HTML-escaped around its Jinja tags, rich text is
sanitised (nh3, an allow-list) with its Jinja tags kept, raw HTML goes in as written (it is
checked like a code template's).

A top-level block with a condition is wrapped in `{% if block_visible("<id>") %}…{% endif %}`
(between sections, where it removes whole table rows); the send path works out, per batch,
which recipients match each condition (messaging/services/sending.py).
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass, field
from typing import Any

import mrml
import nh3

from ..templating.compile import JINJA
from .document import NETWORKS, content_width, walk

FONT_STACKS = {
    "helvetica": "Helvetica, Arial, sans-serif",
    "arial": "Arial, Helvetica, sans-serif",
    "georgia": "Georgia, 'Times New Roman', Times, serif",
    "verdana": "Verdana, Geneva, sans-serif",
    "trebuchet": "'Trebuchet MS', Helvetica, Arial, sans-serif",
    "times": "'Times New Roman', Times, serif",
    "courier": "'Courier New', Courier, monospace",
}
NETWORK_LABELS = {
    "facebook": "Facebook",
    "x": "X",
    "instagram": "Instagram",
    "linkedin": "LinkedIn",
    "youtube": "YouTube",
    "tiktok": "TikTok",
    "website": "Website",
}
assert set(NETWORK_LABELS) == set(NETWORKS)
HEADING_SIZES = {1: 28, 2: 22, 3: 18}
MUTED = "#6b7280"
RICH_TAGS = {"p", "br", "strong", "b", "em", "i", "u", "a", "ul", "ol", "li", "span"}
RICH_STYLES = {"color", "background-color", "font-weight", "font-style", "text-decoration"}
SLOT = "tjs{}x"
SLOT_RE = re.compile(r"tjs(\d+)x")
# Space above and below the content, in the body's colour (not an mj-wrapper: mrml puts
# mj-raw inside a wrapper's Outlook-only rows, where a dynamic block's {% if %} must not go).
GUTTER = '<mj-section padding="0"><mj-column><mj-spacer height="24px"/></mj-column></mj-section>'
HEAD_META = (
    '<meta name="color-scheme" content="light dark">'
    '<meta name="supported-color-schemes" content="light dark">'
)


@dataclass(frozen=True)
class Brand:
    """The workspace's brand (MessagingSettings.brand_*), what blocks fall back to."""

    primary_color: str = "#2563eb"
    text_color: str = "#1f2937"
    background_color: str = "#f3f4f6"
    content_color: str = "#ffffff"
    font: str = "helvetica"
    logo_url: str = ""
    base_url: str = ""  # the site: an uploaded image's "/media/…" address is made absolute

    @property
    def font_stack(self) -> str:
        return FONT_STACKS.get(self.font, FONT_STACKS["helvetica"])


@dataclass
class Compiled:
    html: str  # a complete HTML document, a Jinja source (CSS not inlined yet)
    conditions: dict[str, Any] = field(default_factory=dict)  # {block id: filter tree}


def sanitise_rich_text(source: str, *, link_color: str) -> str:
    """Rich text through the allow-list, its Jinja tags kept as they were."""
    tokens: list[str] = []

    def hide(match: re.Match[str]) -> str:
        tokens.append(match.group(0))
        return f"tjr{len(tokens) - 1}x"

    hidden = JINJA.sub(hide, source)
    clean = nh3.clean(
        hidden,
        tags=RICH_TAGS,
        attributes={"a": {"href"}, "span": {"style"}},
        filter_style_properties=RICH_STYLES,
        url_schemes={"http", "https", "mailto", "tel"},
    )
    # Links in the brand colour (added here, not by nh3: its attribute order is not stable).
    clean = clean.replace("<a ", f'<a style="color:{link_color}" target="_blank" ')
    return re.sub(r"tjr(\d+)x", lambda m: tokens[int(m.group(1))], clean)


def escape_text(source: str) -> str:
    """HTML-escape text around its Jinja tags (which Jinja's autoescape handles at render)."""
    out, last = [], 0
    for match in JINJA.finditer(source):
        out.append(html_lib.escape(source[last : match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(html_lib.escape(source[last:]))
    return "".join(out)


class _Writer:
    def __init__(self, document: dict[str, Any], brand: Brand, skip: frozenset[str]):
        self.document, self.brand, self.skip = document, brand, skip
        self.width = content_width(document)
        self.slots: list[str] = []

    # Slots: author content mrml never sees.
    def slot(self, content: str) -> str:
        self.slots.append(content)
        return SLOT.format(len(self.slots) - 1)

    def text_slot(self, value: Any) -> str:
        return self.slot(escape_text(str(value or "")))

    def attr_slot(self, value: Any) -> str:
        return self.slot(escape_text(str(value or "")).replace('"', "&quot;"))

    def fill(self, html: str) -> str:
        return SLOT_RE.sub(lambda m: self.slots[int(m.group(1))], html)

    # Attributes common to content elements.
    def _common(self, block: dict[str, Any], *, padding: str = "10px 24px") -> dict[str, str]:
        style = block.get("style") or {}
        attrs: dict[str, str] = {"padding": padding}
        if isinstance(style.get("padding"), list):
            attrs["padding"] = " ".join(f"{int(p)}px" for p in style["padding"])
        if style.get("align"):
            attrs["align"] = style["align"]
        if style.get("background"):
            attrs["container-background-color"] = style["background"]
        return attrs

    def _text_attrs(self, block: dict[str, Any], **extra: str) -> dict[str, str]:
        style = block.get("style") or {}
        attrs = self._common(block)
        attrs["color"] = style.get("color") or self.brand.text_color
        if style.get("font_size"):
            attrs["font-size"] = f"{style['font_size']}px"
        attrs.update(extra)
        return attrs

    # One element per block type.
    def element(self, block: dict[str, Any], column_width: int) -> str:
        kind = block.get("type")
        method = getattr(self, f"_el_{kind}", None)
        return method(block, column_width) if method else ""

    def _el_heading(self, block: dict[str, Any], width: int) -> str:
        level = block.get("level") if block.get("level") in (1, 2, 3) else 1
        style = block.get("style") or {}
        size = style.get("font_size") or HEADING_SIZES[level]
        attrs = self._text_attrs(block, **{"font-size": f"{size}px", "line-height": "1.25"})
        inner = (
            f'<h{level} style="margin:0;font-size:{size}px;line-height:1.25;font-weight:bold">'
            f"{self.text_slot(block.get('text'))}</h{level}>"
        )
        return _tag("mj-text", attrs, inner)

    def _el_text(self, block: dict[str, Any], width: int) -> str:
        clean = sanitise_rich_text(
            str(block.get("html") or ""), link_color=self.brand.primary_color
        )
        return _tag("mj-text", self._text_attrs(block), self.slot(clean))

    def _el_image(self, block: dict[str, Any], width: int) -> str:
        attrs = self._common(block)
        src = str(block.get("src") or "")
        if src.startswith("/") and not src.startswith("//"):
            src = self.brand.base_url.rstrip("/") + src
        attrs["src"] = self.attr_slot(src)
        attrs["alt"] = self.attr_slot(block.get("alt"))
        if block.get("href"):
            attrs["href"] = self.attr_slot(block["href"])
        requested = block.get("width")
        if isinstance(requested, int) and 0 < requested < width:
            attrs["width"] = f"{requested}px"
        return _tag("mj-image", attrs)

    def _el_button(self, block: dict[str, Any], width: int) -> str:
        style = block.get("style") or {}
        attrs = self._common(block)
        attrs.setdefault("align", "center")
        attrs["href"] = self.attr_slot(block.get("href"))
        attrs["background-color"] = block.get("button_color") or self.brand.primary_color
        attrs["color"] = block.get("text_color") or "#ffffff"
        attrs["font-size"] = f"{style.get('font_size') or 16}px"
        attrs["font-weight"] = "bold"
        attrs["inner-padding"] = "12px 24px"
        attrs["border-radius"] = "6px"
        return _tag("mj-button", attrs, self.text_slot(block.get("text")))

    def _el_divider(self, block: dict[str, Any], width: int) -> str:
        attrs = self._common(block)
        attrs["border-color"] = block.get("color") or "#e5e7eb"
        attrs["border-width"] = f"{block.get('thickness') or 1}px"
        return _tag("mj-divider", attrs)

    def _el_spacer(self, block: dict[str, Any], width: int) -> str:
        attrs = {"height": f"{block.get('height') or 16}px"}
        background = (block.get("style") or {}).get("background")
        if background:
            attrs["container-background-color"] = background
        return _tag("mj-spacer", attrs)

    def _el_social(self, block: dict[str, Any], width: int) -> str:
        # Text links, not mj-social's icons: those load images from a third-party host.
        links = []
        color = self.brand.primary_color
        for link in block.get("links") or []:
            if not isinstance(link, dict):
                continue
            label = NETWORK_LABELS.get(link.get("network", ""), "Link")
            links.append(
                f'<a href="{self.attr_slot(link.get("href"))}" target="_blank" '
                f'style="color:{color};text-decoration:none;font-weight:bold">{label}</a>'
            )
        attrs = self._text_attrs(block)
        attrs.setdefault("align", "center")
        return _tag("mj-text", attrs, " &nbsp;·&nbsp; ".join(links))

    def _el_html(self, block: dict[str, Any], width: int) -> str:
        return _tag("mj-text", self._text_attrs(block), self.slot(str(block.get("html") or "")))

    def _el_footer(self, block: dict[str, Any], width: int) -> str:
        style = block.get("style") or {}
        attrs = self._text_attrs(block, **{"line-height": "1.5"})
        attrs["color"] = style.get("color") or MUTED
        attrs["font-size"] = f"{style.get('font_size') or 12}px"
        attrs.setdefault("align", "center")
        attrs["padding"] = attrs.get("padding") if style.get("padding") else "24px 24px 32px"
        link = f"color:{attrs['color']};text-decoration:underline"
        parts = []
        if block.get("text"):
            parts.append(f'<p style="margin:0 0 8px">{escape_text(str(block["text"]))}</p>')
        parts.append(
            '<p style="margin:0 0 8px">{{ workspace.name }} · {{ workspace.physical_address }}</p>'
            f'<p style="margin:0"><a href="{{{{ unsubscribe_url }}}}" style="{link}">Unsubscribe</a>'
            f' &nbsp;·&nbsp; <a href="{{{{ preferences_url }}}}" style="{link}">'
            "Email preferences</a></p>"
        )
        return _tag("mj-text", attrs, self.slot("".join(parts)))

    def _el_products(self, block: dict[str, Any], width: int) -> str:
        """The contact's recommended products (commerce), filled in at send time from
        `recommendations`: a grid of image, name, price and link; nothing when there are none."""
        count = block.get("count") if isinstance(block.get("count"), int) else 3
        per_row = block.get("per_row") if isinstance(block.get("per_row"), int) else 3
        per_row = max(1, min(per_row, 4))
        cell = max(60, (width - 48) // per_row - 16)
        style = block.get("style") or {}
        color = style.get("color") or self.brand.text_color
        link = f"color:{color};text-decoration:none"
        title = ""
        if block.get("title"):
            title = (
                '<h2 style="margin:0 0 8px;font-size:20px;line-height:1.3;font-weight:bold">'
                f"{escape_text(str(block['title']))}</h2>"
            )
        button = ""
        if block.get("button_text"):
            button = (
                '{% if p.url %}<p style="margin:8px 0 0"><a href="{{ p.url }}" '
                f'style="display:inline-block;padding:8px 14px;background:{self.brand.primary_color};'
                'color:#ffffff;border-radius:6px;text-decoration:none;font-weight:bold">'
                f"{escape_text(str(block['button_text']))}</a></p>{{% endif %}}"
            )
        grid = (
            "{% if recommendations %}"
            + title
            + '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
            'style="border-collapse:collapse"><tbody>'
            f"{{% for row in recommendations[:{int(count)}]|batch({per_row}) %}}<tr>"
            f'{{% for p in row %}}<td valign="top" width="{100 // per_row}%" '
            'style="padding:8px;text-align:center">'
            '{% if p.image_url %}{% if p.url %}<a href="{{ p.url }}">{% endif %}'
            f'<img src="{{{{ p.image_url }}}}" alt="{{{{ p.name }}}}" width="{cell}" '
            f'style="display:block;width:100%;max-width:{cell}px;height:auto;border:0;margin:0 auto">'
            "{% if p.url %}</a>{% endif %}{% endif %}"
            '<p style="margin:8px 0 0;font-weight:bold">{% if p.url %}'
            f'<a href="{{{{ p.url }}}}" style="{link}">{{{{ p.name }}}}</a>'
            "{% else %}{{ p.name }}{% endif %}</p>"
            '{% if p.price is not none %}<p style="margin:4px 0 0">'
            '{{ "%.2f"|format(p.price) }} {{ p.currency }}</p>{% endif %}'
            + button
            + "</td>{% endfor %}</tr>{% endfor %}</tbody></table>{% endif %}"
        )
        return _tag("mj-text", self._text_attrs(block), self.slot(grid))

    # Sections.
    def section(self, blocks: list[tuple[str, dict[str, Any]]]) -> str:
        """Consecutive simple blocks share one section and column."""
        inner = "".join(self.element(block, self.width) for _, block in blocks)
        return _tag(
            "mj-section",
            {"background-color": self.brand.content_color, "padding": "0"},
            _tag("mj-column", {}, inner),
        )

    def columns(self, path: str, block: dict[str, Any]) -> str:
        columns = [c for c in block.get("columns") or [] if isinstance(c, dict)]
        if not columns:
            return ""
        style = block.get("style") or {}
        column_width = self.width // len(columns)
        inner = []
        for c, column in enumerate(columns):
            elements = []
            for i, child in enumerate(column.get("blocks") or []):
                child_path = f"{path}.columns[{c}].blocks[{i}]"
                if isinstance(child, dict) and not self._skipped(child_path):
                    elements.append(self.element(child, column_width))
            inner.append(_tag("mj-column", {"vertical-align": "top"}, "".join(elements)))
        padding = style.get("padding")
        attrs = {
            "background-color": style.get("background") or self.brand.content_color,
            "padding": " ".join(f"{p}px" for p in padding) if padding else "0",
        }
        return _tag("mj-section", attrs, "".join(inner))

    def _skipped(self, path: str) -> bool:
        return any(bad == path or bad.startswith((path + ".", path + "[")) for bad in self.skip)

    def body(self) -> tuple[str, dict[str, Any]]:
        out: list[str] = []
        run: list[tuple[str, dict[str, Any]]] = []
        conditions: dict[str, Any] = {}

        def flush() -> None:
            if run:
                out.append(self.section(run))
                run.clear()

        for item in walk(self.document):
            if not item.top_level or self._skipped(item.path):
                continue
            block = item.block
            condition = block.get("condition")
            if block.get("type") != "columns" and not isinstance(condition, dict):
                run.append((item.path, block))
                continue
            flush()
            section = (
                self.columns(item.path, block)
                if block.get("type") == "columns"
                else self.section([(item.path, block)])
            )
            if isinstance(condition, dict) and isinstance(block.get("id"), str):
                conditions[block["id"]] = condition
                opening = self.slot('{% if block_visible("' + block["id"] + '") %}')
                section = f"<mj-raw>{opening}</mj-raw>{section}<mj-raw>{self.slot('{% endif %}')}</mj-raw>"
            out.append(section)
        flush()
        return "".join(out), conditions

    def mjml(self) -> tuple[str, dict[str, Any]]:
        body, conditions = self.body()
        brand = self.brand
        head = (
            "<mj-head><mj-attributes>"
            f'<mj-all font-family="{_attr(brand.font_stack)}"/>'
            '<mj-text font-size="16px" line-height="1.6"/>'
            "</mj-attributes></mj-head>"
        )
        source = (
            f'<mjml lang="en">{head}<mj-body width="{self.width}px" '
            f'background-color="{brand.background_color}">'
            f"{GUTTER}{body}{GUTTER}</mj-body></mjml>"
        )
        return source, conditions


def _attr(value: str) -> str:
    return html_lib.escape(value, quote=True)


def _tag(name: str, attrs: dict[str, str], inner: str | None = None) -> str:
    rendered = "".join(f' {key}="{value}"' for key, value in attrs.items())
    if inner is None:
        return f"<{name}{rendered}/>"
    return f"<{name}{rendered}>{inner}</{name}>"


def compile_document(
    document: dict[str, Any], brand: Brand, *, skip: frozenset[str] = frozenset()
) -> Compiled:
    """The document as a complete HTML email (a Jinja source, CSS not inlined yet).

    `skip`: paths with errors (from validate); blocks at or under them are left out, so a
    preview still shows the rest of the email."""
    writer = _Writer(document, brand, skip)
    source, conditions = writer.mjml()
    html = mrml.to_html(source).content
    html = html.replace("<head>", "<head>" + HEAD_META, 1)
    # mrml's own <style> blocks (resets, the column media queries, Thunderbird's
    # .moz-text-html rules) stay as they are: its elements carry their styles inline already,
    # and the inliner would drop the rules that match nothing yet (the media queries' classes).
    html = html.replace(
        '<style type="text/css">', '<style type="text/css" data-css-inline="ignore">'
    )
    html = html.replace("<style media=", '<style data-css-inline="ignore" media=')
    return Compiled(html=writer.fill(html), conditions=conditions)
