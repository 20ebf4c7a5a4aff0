"""Live updates in the browser, two people in two browser contexts: a message updates the
recipient's badge and inbox, a comment appears under the post the author is reading, and a
stream that is cut reconnects with Last-Event-ID and loses nothing — all without a reload."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e import seed
from tests.e2e.conftest import log_in, new_context

pytestmark = pytest.mark.e2e

AUTHOR_NAME, AUTHOR_EMAIL = seed.AUTHOR
READER_NAME, READER_EMAIL = seed.READER


@pytest.fixture
def reader_page(browser, server):
    context = new_context(browser, server)
    page = context.new_page()
    log_in(page, READER_EMAIL)
    yield page
    context.close()


def wait_for_stream(page) -> None:
    """Until the page's EventSource is open (readyState 1)."""
    page.wait_for_function("() => window.flaskyLive && window.flaskyLive.readyState === 1")


def send_message(page, to: str, body: str) -> None:
    page.goto(f"/send_message/{to}")
    page.fill("#body", body)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert")).to_contain_text("Your message has been sent.")


def test_a_message_updates_the_badge_and_the_inbox_without_reload(page, reader_page):
    log_in(page, AUTHOR_EMAIL)
    page.goto("/messages")
    wait_for_stream(page)
    badge = page.locator("#messages-badge")
    expect(badge).to_be_hidden()
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    send_message(reader_page, AUTHOR_NAME, "A live hello")

    expect(badge).to_have_text("1")
    expect(badge).to_be_visible()
    expect(page.locator("#message-list")).to_contain_text("A live hello")
    expect(page.locator("#notifications-badge")).to_be_visible()
    assert navigations == []  # no reload
    assert page.script_errors == []


def test_a_comment_appears_under_the_post_being_read(page, reader_page):
    log_in(page, AUTHOR_EMAIL)
    page.goto(f"/user/{AUTHOR_NAME}")
    post = page.locator("li.post", has_text="Susan writes about").first
    href = post.locator('a[href^="/post/"]').first.get_attribute("href")
    post_url = re.sub(r"[#?].*$", "", href)
    page.goto(post_url)
    wait_for_stream(page)

    reader_page.goto(post_url)
    reader_page.fill("#body", "Seen *live*")
    reader_page.locator("form:has(#body) [type=submit]").click()
    expect(reader_page.get_by_role("alert")).to_contain_text("Your comment has been published.")

    live = page.locator("li.comment", has_text="Seen live")
    expect(live).to_be_visible()
    expect(live.locator("em")).to_have_text("live")
    assert page.script_errors == []


def test_a_cut_stream_reconnects_with_last_event_id_and_loses_nothing(
    page, reader_page, browser, server
):
    receiver_name, receiver_email = seed.MODERATOR
    log_in(page, receiver_email)
    page.goto("/")
    wait_for_stream(page)
    send_message(reader_page, receiver_name, "before the cut")
    expect(page.locator("#messages-badge")).to_have_text("1")

    # Hold back every new stream request, then end the open stream: the receiver's logout in
    # another browser closes their streams, and this page's EventSource reconnects.
    held: list = []
    reconnections: list = []

    def hold(route) -> None:  # noqa: ANN001
        reconnections.append(route.request.url)
        if not held:
            route.abort()
        else:
            route.continue_()

    page.context.route(re.compile(r".*/events(\?.*)?$"), hold)
    other = new_context(browser, server)
    other_page = other.new_page()
    log_in(other_page, receiver_email)
    other_page.locator("form[action='/auth/logout'] button").click()
    other.close()
    page.wait_for_function("() => window.flaskyLive.readyState !== 1")

    # While the stream is down, two more messages.
    send_message(reader_page, receiver_name, "during the cut, one")
    send_message(reader_page, receiver_name, "during the cut, two")
    held.append("let it through")

    # 3, not 4: the reconnection resumed after the last event received (the browser's
    # Last-Event-ID header, which Playwright does not show), not from the page's ?since=,
    # which would deliver "before the cut" a second time.
    expect(page.locator("#messages-badge")).to_have_text("3", timeout=20_000)
    assert reconnections, "the stream never reconnected"
    page.goto("/messages")
    for body in ("before the cut", "during the cut, one", "during the cut, two"):
        expect(page.locator("#message-list")).to_contain_text(body)
    expect(page.locator("#message-list li.message")).to_have_count(3)
