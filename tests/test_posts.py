"""The post page and editing a post."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from flasky.markdown import render_post
from flasky.models import Post
from tests.factories import ROLES, make_post, make_user, sign_in_as


async def text_of(response) -> str:
    return await response.get_data(as_text=True)


async def reload(session, post: Post) -> Post:
    session.expunge_all()
    fresh = await session.scalar(select(Post).where(Post.id == post.id))
    await session.commit()  # SQLite has one pooled connection: don't keep it from the app
    return fresh


@pytest.mark.parametrize("role", ROLES)
async def test_post_page_shows_the_post_and_the_comment_form_to_commenters(client, session, role):
    ann = await make_user(session, username="ann")
    post = await make_post(session, ann, body="the *post*")
    await sign_in_as(client, session, role)
    response = await client.get(f"/post/{post.id}")
    assert response.status_code == 200
    html = await text_of(response)
    assert "<p>the <em>post</em></p>" in html
    assert 'href="/user/ann"' in html and f'href="/post/{post.id}"' in html
    assert 'id="comments"' in html
    assert ('name="body"' in html) == (role != "anonymous")


async def test_unknown_post_is_404(client):
    assert (await client.get("/post/12345")).status_code == 404
    assert (await client.get("/post/abc")).status_code == 404


@pytest.mark.parametrize(
    ("role", "is_author", "status"),
    [
        ("anonymous", False, 302),
        ("User", False, 403),
        ("Moderator", False, 403),
        ("User", True, 200),
        ("Moderator", True, 200),
        ("Administrator", False, 200),
    ],
)
async def test_edit_post_is_for_the_author_or_an_administrator(
    client, session, role, is_author, status
):
    viewer = await sign_in_as(client, session, role)
    author = viewer if is_author else await make_user(session, username="author")
    post = await make_post(session, author, body="original")
    response = await client.get(f"/edit/{post.id}")
    assert response.status_code == status
    if status == 302:
        assert response.headers["Location"].startswith("/auth/login")
    if status == 200:
        assert "original" in await text_of(response)
    response = await client.post(f"/edit/{post.id}", form={"body": "changed"})
    assert response.status_code == (302 if status in (200, 302) else status)
    changed = (await reload(session, post)).body == "changed"
    assert changed == (status == 200)


async def test_editing_a_post_rerenders_it_and_flashes(client, session):
    ann = await sign_in_as(client, session, "User", username="ann")
    post = await make_post(session, ann, body="old")
    response = await client.post(
        f"/edit/{post.id}", form={"body": "new **bold** <script>x()</script>"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/post/{post.id}"
    html = await text_of(await client.get(f"/post/{post.id}"))
    assert "The post has been updated." in html
    assert "<strong>bold</strong>" in html and "<script>x()" not in html
    post = await reload(session, post)
    assert post.body_html == render_post("new **bold** <script>x()</script>")


async def test_edit_page_has_the_preview(client, session):
    ann = await sign_in_as(client, session, "User")
    post = await make_post(session, ann, body="old")
    html = await text_of(await client.get(f"/edit/{post.id}"))
    assert "<h1>Edit Post</h1>" in html
    assert 'data-preview-url="/preview"' in html
    assert '<script src="/static/js/preview.js?v=' in html


async def test_an_empty_edit_is_a_form_error(client, session):
    ann = await sign_in_as(client, session, "User")
    post = await make_post(session, ann, body="keep me")
    response = await client.post(f"/edit/{post.id}", form={"body": ""})
    assert response.status_code == 200
    assert "This field is required." in await text_of(response)
    assert (await reload(session, post)).body == "keep me"


async def test_edit_unknown_post_is_404(client, session):
    await sign_in_as(client, session, "Administrator")
    assert (await client.get("/edit/999")).status_code == 404


async def test_forbidden_edit_answers_json_to_json_clients(client, session):
    author = await make_user(session, username="author")
    post = await make_post(session, author)
    await sign_in_as(client, session, "User")
    response = await client.get(f"/edit/{post.id}", headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert await response.get_json() == {"error": "forbidden"}
