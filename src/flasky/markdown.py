"""Markdown to sanitised HTML (an allow-list of tags, bare URLs linked), rendered on write."""

from __future__ import annotations

import markdown as _markdown
import nh3

POST_TAGS = {
    "a", "abbr", "acronym", "b", "blockquote", "code", "em", "i", "li", "ol", "pre",
    "strong", "ul", "h1", "h2", "h3", "p",
}
COMMENT_TAGS = {"a", "abbr", "acronym", "b", "code", "em", "i", "strong"}
ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "acronym": {"title"}}
# magiclink turns bare URLs and www. names into links before sanitising.
EXTENSIONS = ["pymdownx.magiclink"]


def _render(text: str, tags: set[str]) -> str:
    html = _markdown.markdown(text or "", extensions=EXTENSIONS, output_format="html")
    return nh3.clean(html, tags=tags, attributes=ATTRIBUTES, url_schemes={"http", "https", "mailto"})


def render_post(text: str) -> str:
    return _render(text, POST_TAGS)


def render_comment(text: str) -> str:
    return _render(text, COMMENT_TAGS)
