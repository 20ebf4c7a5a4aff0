"""The home page: greeting, post form, live preview, All / Followed tabs, the timeline."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from flasky.markdown import render_comment, render_post
from flasky.models import Permission, Post, Role
from tests.factories import ROLES, login_as, make_comment, make_post, make_user, sign_in_as


async def text_of(response) -> str:
    return await response.get_data(as_text=True)


def csrf_token_in(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, "no CSRF token in the page"
    return match.group(1)


async def make_reader(session):
    """A user whose role may follow and comment but not write."""
    role = Role(name="Reader", permissions=Permission.FOLLOW | Permission.COMMENT)
    session.add(role)
    await session.commit()
    return await make_user(session, role="Reader")


async def post_count(session) -> int:
    count = await session.scalar(select(func.count(Post.id)))
    await session.commit()  # SQLite has one pooled connection: don't keep it from the app
    return count


# -- greeting and post form ------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
async def test_home_greets_and_offers_the_post_form_to_writers(client, session, role):
    user = await sign_in_as(client, session, role, username="ann")
    response = await client.get("/")
    assert response.status_code == 200
    html = await text_of(response)
    if user is None:
        assert "Hello, Stranger!" in html
        assert 'name="body"' not in html
        assert 'href="/followed"' not in html
    else:
        assert "Hello, ann!" in html
        assert 'name="body"' in html
        assert 'href="/all"' in html and 'href="/followed"' in html


async def test_home_has_no_post_form_for_a_user_who_cannot_write(client, session):
    login_as(client, await make_reader(session))
    html = await text_of(await client.get("/"))
    assert 'name="body"' not in html


async def test_writing_a_post_redirects_home_and_shows_it(client, session):
    await sign_in_as(client, session, "User", username="ann")
    response = await client.post("/", form={"body": "my **first** post"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    html = await text_of(await client.get("/"))
    assert "<p>my <strong>first</strong> post</p>" in html
    post = await session.scalar(select(Post))
    assert post.body == "my **first** post"
    assert post.body_html == render_post("my **first** post")


async def test_an_empty_post_is_a_form_error_and_nothing_is_saved(client, session):
    await sign_in_as(client, session, "User")
    response = await client.post("/", form={"body": "   "})
    assert response.status_code == 200
    assert "This field is required." in await text_of(response)
    assert await post_count(session) == 0


async def test_an_overlong_post_is_a_form_error(client, session):
    await sign_in_as(client, session, "User")
    response = await client.post("/", form={"body": "x" * 50_001})
    assert response.status_code == 200
    assert "invalid-feedback" in await text_of(response)
    assert await post_count(session) == 0


async def test_posting_anonymously_redirects_to_login(client, session):
    response = await client.post("/", form={"body": "hello"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")
    assert await post_count(session) == 0


async def test_posting_without_write_permission_is_forbidden(client, session):
    login_as(client, await make_reader(session))
    response = await client.post("/", form={"body": "hello"})
    assert response.status_code == 403
    assert await post_count(session) == 0


@pytest.mark.parametrize("payload", [[1, 2], "text", 5, {"body": 5}])
async def test_a_json_body_to_a_page_form_is_a_bad_request(client, session, payload):
    await sign_in_as(client, session, "User")
    response = await client.post("/", json=payload)
    assert response.status_code == 400
    assert await post_count(session) == 0


async def test_posts_are_sanitised_and_links_kept(client, session):
    await sign_in_as(client, session, "User")
    # (A line that starts with <script> is a raw HTML block in CommonMark, Markdown and all.)
    body = (
        "see <script>alert('x')</script> https://example.com and [docs](https://docs.example.com)"
    )
    await client.post("/", form={"body": body})
    html = await text_of(await client.get("/"))
    assert "<script>alert" not in html
    assert "alert(" not in html  # the script's text goes with it
    assert 'href="https://example.com"' in html
    assert 'href="https://docs.example.com"' in html


# -- the timeline ----------------------------------------------------------------------------


async def test_timeline_lists_posts_newest_first_with_links_and_comment_counts(client, session):
    ann = await make_user(session, username="ann")
    bob = await make_user(session, username="bob")
    older = await make_post(session, ann, body="older post")
    newer = await make_post(session, bob, body="newer post")
    await make_comment(session, bob, older)
    await make_comment(session, ann, older)
    html = await text_of(await client.get("/"))
    assert html.index("newer post") < html.index("older post")
    assert f'href="/post/{older.id}"' in html and f'href="/post/{newer.id}"' in html
    assert 'href="/user/ann"' in html and 'href="/user/bob"' in html
    assert "2 Comments" in html and "0 Comments" in html
    assert 'class="flasky-time"' in html and 'data-format="fromNow"' in html
    assert re.search(r'datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"', html)
    assert "UTC</time>" in html  # readable without JavaScript


async def test_each_post_shows_its_word_count_and_reading_time(client, session):
    ann = await make_user(session, username="ann")
    short = await make_post(session, ann, body="one *two* [three](http://example.com/x)")
    await make_post(session, ann, body="word " * 450)
    await make_post(session, ann, body="single")
    for url in ("/", "/user/ann", f"/post/{short.id}"):
        html = await text_of(await client.get(url))
        assert "3 words &middot; 1 min read" in html, url  # shown as "3 words · 1 min read"
    html = await text_of(await client.get("/"))
    assert "450 words &middot; 3 min read" in html
    assert "1 word &middot; 1 min read" in html


async def test_pages_of_ascii_text_are_ascii(client, session):
    # The templates write non-ASCII punctuation as entities: one non-ASCII character makes
    # Python encode a page character by character instead of copying it.
    ann = await make_user(session, username="ann")
    post = await make_post(session, ann, body="plain *words*")
    await make_comment(session, ann, post, body="a plain comment")
    for url in ("/", "/user/ann", f"/post/{post.id}", "/auth/login", "/auth/register"):
        html = await text_of(await client.get(url))
        assert html.isascii(), (url, sorted({c for c in html if not c.isascii()}))


@pytest.mark.parametrize("role", ROLES)
async def test_edit_links_for_author_and_administrator(client, session, role):
    other = await make_user(session, username="other")
    post = await make_post(session, other, body="someone else's")
    user = await sign_in_as(client, session, role)
    own = await make_post(session, user, body="mine") if user is not None else None
    html = await text_of(await client.get("/"))
    if role == "Administrator":
        assert f'href="/edit/{post.id}"' in html and "Edit [Admin]" in html
    else:
        assert f'href="/edit/{post.id}"' not in html and "Edit [Admin]" not in html
    if own is not None:
        assert f'href="/edit/{own.id}"' in html
    assert "Permalink" in html


async def test_followed_tab_is_kept_in_a_cookie_and_shows_followed_posts(client, session):
    ann = await sign_in_as(client, session, "User", username="ann")
    bob = await make_user(session, username="bob")
    cid = await make_user(session, username="cid")
    await ann.follow(session, bob)
    await session.commit()
    await make_post(session, ann, body="by ann")
    await make_post(session, bob, body="by bob")
    await make_post(session, cid, body="by cid")

    response = await client.get("/followed")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("show_followed=1") and "Max-Age=2592000" in cookie
    html = await text_of(await client.get("/"))
    assert "by ann" in html and "by bob" in html and "by cid" not in html

    response = await client.get("/all")
    assert response.headers["Set-Cookie"].startswith("show_followed=;")
    html = await text_of(await client.get("/"))
    assert "by cid" in html


@pytest.mark.parametrize("url", ["/all", "/followed"])
async def test_timeline_choice_needs_a_login(client, url):
    response = await client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


async def test_anonymous_cookie_does_not_filter_the_timeline(client, session):
    ann = await make_user(session, username="ann")
    await make_post(session, ann, body="public post")
    client.set_cookie("localhost", "show_followed", "1")
    assert "public post" in await text_of(await client.get("/"))


# -- pagination ------------------------------------------------------------------------------


@pytest.mark.parametrize("app_config", [{"FLASKY_POSTS_PER_PAGE": 2}])
async def test_timeline_pagination(client, session):
    ann = await make_user(session, username="ann")
    for n in range(1, 6):
        await make_post(session, ann, body=f"post number {n}")

    first = await text_of(await client.get("/"))
    assert "post number 5" in first and "post number 4" in first and "post number 3" not in first
    assert 'href="/?page=2"' in first and 'href="/?page=3"' in first

    second = await text_of(await client.get("/?page=2"))
    assert "post number 3" in second and "post number 2" in second
    assert "post number 5" not in second

    last = await text_of(await client.get("/?page=3"))
    assert "post number 1" in last and "post number 2" not in last


@pytest.mark.parametrize("app_config", [{"FLASKY_POSTS_PER_PAGE": 2}])
@pytest.mark.parametrize("page", ["4", "99", str(10**30)])
async def test_a_page_past_the_end_is_empty(client, session, page):
    ann = await make_user(session, username="ann")
    for n in range(3):
        await make_post(session, ann, body=f"post number {n}")
    response = await client.get(f"/?page={page}")
    assert response.status_code == 200
    assert "post number" not in await text_of(response)


@pytest.mark.parametrize("app_config", [{"FLASKY_POSTS_PER_PAGE": 2}])
@pytest.mark.parametrize("page", ["0", "-1", "-7", "abc", ""])
async def test_odd_page_numbers_show_the_first_page(client, session, page):
    ann = await make_user(session, username="ann")
    for n in range(3):
        await make_post(session, ann, body=f"post number {n}")
    response = await client.get(f"/?page={page}")
    assert response.status_code == 200
    html = await text_of(response)
    assert "post number 2" in html and "post number 0" not in html


# -- live preview ----------------------------------------------------------------------------


async def test_preview_renders_exactly_like_the_saved_post(client, session):
    await sign_in_as(client, session, "User")
    body = "# Title\n\nbody **x** <script>bad()</script> https://example.com"
    response = await client.post("/preview", json={"body": body})
    assert response.status_code == 200
    html = (await response.get_json())["html"]
    assert html == render_post(body)
    assert "<script>" not in html and 'href="https://example.com"' in html


async def test_comment_preview_uses_the_comment_allow_list(client, session):
    await sign_in_as(client, session, "User")
    response = await client.post("/preview", json={"body": "# big *x*", "kind": "comment"})
    assert (await response.get_json())["html"] == render_comment("# big *x*")
    assert "<h1>" not in (await response.get_json())["html"]


async def test_preview_needs_a_login(client):
    response = await client.post("/preview", json={"body": "x"})
    assert response.status_code == 401
    assert (await response.get_json())["error"] == "unauthorized"


async def test_preview_needs_write_permission_for_posts(client, session):
    login_as(client, await make_reader(session))
    assert (await client.post("/preview", json={"body": "x"})).status_code == 403
    comment = await client.post("/preview", json={"body": "x", "kind": "comment"})
    assert comment.status_code == 200


@pytest.mark.parametrize(
    "payload",
    [{"body": 5}, {"nobody": "x"}, {"body": "x", "kind": "essay"}, ["x"], {"body": "x" * 50_001}],
)
async def test_preview_rejects_bad_input_with_400(client, session, payload):
    await sign_in_as(client, session, "User")
    response = await client.post("/preview", json=payload)
    assert response.status_code == 400
    assert (await response.get_json())["error"] == "bad request"


async def test_preview_is_a_post_only_endpoint(client):
    assert (await client.get("/preview")).status_code == 405


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
async def test_preview_accepts_the_csrf_token_in_a_header(client, session):
    await sign_in_as(client, session, "User")
    token = csrf_token_in(await text_of(await client.get("/")))
    refused = await client.post("/preview", json={"body": "*x*"})
    assert refused.status_code == 400
    accepted = await client.post("/preview", json={"body": "*x*"}, headers={"X-CSRFToken": token})
    assert accepted.status_code == 200
    assert (await accepted.get_json())["html"] == "<p><em>x</em></p>"


async def test_post_form_is_wired_to_the_preview_script(client, session):
    await sign_in_as(client, session, "User")
    html = await text_of(await client.get("/"))
    assert 'data-preview-url="/preview"' in html
    assert 'id="body-preview"' in html
    assert '<script src="/static/js/preview.js?v=' in html
    assert "<script>" not in html  # no inline script (CSP)
    assert (await client.get("/static/js/preview.js")).status_code == 200


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
async def test_post_form_needs_its_csrf_token(client, session):
    await sign_in_as(client, session, "User")
    assert (await client.post("/", form={"body": "hi"})).status_code == 400
    token = csrf_token_in(await text_of(await client.get("/")))
    response = await client.post("/", form={"body": "hi", "csrf_token": token})
    assert response.status_code == 302
    assert await post_count(session) == 1


# -- errors ----------------------------------------------------------------------------------


async def test_unknown_page_is_404_html_or_json(client):
    html = await client.get("/no/such/page")
    assert html.status_code == 404 and "Not Found" in await text_of(html)
    as_json = await client.get("/no/such/page", headers={"Accept": "application/json"})
    assert as_json.status_code == 404
    assert (await as_json.get_json())["error"] == "not found"
