"""Ending logins from the browser: "Log out everywhere" on the Change Password page ends the
account's other browsers, a copy of this browser's cookie, and its API tokens."""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.e2e import seed
from tests.e2e.conftest import log_in, new_context

pytestmark = pytest.mark.e2e


def api_status(server, path: str, method: str = "GET", authorization: str = "") -> tuple[int, dict]:
    request = urllib.request.Request(f"{server.url}/api/v1{path}", method=method)
    request.add_header("Accept", "application/json")
    if authorization:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def basic(username: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def greeting(page) -> str:
    page.goto("/")
    return page.locator("h1").first.inner_text()


def test_log_out_everywhere_ends_every_browser_copy_and_token(page, browser, server):
    email = seed.TRAVELLER[1]
    hello = f"Hello, {seed.TRAVELLER[0]}!"
    # The laptop (this page), a phone that ticked "Keep me logged in", and an API token.
    log_in(page, email)
    phone = new_context(browser, server)
    phone_page = phone.new_page()
    phone_page.goto("/auth/login")
    phone_page.fill("#email", email)
    phone_page.fill("#password", seed.PASSWORD)
    phone_page.check("#remember_me")
    phone_page.locator("form [type=submit]").first.click()
    phone_page.wait_for_url(lambda url: "/auth/login" not in url)
    status, issued = api_status(server, "/tokens/", "POST", basic(email, seed.PASSWORD))
    assert status == 200
    token = issued["token"]
    assert api_status(server, "/posts/", authorization=f"Bearer {token}")[0] == 200
    # Someone copied the laptop's login cookie into their own browser.
    stolen = [c for c in page.context.cookies() if c["name"] == "flasky_auth"]
    thief = new_context(browser, server)
    thief.add_cookies(stolen)
    thief_page = thief.new_page()
    assert greeting(thief_page) == hello
    assert greeting(phone_page) == hello

    page.goto("/auth/change-password")
    page.get_by_role("button", name="Log out everywhere").click()

    expect(page).to_have_url(re.compile(r"/auth/login$"))
    expect(page.get_by_role("alert")).to_contain_text("logged out of every session")
    assert greeting(page) == "Hello, Stranger!"
    assert greeting(phone_page) == "Hello, Stranger!"
    assert greeting(thief_page) == "Hello, Stranger!"
    status, body = api_status(server, "/posts/", authorization=f"Bearer {token}")
    assert status == 401
    assert "Bearer" in body["message"]
    # The account is not locked: logging in again works.
    log_in(page, email)
    assert greeting(page) == hello
    assert page.script_errors == []
    phone.close()
    thief.close()
