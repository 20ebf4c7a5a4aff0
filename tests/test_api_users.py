"""API users: the book's users test and the user JSON."""

from __future__ import annotations

import pytest

from tests.factories import make_post, make_user


async def test_users(api, session):
    john = await make_user(session, username="john", email="john@example.com", password="cat")
    susan = await make_user(session, username="susan", email="susan@example.com", password="dog")
    await make_post(session, susan)
    await make_post(session, susan)

    for user, auth in ((john, ("susan@example.com", "dog")), (susan, ("john@example.com", "cat"))):
        response = await api.get(f"/api/v1/users/{user.id}", auth=auth)
        assert response.status_code == 200
        assert response.json["username"] == user.username

    body = (await api.get(f"/api/v1/users/{susan.id}", auth=("john@example.com", "cat"))).json
    base = f"http://localhost/api/v1/users/{susan.id}"
    assert body == {
        "url": base,
        "username": "susan",
        "member_since": susan.member_since.isoformat(),
        "last_seen": susan.last_seen.isoformat(),
        "posts_url": f"{base}/posts/",
        "followed_posts_url": f"{base}/timeline/",
        "post_count": 2,
    }


async def test_user_json_keeps_private_fields_private(api, session):
    john = await make_user(session, email="john@example.com", password="cat", location="Here")
    body = (await api.get(f"/api/v1/users/{john.id}", auth=("john@example.com", "cat"))).json
    assert not {"email", "password_hash", "password", "location", "role_id"} & set(body)


@pytest.mark.parametrize("user_id", ["999", "0", str(2**64)])
async def test_unknown_user_is_404(api, session, user_id):
    await make_user(session, email="john@example.com", password="cat")
    response = await api.get(f"/api/v1/users/{user_id}", auth=("john@example.com", "cat"))
    assert response.status_code == 404
    assert response.json["error"] == "not found"
