"""Compile a saved template version once: layout + preheader + CSS inlined, and the text part.

CSS inlining parses HTML, and Jinja tags are not HTML: `{% for %}` between table rows would
be moved out of the table by an HTML5 parser. So every Jinja construct is swapped for an
inert placeholder first (an HTML comment where a block tag stands between elements, a plain
token inside text and attributes), the HTML is inlined, and the Jinja is put back.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import css_inline

from .checks import CONTENT_PLACEHOLDER

JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
TOKEN = "tjx{}x"
TOKEN_RE = re.compile(r"<!--tjx(\d+)x-->|&lt;!--tjx(\d+)x--&gt;|tjx(\d+)x")

_inliner = css_inline.CSSInliner(
    keep_at_rules=True,  # @media queries stay in a <style> block for mobile clients
    load_remote_stylesheets=False,  # never fetch a URL an author typed (SSRF)
    keep_link_tags=True,
)

# Block templates: mrml's own <style> blocks (resets, the columns' media queries, marked
# data-css-inline="ignore") stay in the head as written; author CSS is still inlined.
_keeping_inliner = css_inline.CSSInliner(
    keep_style_tags=True,
    keep_at_rules=True,
    load_remote_stylesheets=False,
    keep_link_tags=True,
)

PREHEADER = (
    '<div style="display:none;max-height:0;overflow:hidden;mso-hide:all" '
    'aria-hidden="true">{}</div>'
)


def protect(source: str) -> tuple[str, list[str]]:
    """Replace Jinja constructs with placeholders; returns the HTML and the originals."""
    originals: list[str] = []
    out: list[str] = []
    last = 0
    in_tag = False
    for match in JINJA.finditer(source):
        chunk = source[last : match.start()]
        in_tag = _inside_tag(chunk, in_tag)
        out.append(chunk)
        index = len(originals)
        originals.append(match.group(0))
        is_statement = not match.group(0).startswith("{{")
        token = TOKEN.format(index)
        out.append(f"<!--{token}-->" if is_statement and not in_tag else token)
        last = match.end()
    out.append(source[last:])
    return "".join(out), originals


def _inside_tag(chunk: str, was_inside: bool) -> bool:
    opened = chunk.rfind("<")
    closed = chunk.rfind(">")
    if opened == -1 and closed == -1:
        return was_inside
    return opened > closed


def restore(html: str, originals: list[str]) -> str:
    def put_back(match: re.Match[str]) -> str:
        index = int(next(group for group in match.groups() if group is not None))
        return originals[index]

    return TOKEN_RE.sub(put_back, html)


def apply_layout(layout_html: str | None, content_html: str) -> str:
    if not layout_html:
        return content_html
    return CONTENT_PLACEHOLDER.sub(lambda _: content_html, layout_html, count=1)


def insert_preheader(html: str, preheader: str) -> str:
    if not preheader:
        return html
    block = PREHEADER.format(preheader)
    match = re.search(r"<body[^>]*>", html, re.I)
    if match:
        return html[: match.end()] + block + html[match.end() :]
    return block + html


def compile_html(
    *, html: str, layout_html: str | None, preheader: str, keep_styles: bool = False
) -> str:
    """The version's renderable HTML (a Jinja template) with CSS inlined. `keep_styles`
    (block templates) keeps the <style> blocks too (see _keeping_inliner) and folds the
    long lines generated HTML comes in (fold_lines)."""
    source = insert_preheader(apply_layout(layout_html, html), preheader)
    protected, originals = protect(source)
    inlined = (_keeping_inliner if keep_styles else _inliner).inline(protected)
    if keep_styles:
        inlined = fold_lines(inlined)
    return restore(inlined, originals)


BETWEEN_ATTRIBUTES = re.compile(r'(?<=") (?=[a-zA-Z][a-zA-Z0-9:-]*=")')
FOLD_AT = 500


def fold_lines(html: str) -> str:
    """Break long lines between two attributes of a tag (a space there and a newline are the
    same to HTML). Generated email HTML is a few very long lines; a part with a line over
    998 characters must go quoted-printable, whose encoding was the largest single cost of a
    block email's send (messaging/mime.py sends short-lined parts as they are)."""
    if all(len(line) <= FOLD_AT for line in html.split("\n")):
        return html
    out: list[str] = []
    for line in html.split("\n"):
        while len(line) > FOLD_AT:
            cut = -1
            for match in BETWEEN_ATTRIBUTES.finditer(line, 0, FOLD_AT * 2):
                if match.start() > FOLD_AT // 4:
                    cut = match.start()
                    if cut >= FOLD_AT:
                        break
            if cut == -1:
                break
            out.append(line[:cut])
            line = line[cut + 1 :]
        out.append(line)
    return "\n".join(out)


def compile_text(*, text: str, compiled_html: str) -> str:
    """The author's text part, or one generated from the compiled HTML."""
    if text.strip():
        return text
    protected, originals = protect(compiled_html)
    return restore(html_to_text(protected), originals)


BLOCKS = {"p", "div", "table", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "section"}
SKIP = {"style", "script", "head", "title"}


class _TextMaker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.hidden = 0
        self.links: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in SKIP:
            self.skipping += 1
        elif "display:none" in (attributes.get("style") or "").replace(" ", ""):
            self.hidden += 1 if tag == "div" else 0
        if tag == "br":
            self.parts.append("\n")
        elif tag in BLOCKS:
            self.parts.append("\n\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag == "td":
            self.parts.append(" ")
        elif tag == "a":
            self.links.append(attributes.get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "div" and self.hidden:
            self.hidden -= 1
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href and not href.startswith(("#", "mailto:")):
                self.parts.append(f" ({href})")
        if tag in BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping and not self.hidden:
            self.parts.append(re.sub(r"\s+", " ", data))

    def handle_comment(self, data: str) -> None:
        if TOKEN_RE.fullmatch(data.strip()) or data.startswith("tjx"):
            self.parts.append(f"<!--{data}-->")


def html_to_text(html: str) -> str:
    maker = _TextMaker()
    maker.feed(html)
    maker.close()
    text = "".join(maker.parts)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n[ \t]+", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip() + "\n"
