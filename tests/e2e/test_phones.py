"""Every page fits a phone's width: at 390 px nothing scrolls sideways, for visitors and for
each kind of signed-in user. When a page does not fit, each page the viewer visited is
kept as a screenshot at 1280 and at 390 px in test-artifacts/."""

from __future__ import annotations

import re

import pytest

from tests.e2e import seed
from tests.e2e.conftest import ADMIN_EMAIL, keep_failure, log_in

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SMALLEST_PHONE = {"width": 360, "height": 740}

AUTHOR, PROLIFIC = seed.AUTHOR[0], seed.PROLIFIC[0]

# Pages every visitor can open; "{post}" is the author's seeded post.
PUBLIC_PAGES = [
    "/",
    "/?page=2",
    "/?page=999",
    f"/user/{AUTHOR}",
    f"/user/{PROLIFIC}?page=5",
    "/post/{post}",
    f"/followers/{AUTHOR}",
    f"/followed_by/{PROLIFIC}",
]
VIEWERS = {
    "anonymous": (None, [*PUBLIC_PAGES, "/auth/login", "/auth/register", "/auth/reset"]),
    "author": (
        seed.AUTHOR[1],
        [
            *PUBLIC_PAGES,
            "/edit/{post}",
            "/edit-profile",
            "/auth/change-password",
            "/auth/change_email",
        ],
    ),
    "moderator": (seed.MODERATOR[1], ["/moderate", "/moderate?page=2", "/post/{post}"]),
    "administrator": (
        ADMIN_EMAIL,
        [
            f"/user/{AUTHOR}",
            f"/user/{PROLIFIC}?page=9",
            "/edit/{post}",
            "/edit-profile/{author_id}",
        ],
    ),
}


def overflow(page) -> int:
    """How many CSS pixels the document is wider than the window (0 when it fits)."""
    return page.evaluate("Math.max(0, document.documentElement.scrollWidth - window.innerWidth)")


# The first elements that reach past the window's right edge, for the failure message.
WIDE_ELEMENTS = """() => {
  const found = [];
  for (const element of document.querySelectorAll("body *")) {
    const right = element.getBoundingClientRect().right;
    if (right > window.innerWidth + 0.5 && found.length < 6) {
      const classes = String(element.className || "").trim().split(/\\s+/).filter(Boolean);
      const name = [element.tagName.toLowerCase(), ...classes].join(".");
      found.push(`${name} to ${Math.round(right)}px`);
    }
  }
  return found;
}"""


def seeded_ids(page) -> dict[str, str]:
    """The author's seeded post, and the author's id where the viewer (an administrator)
    sees the "Edit Profile [Admin]" link that carries it."""
    page.goto(f"/user/{AUTHOR}")
    permalink = page.locator('.post-list a[href^="/post/"]:not([href$="/delete"])').first
    post_href = permalink.get_attribute("href")
    admin_link = page.locator('a[href^="/edit-profile/"]')
    author_id = admin_link.first.get_attribute("href") if admin_link.count() else ""
    return {"post": post_href.rsplit("/", 1)[1], "author_id": author_id.rsplit("/", 1)[-1]}


def keep_screenshots(page, viewer: str, paths: list[str]) -> None:
    for path in paths:
        page.goto(path)
        keep_failure(page, re.sub(r"[^A-Za-z0-9_.-]+", "_", f"phone-{viewer}-{path}"))


@pytest.mark.parametrize("viewer", list(VIEWERS))
def test_every_page_fits_a_phone(page, viewer):
    email, templates = VIEWERS[viewer]
    if email is not None:
        log_in(page, email)
    ids = seeded_ids(page)
    paths = [template.format(**ids) for template in templates]

    page.set_viewport_size(PHONE)
    too_wide: dict[str, tuple] = {}
    for path in paths:
        response = page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        assert page.evaluate("window.innerWidth") == PHONE["width"]
        for size in (PHONE, SMALLEST_PHONE):
            page.set_viewport_size(size)
            if excess := overflow(page):
                too_wide[f"{path} at {size['width']} px"] = excess
        page.set_viewport_size(PHONE)

    if too_wide:
        keep_screenshots(page, viewer, paths)
    assert too_wide == {}, f"pages wider than the phone (excess px): {too_wide}"
    assert page.script_errors == []


def test_the_pager_collapses_on_a_phone(page):
    page.set_viewport_size(PHONE)
    page.goto(f"/user/{PROLIFIC}?page=5")
    pager = page.locator(".pagination")
    shown = [text.strip() for text in pager.locator("li:visible").all_inner_texts()]
    # Previous, the current page and its neighbours, next.
    assert shown == ["«", "4", "5", "6", "»"], shown

    page.set_viewport_size(DESKTOP)
    shown = [text.strip() for text in pager.locator("li:visible").all_inner_texts()]
    assert len(shown) > 5 and "1" in shown and "…" in shown, shown


def test_the_profile_stacks_on_a_phone(page):
    page.set_viewport_size(PHONE)
    page.goto(f"/user/{AUTHOR}")
    picture = page.locator(".profile-header img").bounding_box()
    heading = page.locator(".profile-header h1").bounding_box()
    assert heading["y"] >= picture["y"] + picture["height"], (picture, heading)

    page.set_viewport_size(DESKTOP)
    picture = page.locator(".profile-header img").bounding_box()
    heading = page.locator(".profile-header h1").bounding_box()
    assert heading["x"] >= picture["x"] + picture["width"], (picture, heading)
