"""Avatars in the browser: the site's own identicons load under the CSP, a user uploads a
picture and removes it, and a Gravatar that cannot be reached falls back to the identicon."""

from __future__ import annotations

import io
import re
import time

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.e2e import seed
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e

LOADED = "image => image.complete && image.naturalWidth > 0"


def wait_until_loaded(image, timeout: float = 10.0) -> None:
    # Polled from here: the page's CSP refuses wait_for_function's string evaluation.
    deadline = time.monotonic() + timeout
    while not image.evaluate(LOADED):
        assert time.monotonic() < deadline, "the image did not load"
        time.sleep(0.1)


def test_upload_and_remove_a_picture(page, tmp_path):
    picture = tmp_path / "me.jpg"
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (20, 120, 200)).save(out, "JPEG")
    picture.write_bytes(out.getvalue())
    log_in(page, seed.READER[1])

    page.goto(f"/user/{seed.READER[0]}")
    identicon = page.locator(".profile-header img")
    expect(identicon).to_have_attribute("src", re.compile(r"^/avatar/[0-9a-f]{32}\.svg$"))
    wait_until_loaded(identicon)

    page.goto("/edit-profile")
    page.get_by_role("link", name="Change picture").click()
    page.set_input_files("input[type=file]", str(picture))
    page.get_by_role("button", name="Upload").click()

    expect(page.get_by_role("alert")).to_contain_text("Your picture has been updated.")
    uploaded = page.locator(".profile-header img")
    expect(uploaded).to_have_attribute("src", re.compile(r"^/avatars/\d+-[0-9a-f]{16}\.webp$"))
    wait_until_loaded(uploaded)
    assert uploaded.evaluate("image => image.naturalWidth") == 256

    page.goto("/edit-profile/avatar")
    page.get_by_role("button", name="Remove picture").click()
    expect(page.get_by_role("alert")).to_contain_text("Your picture has been removed.")
    expect(page.locator(".profile-header img")).to_have_attribute(
        "src", re.compile(r"^/avatar/[0-9a-f]{32}\.svg$")
    )
    assert page.script_errors == []


def test_an_unreachable_gravatar_falls_back_to_the_identicon(page):
    # The browser tests reach no other host (conftest.new_context): Gravatar fails here as
    # it does on a machine without internet.
    page.goto("/auth/login")
    page.add_script_tag(url="/static/js/avatars.js")
    page.evaluate(
        """() => {
          const image = document.createElement("img");
          image.id = "gravatar";
          image.setAttribute("data-avatar-fallback", "/avatar/" + "ab".repeat(16) + ".svg");
          image.src = "https://secure.gravatar.com/avatar/" + "ab".repeat(16) + "?d=404";
          document.body.append(image);
        }"""
    )
    image = page.locator("#gravatar")
    expect(image).to_have_attribute("src", re.compile(r"/avatar/(ab){16}\.svg$"))
    wait_until_loaded(image)
    assert page.script_errors == []
