"""Markdown to sanitised HTML, rendered on write.

No body up to the maximum length, however crafted, holds a worker for long: cmark-gfm
parses in linear time (CommonMark plus tables, strikethrough and bare-URL links),
elements nested deeper than any real text needs are flattened, and nh3 applies the
allow-list. Posts get block structure, code with its language, tables and https images;
comments only inline emphasis, code and links.

Raw HTML in a body reaches nh3, which keeps what the allow-list allows and drops
`<script>` and `<style>` with their content. nh3's HTML parser (html5ever) is
superlinear on crafted tag soup, though: 500 misnested `<b id=N>` tags took 0.6 s, 12,500
unclosed `<dl>` 1.7 s. So a body with more raw HTML than RAW_HTML_BUDGET allows is
rendered with its raw HTML left out (the text between the tags stays); then everything
nh3 parses is the Markdown parser's own well-formed output.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import accumulate, chain

import nh3

from flasky.compat import cmark

POST_TAGS = {
    "a", "abbr", "acronym", "b", "blockquote", "code", "em", "i", "li", "ol", "pre",
    "strong", "ul", "h1", "h2", "h3", "p",
    "h4", "h5", "h6", "hr", "br", "del", "img",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
COMMENT_TAGS = {"a", "abbr", "acronym", "b", "code", "em", "i", "strong"}

_TEXT_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "acronym": {"title"}}
POST_ATTRIBUTES = {
    **_TEXT_ATTRIBUTES,
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "th": {"align"},
    "td": {"align"},
}
URL_SCHEMES = {"http", "https", "mailto"}

# A fenced block's info string becomes `class="language-<word>"`; nothing else may set
# a class, so a body cannot borrow the page's own styles.
_CODE_CLASS = re.compile(r"language-[A-Za-z0-9_+#.-]{1,40}")
_ALIGNMENTS = {"left", "center", "right"}


def _post_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        # Images only from https addresses: no mixed content, no data: payloads, and
        # the page's image policy (img-src https:) says the same.
        return value if value.startswith("https://") else None
    if attribute == "class":
        return value if tag == "code" and _CODE_CLASS.fullmatch(value) else None
    if attribute == "align":
        return value if value in _ALIGNMENTS else None
    return value


_post_cleaner = nh3.Cleaner(
    tags=POST_TAGS,
    attributes=POST_ATTRIBUTES,
    attribute_filter=_post_attribute,
    url_schemes=URL_SCHEMES,
)
_comment_cleaner = nh3.Cleaner(
    tags=COMMENT_TAGS, attributes=_TEXT_ATTRIBUTES, url_schemes=URL_SCHEMES
)

# Deeper than any list, quote or emphasis a person writes; html5ever (inside nh3) scans
# the open elements on each block element, so 25,000 nested quotes would take seconds.
MAX_NESTING = 32
# Splits into text, tag, "/" or "", text, ... (void elements do not nest, so are text).
_NESTING_TAG = re.compile(r"(<(/?)(?!(?:br|hr|img|input)\b)[a-z][a-z0-9]*[^>]*>)")


def limit_nesting(html: str, limit: int = MAX_NESTING) -> str:
    """Drop the tags (not the content) of elements nested more than `limit` deep.

    Exact for cmark's own output, which is well-formed and escapes every `<` and `>`
    that is not part of a tag, so an element's start and end tags sit at the same depth.
    Raw HTML within budget can make it miscount by at most that budget.
    """
    if html.count("<") <= limit:
        return html
    pieces: list[str] = []
    depth = 0
    for chunk in _chunks(html):
        parts = _NESTING_TAG.split(chunk)
        closing = parts[2::3]
        depths = list(accumulate((-1 if slash else 1 for slash in closing), initial=depth))
        depth = depths[-1]
        # A start tag sits at the depth after it, an end tag at the depth before it.
        levels = [
            before if slash else after
            for before, after, slash in zip(depths, depths[1:], closing, strict=False)
        ]
        texts, tags = parts[0::3], parts[1::3]
        if max(levels, default=0) > limit:
            tags = ["" if level > limit else tag for tag, level in zip(tags, levels, strict=True)]
        pieces.extend(chain.from_iterable(zip(texts[:-1], tags, strict=True)))
        pieces.append(texts[-1])
    return "".join(pieces)


# Each regular-expression call holds the GIL for its whole run; cutting the HTML into
# pieces lets the worker's event loop in between (a 675 KB page held it ~30 ms at once).
_CHUNK = 16_384


def _chunks(html: str) -> Iterator[str]:
    """Pieces of about _CHUNK characters, each ending just after a `>`."""
    start = 0
    while start < len(html):
        end = html.find(">", start + _CHUNK)
        end = len(html) if end == -1 else end + 1
        yield html[start:end]
        start = end


# `<` characters inside raw HTML: a few dozen tags, plenty for an <abbr> or a <kbd>.
RAW_HTML_BUDGET = 100


def markdown_html(text: str) -> str:
    """The body as unsanitised HTML, with its raw HTML only if within budget."""
    html = cmark.to_html(text, raw_html=True)
    if html.count("<") <= RAW_HTML_BUDGET:
        return html
    # The two renderings differ only where raw HTML stands.
    safe = cmark.to_html(text, raw_html=False)
    raw = html.count("<") - safe.count("<") + safe.count(cmark.OMITTED)
    return html if raw <= RAW_HTML_BUDGET else safe


def _render(text: str, cleaner: nh3.Cleaner) -> str:
    # Attributes keep their order from the parser's output (nh3 adds only the links'
    # rel, last), so the same text gives the same bytes in every worker process.
    return cleaner.clean(limit_nesting(markdown_html(text or ""))).strip("\n")


def render_post(text: str) -> str:
    return _render(text, _post_cleaner)


def render_comment(text: str) -> str:
    return _render(text, _comment_cleaner)
