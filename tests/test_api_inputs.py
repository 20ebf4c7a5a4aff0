"""Bad request bodies on every endpoint that reads one: each is a 4xx with a message, never a
500, and nothing is saved (SPEC §6, issue 5 point 3)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from flasky.models import Comment, Post
from tests.factories import make_post, make_user

MAX_CONTENT_LENGTH = 64 * 1024  # above the longest post the forms allow


@pytest.fixture
def app_config() -> dict:
    return {"MAX_CONTENT_LENGTH": MAX_CONTENT_LENGTH}


@dataclass
class Target:
    method: str
    url: str


@pytest.fixture
async def existing_post(session, john) -> Post:
    return await make_post(session, john, body="original")


@pytest.fixture(params=["new_post", "edit_post", "new_post_comment"])
def target(request, existing_post) -> Target:
    return {
        "new_post": Target("POST", "/api/v1/posts/"),
        "edit_post": Target("PUT", f"/api/v1/posts/{existing_post.id}"),
        "new_post_comment": Target("POST", f"/api/v1/posts/{existing_post.id}/comments/"),
    }[request.param]


JSON = {"Content-Type": "application/json"}

BAD_BODIES = {
    # name: (raw body, headers, expected status)
    "malformed json": (b'{"body": "unfinished', JSON, 400),
    "trailing garbage": (b'{"body": "x"} extra', JSON, 400),
    "not utf-8": (b'{"body": "\xff\xfe\xfa"}', JSON, 400),
    "deeply nested": (b"[" * 100_000 + b"]" * 100_000, JSON, 413),
    "nested within limit": (b"[" * 2000 + b"]" * 2000, JSON, 400),
    "no body at all": (b"", JSON, 400),
    "whitespace only": (b"   \n", JSON, 400),
    "json null": (b"null", JSON, 400),
    "a list": (json.dumps([{"body": "x"}]).encode(), JSON, 400),
    "a string": (json.dumps("body").encode(), JSON, 400),
    "a number": (b"5", JSON, 400),
    "empty object": (b"{}", JSON, 400),
    "body is a number": (json.dumps({"body": 5}).encode(), JSON, 400),
    "body is null": (json.dumps({"body": None}).encode(), JSON, 400),
    "body is a list": (json.dumps({"body": ["x"]}).encode(), JSON, 400),
    "body is an object": (json.dumps({"body": {"text": "x"}}).encode(), JSON, 400),
    "body is true": (json.dumps({"body": True}).encode(), JSON, 400),
    "body is empty": (json.dumps({"body": ""}).encode(), JSON, 400),
    "body is blank": (json.dumps({"body": " \t\n "}).encode(), JSON, 400),
    "body has a NUL": (json.dumps({"body": "a\u0000b"}).encode(), JSON, 400),
    "body has a lone surrogate": (b'{"body": "a\\ud800b"}', JSON, 400),
    "wrong content type": (json.dumps({"body": "x"}).encode(), {"Content-Type": "text/plain"}, 415),
    "form encoded": (b"body=x", {"Content-Type": "application/x-www-form-urlencoded"}, 415),
    "no content type": (json.dumps({"body": "x"}).encode(), {}, 415),
    "oversized": (json.dumps({"body": "x" * MAX_CONTENT_LENGTH}).encode(), JSON, 413),
}


async def saved_state(session) -> tuple[int, int, list[tuple[str, str | None]]]:
    session.expire_all()
    posts = (await session.execute(select(Post.body, Post.body_html).order_by(Post.id))).all()
    comments = await session.scalar(select(func.count(Comment.id)))
    await session.commit()  # SQLite: give the app its one connection back
    return len(posts), comments, [tuple(p) for p in posts]


@pytest.mark.parametrize("case", list(BAD_BODIES))
async def test_bad_input_is_a_4xx_and_saves_nothing(api, session, target, case):
    raw, headers, status = BAD_BODIES[case]
    before = await saved_state(session)
    response = await api.request(
        target.method, target.url, auth=("john@example.com", "cat"), data=raw, headers=headers
    )
    assert response.status_code == status, response.json
    assert response.json["error"]
    assert response.json["message"]
    assert await saved_state(session) == before


@pytest.mark.parametrize("too_long", [False, True])
async def test_bodies_are_capped_like_the_forms(api, session, target, too_long):
    from flasky.models.comment import COMMENT_MAX_LENGTH
    from flasky.models.post import POST_MAX_LENGTH

    limit = COMMENT_MAX_LENGTH if target.url.endswith("/comments/") else POST_MAX_LENGTH
    before = await saved_state(session)
    response = await api.request(
        target.method,
        target.url,
        auth=("john@example.com", "cat"),
        json={"body": "x" * (limit + too_long)},
    )
    if too_long:
        assert response.status_code == 400
        assert str(limit) in response.json["message"]
        assert await saved_state(session) == before
    else:
        assert response.status_code in (200, 201)


async def test_the_same_requests_succeed_when_well_formed(api, session, target):
    # The control: what the bad cases above get wrong is the body, not the request.
    response = await api.request(
        target.method,
        target.url,
        auth=("john@example.com", "cat"),
        data=json.dumps({"body": "fine"}).encode(),
        headers=JSON,
    )
    assert response.status_code in (200, 201)


async def test_json_with_a_charset_is_accepted(api, john):
    response = await api.post(
        "/api/v1/posts/",
        auth=("john@example.com", "cat"),
        data=json.dumps({"body": "ünïcode ✓"}).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201
    assert response.json["body"] == "ünïcode ✓"


async def test_body_is_checked_after_permissions(api, session, existing_post):
    # Someone who may not edit the post learns nothing about its validation.
    await make_user(session, email="susan@example.com", password="dog")
    response = await api.put(
        f"/api/v1/posts/{existing_post.id}", auth=("susan@example.com", "dog"), data=b"{"
    )
    assert response.status_code == 403
