"""API posts: the book's posts test, edit permissions, pagination, user posts and timelines."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from flasky.db import utcnow
from flasky.models import Follow, Permission, Post, Role
from tests.api_client import JOHN
from tests.factories import make_comment, make_post, make_user

PER_PAGE = 3


@pytest.fixture
def app_config() -> dict:
    return {"FLASKY_POSTS_PER_PAGE": PER_PAGE}


async def test_posts(api, john):
    empty = await api.post("/api/v1/posts/", auth=JOHN, json={"body": ""})
    assert empty.status_code == 400

    created = await api.post("/api/v1/posts/", auth=JOHN, json={"body": "body of the *blog* post"})
    assert created.status_code == 201
    url = created.headers["Location"]
    assert url.startswith("http://localhost/api/v1/posts/")
    assert created.json["url"] == url

    fetched = await api.get(url, auth=JOHN)
    assert fetched.status_code == 200
    assert fetched.json["url"] == url
    assert fetched.json["body"] == "body of the *blog* post"
    assert fetched.json["body_html"] == "<p>body of the <em>blog</em> post</p>"
    assert fetched.json["author_url"] == f"http://localhost/api/v1/users/{john.id}"
    assert fetched.json["comment_count"] == 0
    assert fetched.json["word_count"] == 5
    json_post = fetched.json

    user_posts = await api.get(f"/api/v1/users/{john.id}/posts/", auth=JOHN)
    assert user_posts.status_code == 200
    assert user_posts.json["count"] == 1
    assert user_posts.json["posts"][0] == json_post

    timeline = await api.get(f"/api/v1/users/{john.id}/timeline/", auth=JOHN)
    assert timeline.status_code == 200
    assert timeline.json["count"] == 1
    assert timeline.json["posts"][0] == json_post

    edited = await api.put(url, auth=JOHN, json={"body": "updated body"})
    assert edited.status_code == 200
    assert edited.json["url"] == url
    assert edited.json["body"] == "updated body"
    assert edited.json["body_html"] == "<p>updated body</p>"
    assert edited.json["word_count"] == 2
    assert edited.json["timestamp"] == json_post["timestamp"]


async def test_new_post_is_sanitised(api, john, session):
    created = await api.post(
        "/api/v1/posts/", auth=JOHN, json={"body": "hi <script>alert(1)</script> **x**"}
    )
    assert created.status_code == 201
    assert "<script>" not in created.json["body_html"]
    assert "<strong>x</strong>" in created.json["body_html"]


async def test_new_post_with_a_token(api, john):
    token = (await api.post("/api/v1/tokens/", auth=JOHN)).json["token"]
    created = await api.post("/api/v1/posts/", auth=token, json={"body": "by token"})
    assert created.status_code == 201
    assert created.json["author_url"].endswith(f"/users/{john.id}")


async def test_extra_members_of_a_new_post_are_ignored(api, john, session):
    created = await api.post(
        "/api/v1/posts/", auth=JOHN, json={"body": "x", "author_id": 999, "timestamp": "1999"}
    )
    assert created.status_code == 201
    post = await session.scalar(select(Post))
    assert post.author_id == john.id
    assert post.timestamp.year > 2000


async def test_writing_needs_the_write_permission(api, session):
    reader = Role(name="Reader", permissions=Permission.FOLLOW | Permission.COMMENT)
    session.add(reader)
    await session.commit()
    await make_user(session, email="reader@example.com", password="cat", role="Reader")
    response = await api.post(
        "/api/v1/posts/", auth=("reader@example.com", "cat"), json={"body": "x"}
    )
    assert response.status_code == 403
    assert response.json == {"error": "forbidden", "message": "Insufficient permissions"}
    assert await session.scalar(select(func.count(Post.id))) == 0


@pytest.mark.parametrize(
    ("editor", "status"),
    [("author", 200), ("administrator", 200), ("moderator", 403), ("someone else", 403)],
)
async def test_edit_permissions(api, session, john, editor, status):
    post = await make_post(session, john, body="original")
    emails = {
        "author": "john@example.com",
        "administrator": (await make_user(session, role="Administrator")).email,
        "moderator": (await make_user(session, role="Moderator")).email,
        "someone else": (await make_user(session, role="User")).email,
    }
    response = await api.put(
        f"/api/v1/posts/{post.id}", auth=(emails[editor], "cat"), json={"body": "changed"}
    )
    assert response.status_code == status
    await session.refresh(post)
    if status == 200:
        assert response.json["body"] == "changed"
        assert post.body == "changed"
    else:
        assert response.json == {"error": "forbidden", "message": "Insufficient permissions"}
        assert post.body == "original"
        assert post.body_html == "<p>original</p>"


async def test_missing_post_is_404(api, john):
    for url in ("/api/v1/posts/12345", "/api/v1/posts/0", f"/api/v1/posts/{2**70}"):
        response = await api.get(url, auth=JOHN)
        assert response.status_code == 404
        assert response.json["error"] == "not found"
    edit = await api.put("/api/v1/posts/12345", auth=JOHN, json={"body": "x"})
    assert edit.status_code == 404


async def test_post_counts_its_comments(api, session, john):
    post = await make_post(session, john)
    for _ in range(2):
        await make_comment(session, john, post)
    fetched = await api.get(f"/api/v1/posts/{post.id}", auth=JOHN)
    assert fetched.json["comment_count"] == 2
    assert fetched.json["comments_url"] == f"http://localhost/api/v1/posts/{post.id}/comments/"


async def test_a_posts_json_is_reused_until_the_post_changes(api, session, john, app):
    post = await make_post(session, john, body="before")
    first = await api.get(f"/api/v1/posts/{post.id}", auth=JOHN)
    kept = app.extensions["api_post_json"]
    assert len(kept) == 1
    # What a view does with its copy never reaches the kept representation.
    async with app.test_request_context("/"):
        from flasky.api.representations import post_json

        (item,) = [key[-1] for key in kept]
        post_json(item)["body"] = "changed by a caller"
        assert post_json(item)["body"] == "before"
    await make_comment(session, john, post)
    counted = await api.get(f"/api/v1/posts/{post.id}", auth=JOHN)
    edited = await api.put(f"/api/v1/posts/{post.id}", auth=JOHN, json={"body": "after"})
    assert (first.json["comment_count"], counted.json["comment_count"]) == (0, 1)
    assert edited.json["body"] == "after"
    assert (await api.get(f"/api/v1/posts/{post.id}", auth=JOHN)).json["body"] == "after"
    # Another host is another set of absolute URLs.
    other = await api.get(f"/api/v1/posts/{post.id}", auth=JOHN, headers={"Host": "other.example"})
    assert other.json["url"] == f"http://other.example/api/v1/posts/{post.id}"


async def make_posts(session, author, count: int) -> list[Post]:
    """Posts one minute apart, oldest first."""
    start = utcnow() - timedelta(hours=1)
    return [
        await make_post(session, author, body=f"post {i}", timestamp=start + timedelta(minutes=i))
        for i in range(count)
    ]


async def test_pagination_follows_next_links(api, session, john):
    posts = await make_posts(session, john, 7)
    first = await api.get("/api/v1/posts/", auth=JOHN)
    assert first.json["prev"] is None
    assert first.json["next"] == "http://localhost/api/v1/posts/?page=2"
    assert first.json["count"] == 7

    seen, url, pages = [], "/api/v1/posts/", 0
    while url:
        page = await api.get(url, auth=JOHN)
        assert page.status_code == 200
        assert len(page.json["posts"]) <= PER_PAGE
        seen += [p["url"] for p in page.json["posts"]]
        url, pages = page.json["next"], pages + 1
    assert pages == 3
    # Newest first, every post exactly once.
    assert seen == [f"http://localhost/api/v1/posts/{p.id}" for p in reversed(posts)]
    last = await api.get("/api/v1/posts/?page=3", auth=JOHN)
    assert last.json["prev"] == "http://localhost/api/v1/posts/?page=2"
    assert last.json["next"] is None


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", ""])
async def test_unusable_page_numbers_mean_the_first_page(api, session, john, page):
    await make_posts(session, john, 4)
    response = await api.get(f"/api/v1/posts/?page={page}", auth=JOHN)
    assert response.status_code == 200
    assert response.json["prev"] is None
    assert len(response.json["posts"]) == PER_PAGE


@pytest.mark.parametrize("page", ["4", str(2**31), str(10**30)])
async def test_page_past_the_end_is_empty(api, session, john, page):
    await make_posts(session, john, 4)
    response = await api.get(f"/api/v1/posts/?page={page}", auth=JOHN)
    assert response.status_code == 200
    assert response.json["posts"] == []
    assert response.json["next"] is None
    assert response.json["count"] == 4


async def test_user_posts_and_timeline(api, session, john):
    susan = await make_user(session, username="susan")
    david = await make_user(session, username="david")
    session.add(Follow(follower_id=john.id, followed_id=susan.id))
    await session.commit()
    mine = await make_post(session, john, body="john's")
    hers = await make_post(session, susan, body="susan's")
    await make_post(session, david, body="david's")

    user_posts = await api.get(f"/api/v1/users/{susan.id}/posts/", auth=JOHN)
    assert [p["body"] for p in user_posts.json["posts"]] == ["susan's"]

    timeline = await api.get(f"/api/v1/users/{john.id}/timeline/", auth=JOHN)
    assert timeline.json["count"] == 2
    assert {p["url"] for p in timeline.json["posts"]} == {
        f"http://localhost/api/v1/posts/{mine.id}",
        f"http://localhost/api/v1/posts/{hers.id}",
    }


async def test_timeline_pagination_links_keep_the_user(api, session, john):
    await make_posts(session, john, 4)
    page = await api.get(f"/api/v1/users/{john.id}/timeline/", auth=JOHN)
    assert page.json["next"] == f"http://localhost/api/v1/users/{john.id}/timeline/?page=2"
    page = await api.get(f"/api/v1/users/{john.id}/posts/?page=2", auth=JOHN)
    assert page.json["prev"] == f"http://localhost/api/v1/users/{john.id}/posts/?page=1"


async def test_posts_of_unknown_user_are_404(api, john):
    for url in ("/api/v1/users/999/posts/", "/api/v1/users/999/timeline/"):
        assert (await api.get(url, auth=JOHN)).status_code == 404


async def test_a_page_of_posts_runs_a_fixed_number_of_statements(api, session, database, john):
    urls = (
        "/api/v1/posts/",
        f"/api/v1/users/{john.id}/timeline/",
        f"/api/v1/users/{john.id}/posts/",
    )

    async def statements_for(url: str) -> int:
        before = database.statement_count
        response = await api.get(url, auth=JOHN)
        assert response.status_code == 200
        return database.statement_count - before

    post = await make_post(session, john)
    await make_comment(session, john, post)
    with_one_post = [await statements_for(url) for url in urls]

    for other in [await make_user(session) for _ in range(3)]:
        session.add(Follow(follower_id=john.id, followed_id=other.id))
        for p in await make_posts(session, other, 2):
            await make_comment(session, other, p)
    with_full_pages = [await statements_for(url) for url in urls]

    # The password check's user with their role 1 + the page, whose rows carry each post's
    # comment count and the total 1 (the timeline's user is the signed-in one, already
    # loaded; a GET takes no lock on SQLite, so no BEGIN IMMEDIATE).
    assert with_full_pages == with_one_post
    assert max(with_full_pages) <= 2
    for url in urls:  # every post here has exactly one comment
        listed = (await api.get(url, auth=JOHN)).json["posts"]
        assert listed and {post["comment_count"] for post in listed} == {1}, url
