"""Deleting one's own post and comment through the browser: the Delete link, the confirm
page (with Cancel), then the POST."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e import seed
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e


def test_author_deletes_a_comment_then_the_post(page):
    log_in(page, seed.AUTHOR[1])
    page.goto("/")
    page.fill("textarea#body", "A post that will not *stay*.")
    page.locator("form:has(textarea#body) [type=submit]").click()
    post = page.locator("li.post", has_text="A post that will not stay.")
    expect(post).to_be_visible()
    post.locator('a[href^="/post/"]:not([href$="/delete"])').first.click()
    post_url = page.url

    page.fill("#body", "A comment that goes first.")
    page.locator("form:has(#body) [type=submit]").click()
    comment = page.locator("li.comment", has_text="A comment that goes first.")
    expect(comment).to_be_visible()

    # Cancel on the confirm page keeps the comment.
    comment.get_by_role("link", name="Delete").click()
    expect(page.locator("h1").first).to_have_text("Delete this comment?")
    page.get_by_role("link", name="Cancel").click()
    expect(page.locator("li.comment", has_text="A comment that goes first.")).to_be_visible()

    page.locator("li.comment", has_text="A comment that goes first.").get_by_role(
        "link", name="Delete"
    ).click()
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("alert")).to_contain_text("The comment has been deleted.")
    page.goto(post_url)
    expect(page.locator("li.comment", has_text="A comment that goes first.")).to_have_count(0)

    page.locator("li.post").first.get_by_role("link", name="Delete").click()
    expect(page.locator("h1").first).to_have_text("Delete this post?")
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("alert")).to_contain_text("The post has been deleted.")
    assert page.script_errors == []
    assert page.goto(post_url).status == 404
