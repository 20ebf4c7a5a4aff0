"""A post written in Markdown, as the reader's browser shows it: the live preview is the
saved post, and its headings stay below the page's own heading."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e import seed
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e

BODY = (
    "# Markdown in the browser\n\n"
    "Some ~~old~~ **new** text and `code`.\n\n"
    "> a quoted line\n\n"
    "```python\nprint('hi')\n```\n\n"
    "| a | b |\n|:-:|--:|\n| 1 | 2 |\n"
)


def font_size(locator) -> float:  # noqa: ANN001
    return float(locator.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))


def test_a_markdown_post_looks_as_previewed_with_smaller_headings(page):
    log_in(page, seed.AUTHOR[1])
    page.goto("/")
    page.fill("textarea#body", BODY)
    preview = page.locator("#body-preview")
    expect(preview.locator("h1")).to_have_text("Markdown in the browser")
    previewed = preview.inner_html()

    page.locator("form:has(textarea#body) [type=submit]").click()
    expect(page).to_have_url(re.compile(r"/$"))
    post = page.locator(".post-body", has_text="Markdown in the browser").first
    expect(post.locator("table td").first).to_have_text("1")
    assert post.inner_html() == previewed

    page_heading = page.locator("h1").first  # "Hello, <username>!"
    assert font_size(post.locator("h1")) < font_size(page_heading)
    quote = post.locator("blockquote")
    assert quote.evaluate("e => getComputedStyle(e).borderLeftStyle") == "solid"
    code = post.locator("pre code")
    assert code.get_attribute("class") == "language-python"
    assert post.locator("pre").evaluate("e => getComputedStyle(e).overflowX") == "auto"
    assert page.script_errors == []
