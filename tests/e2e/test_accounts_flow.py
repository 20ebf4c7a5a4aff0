"""The book's browser scenario, and a new user's way from registration to a first post."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e import seed
from tests.e2e.conftest import ADMIN_EMAIL, log_in

pytestmark = pytest.mark.e2e


def test_stranger_logs_in_as_administrator_and_opens_the_profile(page):
    page.goto("/")
    expect(page.locator("h1").first).to_have_text("Hello, Stranger!")

    page.get_by_role("link", name="Log In").click()
    expect(page.locator("h1").first).to_have_text("Login")
    page.fill("#email", ADMIN_EMAIL)
    page.fill("#password", seed.PASSWORD)
    page.get_by_role("button", name="Log In").click()

    expect(page.locator("h1").first).to_have_text(f"Hello, {seed.ADMIN_USERNAME}!")
    page.get_by_role("link", name="Profile").click()
    expect(page).to_have_url(re.compile(rf"/user/{seed.ADMIN_USERNAME}$"))
    expect(page.locator("h1").first).to_have_text(seed.ADMIN_USERNAME)
    assert page.script_errors == []


def test_register_confirm_and_publish_a_post_with_live_preview(page, mailbox):
    email, username = "newcomer@e2e.example.com", "newcomer"

    page.goto("/auth/register")
    page.fill("#email", email)
    page.fill("#username", username)
    page.fill("#password", "a-long-password")
    page.fill("#password2", "a-long-password")
    page.get_by_role("button", name="Register").click()
    expect(page).to_have_url(re.compile(r"/auth/login$"))
    expect(page.get_by_role("alert")).to_contain_text(
        "A confirmation email has been sent to you by email."
    )

    log_in(page, email, "a-long-password")
    expect(page.locator("h3")).to_contain_text("You have not confirmed your account yet")

    page.goto(mailbox.link(email, "/auth/confirm/"))
    expect(page.get_by_role("alert")).to_contain_text("You have confirmed your account. Thanks!")

    page.goto("/")
    body = "Hello from the **browser** test"
    page.fill("textarea#body", body)
    # The preview is rendered by the server's own Markdown code as the user types.
    expect(page.locator("#body-preview strong")).to_have_text("browser")
    page.locator("form:has(textarea#body) [type=submit]").click()

    expect(page).to_have_url(re.compile(r"/$"))
    newest = page.locator(".post-body", has_text="Hello from the browser test").first
    expect(newest.locator("strong")).to_have_text("browser")
    assert page.script_errors == []
