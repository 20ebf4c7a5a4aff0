"""Deleting posts and comments: their author, or a moderator or administrator, on the site
(a confirm page, then a POST) and in the API (DELETE, 204)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from flasky.models import Comment, Post
from tests.api_client import JOHN, SUSAN, basic
from tests.factories import login_as, make_comment, make_post, make_user


async def count(session, model) -> int:  # noqa: ANN001
    session.expunge_all()
    total = await session.scalar(select(func.count()).select_from(model))
    await session.commit()
    return total


# -- pages -----------------------------------------------------------------------------------


async def test_author_deletes_own_post_after_confirming(client, session, john, susan):
    post = await make_post(session, john, body="going away")
    await make_comment(session, susan, post, body="a reply")
    login_as(client, john)

    listed = await (await client.get(f"/post/{post.id}")).get_data(as_text=True)
    assert f'href="/post/{post.id}/delete"' in listed
    confirm = await client.get(f"/post/{post.id}/delete")
    page = await confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "Delete this post?" in page and "going away" in page
    assert await count(session, Post) == 1  # looking changes nothing

    done = await client.post(f"/post/{post.id}/delete")
    assert done.status_code == 302 and done.location.endswith("/")
    assert await count(session, Post) == 0
    assert await count(session, Comment) == 0  # its comments went with it
    home = await (await client.get("/")).get_data(as_text=True)
    assert "The post has been deleted." in home and "No posts yet." in home


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("User", False), ("Moderator", True), ("Administrator", True)],
)
async def test_others_may_delete_a_post_only_as_moderators(client, session, john, role, allowed):
    post = await make_post(session, john)
    other = await make_user(session, role=role)
    login_as(client, other)
    listed = await (await client.get(f"/post/{post.id}")).get_data(as_text=True)
    assert (f'href="/post/{post.id}/delete"' in listed) is allowed
    response = await client.post(f"/post/{post.id}/delete")
    assert response.status_code == (302 if allowed else 403)
    assert await count(session, Post) == (0 if allowed else 1)


async def test_comment_deleted_by_its_author_returns_to_the_post(client, session, john, susan):
    post = await make_post(session, john)
    comment = await make_comment(session, susan, post, body="oops")
    login_as(client, susan)
    page = await (await client.get(f"/post/{post.id}")).get_data(as_text=True)
    assert f'href="/comment/{comment.id}/delete"' in page
    assert f'href="/post/{post.id}/delete"' not in page  # not her post
    assert "Delete this comment?" in await (
        await client.get(f"/comment/{comment.id}/delete")
    ).get_data(as_text=True)
    done = await client.post(f"/comment/{comment.id}/delete")
    assert done.status_code == 302 and f"/post/{post.id}" in done.location
    assert await count(session, Comment) == 0
    assert await count(session, Post) == 1
    after = await (await client.get(f"/post/{post.id}")).get_data(as_text=True)
    assert "The comment has been deleted." in after and "No comments yet." in after


async def test_deleting_needs_a_login_a_post_and_an_existing_item(client, session, john, susan):
    post = await make_post(session, john)
    comment = await make_comment(session, john, post)
    assert (await client.post(f"/post/{post.id}/delete")).status_code in (302, 401)
    login_as(client, susan)
    assert (await client.post(f"/comment/{comment.id}/delete")).status_code == 403
    assert (await client.post("/post/999999/delete")).status_code == 404
    assert (await client.post("/comment/999999/delete")).status_code == 404
    assert (await client.put(f"/post/{post.id}/delete")).status_code == 405
    assert await count(session, Post) == 1 and await count(session, Comment) == 1


# -- API -------------------------------------------------------------------------------------


async def test_api_deletes_own_post_and_comment(client, api, session, john, susan):
    post = await make_post(session, john)
    mine = await make_comment(session, susan, post)
    theirs = await make_comment(session, john, post)

    forbidden = await api.delete(f"/api/v1/comments/{theirs.id}", auth=SUSAN)
    assert forbidden.status_code == 403
    gone = await client.delete(f"/api/v1/comments/{mine.id}", headers=basic(*SUSAN))
    assert gone.status_code == 204 and await gone.get_data() == b""
    assert (await api.delete(f"/api/v1/comments/{mine.id}", auth=SUSAN)).status_code == 404

    assert (await api.delete(f"/api/v1/posts/{post.id}", auth=SUSAN)).status_code == 403
    gone = await client.delete(f"/api/v1/posts/{post.id}", headers=basic(*JOHN))
    assert gone.status_code == 204
    assert await count(session, Post) == 0 and await count(session, Comment) == 0
    assert (await api.delete(f"/api/v1/posts/{post.id}", auth=JOHN)).status_code == 404
    assert (await api.delete("/api/v1/posts/1")).status_code == 401


async def test_api_moderator_deletes_any_post(client, session, john):
    post = await make_post(session, john)
    await make_user(session, email="mod@example.com", password="m", role="Moderator")
    gone = await client.delete(f"/api/v1/posts/{post.id}", headers=basic("mod@example.com", "m"))
    assert gone.status_code == 204


async def test_openapi_describes_the_deletes(api, john):
    document = (await api.get("/api/v1/openapi.json", auth=JOHN)).json
    for path in ("/posts/{id}", "/comments/{id}"):
        assert "204" in document["paths"][path]["delete"]["responses"]
