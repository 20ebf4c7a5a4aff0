"""Following a user and moderating a comment, through the browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e import seed
from tests.e2e.conftest import log_in, new_context

pytestmark = pytest.mark.e2e


def test_reader_follows_an_author(page):
    author = seed.AUTHOR[0]
    log_in(page, seed.READER[1])

    page.goto(f"/user/{author}")
    expect(page.locator("h1").first).to_have_text(author)
    page.get_by_role("button", name="Follow", exact=True).click()

    expect(page.get_by_role("alert")).to_contain_text(f"You are now following {author}.")
    expect(page.get_by_role("button", name="Unfollow")).to_be_visible()
    page.goto(f"/followers/{author}")
    expect(page.get_by_role("link", name=seed.READER[0], exact=True)).to_be_visible()
    assert page.script_errors == []


def test_moderator_disables_a_comment(page, browser, server):
    log_in(page, seed.MODERATOR[1])

    page.get_by_role("link", name="Moderate Comments").click()
    expect(page.locator("h1").first).to_have_text("Comment Moderation")
    comment = page.locator("li.comment", has_text=seed.COMMENT_TO_DISABLE)
    comment.get_by_role("button", name="Disable").click()

    # Back on the same moderation page, the comment now offers Enable.
    expect(page.locator("h1").first).to_have_text("Comment Moderation")
    comment = page.locator("li.comment", has_text=seed.COMMENT_TO_DISABLE)
    expect(comment.get_by_role("button", name="Enable")).to_be_visible()
    post_url = comment.get_by_role("link", name="Post #").get_attribute("href")

    # Anyone else sees the notice instead of the text.
    stranger = new_context(browser, server)
    try:
        other = stranger.new_page()
        other.goto(post_url)
        expect(other.locator(".comment-list")).to_contain_text(
            "This comment has been disabled by a moderator."
        )
        expect(other.locator(".comment-list")).not_to_contain_text(seed.COMMENT_TO_DISABLE)
    finally:
        stranger.close()
    assert page.script_errors == []
