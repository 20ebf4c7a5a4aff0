"""Follow / unfollow (POST forms with CSRF) and the followers / followed-by pages."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import exists, select

from flasky.models import Follow, Permission, Role
from tests.factories import ROLES, login_as, make_user, sign_in_as


async def text_of(response) -> str:
    return await response.get_data(as_text=True)


async def follows(session, follower, followed) -> bool:
    found = await session.scalar(
        select(exists().where(Follow.follower_id == follower.id, Follow.followed_id == followed.id))
    )
    await session.commit()  # SQLite has one pooled connection: don't keep it from the app
    return bool(found)


async def test_follow_and_unfollow_with_the_book_messages(client, session):
    ann = await sign_in_as(client, session, "User", username="ann")
    bob = await make_user(session, username="bob")

    response = await client.post("/follow/bob")
    assert response.status_code == 302 and response.headers["Location"] == "/user/bob"
    assert "You are now following bob." in await text_of(await client.get("/user/bob"))
    assert await follows(session, ann, bob)

    await client.post("/follow/bob")
    assert "You are already following this user." in await text_of(await client.get("/user/bob"))

    response = await client.post("/unfollow/bob")
    assert response.status_code == 302 and response.headers["Location"] == "/user/bob"
    html = await text_of(await client.get("/user/bob"))
    assert "You are not following bob anymore." in html
    assert not await follows(session, ann, bob)

    await client.post("/unfollow/bob")
    assert "You are not following this user." in await text_of(await client.get("/user/bob"))


@pytest.mark.parametrize("action", ["follow", "unfollow"])
async def test_following_an_unknown_user_is_invalid(client, session, action):
    await sign_in_as(client, session, "User")
    response = await client.post(f"/{action}/nobody")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Invalid user." in await text_of(await client.get("/"))


async def test_nobody_unfollows_themself(client, session):
    ann = await sign_in_as(client, session, "User", username="ann")
    await client.post("/unfollow/ann")
    assert await follows(session, ann, ann)
    assert "You cannot unfollow yourself." in await text_of(await client.get("/user/ann"))


@pytest.mark.parametrize("action", ["follow", "unfollow"])
async def test_get_on_follow_is_405_and_changes_nothing(client, session, action):
    ann = await sign_in_as(client, session, "User", username="ann")
    bob = await make_user(session, username="bob")
    if action == "unfollow":
        await ann.follow(session, bob)
        await session.commit()
    response = await client.get(f"/{action}/bob")
    assert response.status_code == 405
    assert await follows(session, ann, bob) == (action == "unfollow")


@pytest.mark.parametrize("role", ROLES)
async def test_follow_needs_the_follow_permission(client, session, role):
    bob = await make_user(session, username="bob")
    user = await sign_in_as(client, session, role)
    response = await client.post("/follow/bob")
    assert response.status_code == 302
    if user is None:
        assert response.headers["Location"].startswith("/auth/login")
    else:
        assert await follows(session, user, bob)


async def test_follow_without_permission_is_forbidden(client, session):
    session.add(Role(name="Mute", permissions=Permission.COMMENT))
    await session.commit()
    mute = await make_user(session, role="Mute")
    bob = await make_user(session, username="bob")
    login_as(client, mute)
    assert (await client.post("/follow/bob")).status_code == 403
    assert not await follows(session, mute, bob)
    assert 'action="/follow/bob"' not in await text_of(await client.get("/user/bob"))


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
@pytest.mark.parametrize("action", ["follow", "unfollow"])
async def test_follow_forms_need_a_csrf_token(client, session, action):
    ann = await sign_in_as(client, session, "User", username="ann")
    bob = await make_user(session, username="bob")
    if action == "unfollow":
        await ann.follow(session, bob)
        await session.commit()
    before = await follows(session, ann, bob)

    assert (await client.post(f"/{action}/bob")).status_code == 400
    assert (await client.post(f"/{action}/bob", form={"csrf_token": "forged"})).status_code == 400
    assert await follows(session, ann, bob) == before

    html = await text_of(await client.get("/user/bob"))
    form = re.search(
        rf'action="/{action}/bob"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)"',
        html,
    )
    assert form, "the button is a form carrying the CSRF token"
    response = await client.post(f"/{action}/bob", form={"csrf_token": form.group(1)})
    assert response.status_code == 302
    assert await follows(session, ann, bob) != before


# -- followers and followed-by pages ---------------------------------------------------------


async def test_followers_page_lists_followers_without_the_self_follow(client, session):
    ann = await make_user(session, username="ann")
    bob = await make_user(session, username="bob")
    cid = await make_user(session, username="cid")
    await bob.follow(session, ann)
    await cid.follow(session, ann)
    await session.commit()

    response = await client.get("/followers/ann")
    assert response.status_code == 200
    html = await text_of(response)
    assert "Followers of ann" in html
    assert 'href="/user/bob"' in html and 'href="/user/cid"' in html
    assert 'href="/user/ann"' not in html
    assert 'class="flasky-time"' in html

    html = await text_of(await client.get("/followed_by/bob"))
    assert "Followed by bob" in html
    assert 'href="/user/ann"' in html and 'href="/user/bob"' not in html


async def test_a_user_with_no_follows_has_empty_lists(client, session):
    await make_user(session, username="ann")
    for url in ("/followers/ann", "/followed_by/ann"):
        html = await text_of(await client.get(url))
        assert 'href="/user/ann"' not in html


@pytest.mark.parametrize("url", ["/followers/nobody", "/followed_by/nobody"])
async def test_follow_lists_of_unknown_user_are_invalid(client, url):
    response = await client.get(url)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Invalid user." in await text_of(await client.get("/"))


@pytest.mark.parametrize("app_config", [{"FLASKY_FOLLOWERS_PER_PAGE": 2}])
async def test_followers_are_paginated(client, session):
    ann = await make_user(session, username="ann")
    for n in range(5):
        fan = await make_user(session, username=f"fan{n}")
        await fan.follow(session, ann)
        await session.commit()

    def fans_in(html: str) -> set[str]:
        return set(re.findall(r'href="/user/(fan\d)"', html))

    pages = [
        fans_in(await text_of(await client.get(f"/followers/ann?page={p}"))) for p in (1, 2, 3)
    ]
    assert [len(page) for page in pages] == [2, 2, 1]
    assert set().union(*pages) == {f"fan{n}" for n in range(5)}
    first = await text_of(await client.get("/followers/ann"))
    assert 'href="/followers/ann?page=3"' in first
    past = await client.get("/followers/ann?page=9")
    assert past.status_code == 200 and not fans_in(await text_of(past))
