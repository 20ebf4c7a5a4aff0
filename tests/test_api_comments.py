"""API comments: the book's comments test, permissions, order, pagination, moderation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from flasky.db import utcnow
from flasky.models import Comment, Permission, Role
from tests.api_client import JOHN, SUSAN
from tests.factories import make_comment, make_post, make_user

PER_PAGE = 2
MINUTE = timedelta(minutes=1)


@pytest.fixture
def app_config() -> dict:
    return {"FLASKY_COMMENTS_PER_PAGE": PER_PAGE}




async def test_comments(api, session, john, susan):
    post = await make_post(session, john, body="body of the post")

    created = await api.post(
        f"/api/v1/posts/{post.id}/comments/",
        auth=SUSAN,
        json={"body": "Good [post](http://example.com)!"},
    )
    assert created.status_code == 201
    url = created.headers["Location"]
    assert url.startswith("http://localhost/api/v1/comments/")
    assert created.json["url"] == url
    assert created.json["body"] == "Good [post](http://example.com)!"
    assert created.json["body_html"] == (
        'Good <a href="http://example.com" rel="noopener noreferrer">post</a>!'
    )
    assert created.json["post_url"] == f"http://localhost/api/v1/posts/{post.id}"
    assert created.json["author_url"] == f"http://localhost/api/v1/users/{susan.id}"

    fetched = await api.get(url, auth=JOHN)
    assert fetched.status_code == 200
    assert fetched.json == created.json

    await make_comment(session, john, post, body="Thank you!")
    comments = await api.get(f"/api/v1/posts/{post.id}/comments/", auth=SUSAN)
    assert comments.status_code == 200
    assert comments.json["count"] == 2
    assert [c["body"] for c in comments.json["comments"]] == [
        "Good [post](http://example.com)!",
        "Thank you!",
    ]

    everything = await api.get("/api/v1/comments/", auth=SUSAN)
    assert everything.status_code == 200
    assert everything.json["count"] == 2
    assert (await api.get(f"/api/v1/posts/{post.id}", auth=JOHN)).json["comment_count"] == 2


async def test_commenting_needs_the_comment_permission(api, session, john):
    post = await make_post(session, john)
    session.add(Role(name="Mute", permissions=Permission.FOLLOW))
    await session.commit()
    await make_user(session, email="mute@example.com", password="cat", role="Mute")
    response = await api.post(
        f"/api/v1/posts/{post.id}/comments/", auth=("mute@example.com", "cat"), json={"body": "x"}
    )
    assert response.status_code == 403
    assert response.json["message"] == "Insufficient permissions"
    assert await session.scalar(select(func.count(Comment.id))) == 0


async def test_comment_on_missing_post_is_404(api, session, john):
    response = await api.post("/api/v1/posts/4242/comments/", auth=JOHN, json={"body": "x"})
    assert response.status_code == 404
    assert (await api.get("/api/v1/posts/4242/comments/", auth=JOHN)).status_code == 404
    assert await session.scalar(select(func.count(Comment.id))) == 0


@pytest.mark.parametrize("comment_id", ["777", "0", str(2**40)])
async def test_missing_comment_is_404(api, john, comment_id):
    response = await api.get(f"/api/v1/comments/{comment_id}", auth=JOHN)
    assert response.status_code == 404


async def test_comment_pages(api, session, john):
    post = await make_post(session, john)
    start = utcnow() - timedelta(hours=1)
    comments = [
        await make_comment(
            session, john, post, body=f"c{i}", timestamp=start + timedelta(minutes=i)
        )
        for i in range(5)
    ]
    other_post = await make_post(session, john)
    await make_comment(session, john, other_post, body="elsewhere")

    # Under a post: oldest first, as on the site.
    bodies, url = [], f"/api/v1/posts/{post.id}/comments/"
    while url:
        page = (await api.get(url, auth=JOHN)).json
        assert page["count"] == 5
        bodies += [c["body"] for c in page["comments"]]
        url = page["next"]
    assert bodies == [c.body for c in comments]

    # All comments: newest first.
    first = (await api.get("/api/v1/comments/", auth=JOHN)).json
    assert first["count"] == 6
    assert [c["body"] for c in first["comments"]] == ["elsewhere", "c4"]
    assert first["next"] == "http://localhost/api/v1/comments/?page=2"
    third = (await api.get("/api/v1/comments/?page=3", auth=JOHN)).json
    assert third["prev"] == "http://localhost/api/v1/comments/?page=2"
    assert third["next"] is None


@pytest.mark.parametrize(("role", "sees_text"), [("User", False), ("Moderator", True)])
async def test_disabled_comment_text_is_for_moderators(api, session, john, role, sees_text):
    post = await make_post(session, john)
    comment = await make_comment(session, john, post, body="rude words", disabled=True)
    reader = await make_user(session, role=role)
    body = (await api.get(f"/api/v1/comments/{comment.id}", auth=(reader.email, "cat"))).json
    assert body["disabled"] is True
    listed = (await api.get(f"/api/v1/posts/{post.id}/comments/", auth=(reader.email, "cat"))).json
    assert listed["comments"][0] == body
    if sees_text:
        assert body["body"] == "rude words"
    else:
        assert "rude" not in body["body"] + body["body_html"]
        assert body["body"] == "This comment has been disabled by a moderator."
