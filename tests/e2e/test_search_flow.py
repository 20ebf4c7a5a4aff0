"""Searching from the navbar and following a result, through the browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e import seed

pytestmark = pytest.mark.e2e


def test_visitor_searches_from_the_navbar_and_follows_a_result(page):
    page.goto("/")
    box = page.get_by_role("searchbox", name="Search posts and people")
    box.fill("garden")
    box.press("Enter")

    expect(page).to_have_url(re.compile(r"/search\?q=garden$"))
    result = page.locator("li.search-result", has_text="Susan writes about")
    # "garden" found "gardens" (stemming), highlighted in the snippet.
    expect(result.locator("mark")).to_have_text("gardens")
    result.locator(".search-snippet a").click()

    expect(page).to_have_url(re.compile(r"/post/\d+$"))
    expect(page.locator(".post-body").first).to_contain_text("Susan writes about gardens.")
    assert page.script_errors == []


def test_people_are_found_by_username(page):
    author = seed.AUTHOR[0]
    page.goto("/search?q=" + author.upper())
    people = page.locator(".search-people")
    people.get_by_role("link", name=author).click()
    expect(page.locator("h1").first).to_have_text(author)
    assert page.script_errors == []
