"""What each response tells caches: nothing personal is kept by a shared cache or stored by
the browser; visitors' pages are revalidated; static files are cached for a year under URLs
that change with their content."""

from __future__ import annotations

import hashlib
import re

import pytest

from flasky.config import ROOT
from tests.factories import basic_auth, login_as, make_post, make_user


def directives(response) -> set[str]:
    return {part.strip() for part in response.headers.get("Cache-Control", "").split(",")}


async def static_urls(client, path: str = "/") -> list[str]:
    html = await (await client.get(path)).get_data(as_text=True)
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', html)


@pytest.mark.parametrize("path", ["/", "/user/{username}", "/edit-profile", "/post/{post}"])
async def test_pages_a_signed_in_user_sees_are_never_stored(client, session, path):
    user = await make_user(session)
    post = await make_post(session, user)
    login_as(client, user)
    response = await client.get(path.format(username=user.username, post=post.id))
    assert response.status_code == 200
    assert {"private", "no-store"} <= directives(response)
    assert "Cookie" in response.headers["Vary"]


async def test_the_api_is_never_stored(client, session):
    await make_user(session, email="api@example.com", password="cat")
    response = await client.get("/api/v1/posts/", headers=basic_auth("api@example.com", "cat"))
    assert response.status_code == 200
    assert {"private", "no-store"} <= directives(response)


@pytest.mark.parametrize("path", ["/", "/auth/login", "/user/{username}"])
async def test_visitors_pages_stay_in_the_browser_and_are_revalidated(client, session, path):
    user = await make_user(session)
    response = await client.get(path.format(username=user.username))
    assert response.status_code == 200
    assert directives(response) == {"private", "no-cache"}
    assert "Cookie" in response.headers["Vary"]


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
async def test_a_page_that_sets_a_cookie_is_never_stored(client):
    response = await client.get("/auth/login")  # its form's CSRF token lives in the session
    assert "Set-Cookie" in response.headers
    assert {"private", "no-store"} <= directives(response)


async def test_form_posts_and_their_redirects_are_never_stored(client, session):
    login_as(client, await make_user(session))
    response = await client.post("/", form={"body": "hello"})
    assert response.status_code == 302
    assert {"private", "no-store"} <= directives(response)


async def test_health_checks_are_never_stored(client):
    assert (await client.get("/healthz")).headers["Cache-Control"] == "no-store"


async def test_static_urls_carry_their_content_version_and_are_cached_for_a_year(client):
    urls = await static_urls(client)
    css = next(url for url in urls if url.startswith("/static/css/flasky.css"))
    content = (ROOT / "static" / "css" / "flasky.css").read_bytes()
    assert css == f"/static/css/flasky.css?v={hashlib.sha256(content).hexdigest()[:12]}"
    assert any(url.startswith("/static/bootstrap/css/bootstrap.min.css?v=") for url in urls)
    for url in urls:
        response = await client.get(url)
        assert response.status_code == 200, url
        assert directives(response) == {"public", "max-age=31536000", "immutable"}, url
        assert "Vary" not in response.headers or "Cookie" not in response.headers["Vary"]


async def test_static_files_without_a_version_are_revalidated_by_etag(client):
    response = await client.get("/static/css/flasky.css")
    assert directives(response) == {"no-cache"}
    etag = response.headers["ETag"]
    again = await client.get("/static/css/flasky.css", headers={"If-None-Match": etag})
    assert again.status_code == 304
