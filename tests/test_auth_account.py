"""Changing the password, resetting a forgotten one, changing the email address, and CSRF
on the account forms."""

from __future__ import annotations

import asyncio
import re

import pytest

from flasky import security
from flasky.models.user import email_hash
from tests.factories import make_user
from tests.test_auth import expired_token, link_in, log_in, path_of, text_of, user_by_email

# New passwords the password rule accepts.
DOG = "dog-kennel-lantern"
FOX = "fox-burrow-orchard"


@pytest.fixture
async def ann(session):
    return await make_user(session, username="ann", email="ann@example.com")


# -- change password -------------------------------------------------------------------------


async def change_password(client, old="cat", new=DOG, confirm=None, **kwargs):
    form = {"old_password": old, "password": new, "password2": confirm or new}
    return await client.post("/auth/change-password", form=form, **kwargs)


async def test_change_password(client, session, ann):
    await log_in(client, "ann@example.com")
    assert (await client.get("/auth/change-password")).status_code == 200
    response = await change_password(client)
    assert response.status_code == 302
    response = await client.get(response.headers["Location"])
    assert "Your password has been updated." in await text_of(response)
    user = await user_by_email(session, "ann@example.com")
    assert await user.check_password(DOG)
    assert not await user.check_password("cat")


async def test_change_password_with_wrong_old_password(client, session, ann):
    await log_in(client, "ann@example.com")
    response = await change_password(client, old="wrong")
    assert response.status_code == 200
    assert "Invalid password." in await text_of(response)
    assert await (await user_by_email(session, "ann@example.com")).check_password("cat")


async def test_change_password_needs_matching_passwords(client, session, ann):
    await log_in(client, "ann@example.com")
    response = await change_password(client, new=DOG, confirm="dgo")
    assert "Passwords must match." in await text_of(response)
    assert await (await user_by_email(session, "ann@example.com")).check_password("cat")


async def test_change_password_needs_a_login(client):
    response = await change_password(client)
    assert response.headers["Location"].startswith("/auth/login?next=")


# -- password reset --------------------------------------------------------------------------


async def request_reset(client, email):
    return await client.post("/auth/reset", form={"email": email})


@pytest.mark.parametrize("email", ["ann@example.com", "nobody@example.com"])
async def test_reset_request_answers_the_same_whether_or_not_the_address_exists(
    client, ann, outbox, email
):
    response = await request_reset(client, email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login"
    html = await text_of(await client.get("/auth/login"))
    assert "An email with instructions to reset your password has been sent to you." in html
    assert [m["To"] for m in outbox] == (["ann@example.com"] if email == "ann@example.com" else [])


async def test_password_reset_through_the_mailed_link(client, session, ann, outbox):
    await request_reset(client, "ANN@example.com")
    (message,) = outbox
    assert message["Subject"] == "[Flasky] Reset Your Password"
    path = path_of(link_in(message, "/auth/reset"))
    assert (await client.get(path)).status_code == 200

    response = await client.post(path, form={"password": DOG, "password2": DOG})
    assert response.headers["Location"] == "/auth/login"
    assert "Your password has been updated." in await text_of(await client.get("/auth/login"))
    assert (await log_in(client, "ann@example.com", DOG)).status_code == 302


async def test_password_reset_needs_matching_passwords(client, session, ann):
    path = f"/auth/reset/{ann.generate_reset_token()}"
    response = await client.post(path, form={"password": DOG, "password2": "cat"})
    assert response.status_code == 200
    assert "Passwords must match." in await text_of(response)
    assert await (await user_by_email(session, "ann@example.com")).check_password("cat")


@pytest.mark.parametrize("kind", ["garbage", "expired", "confirm_purpose", "unknown_user"])
async def test_bad_reset_tokens_are_refused(client, session, ann, kind):
    token = {
        "garbage": "xyz",
        "expired": expired_token(security.RESET, {"reset": ann.id}),
        "confirm_purpose": ann.generate_confirmation_token(),
        "unknown_user": security.make_token(security.RESET, {"reset": 9999}),
    }[kind]
    response = await client.post(f"/auth/reset/{token}", form={"password": DOG, "password2": DOG})
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/reset"
    html = await text_of(await client.get("/auth/reset"))
    assert "The password reset link is invalid or has expired." in html
    assert await (await user_by_email(session, "ann@example.com")).check_password("cat")


async def assert_dead_reset_link(client, response) -> None:
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/reset"
    html = await text_of(await client.get("/auth/reset"))
    assert "The password reset link is invalid or has expired." in html


async def test_a_reset_link_works_once(client, session, ann, outbox):
    await request_reset(client, "ann@example.com")
    path = path_of(link_in(outbox[0], "/auth/reset"))
    response = await client.post(path, form={"password": DOG, "password2": DOG})
    assert response.headers["Location"] == "/auth/login"

    await assert_dead_reset_link(client, await client.get(path))
    response = await client.post(path, form={"password": FOX, "password2": FOX})
    await assert_dead_reset_link(client, response)
    assert await (await user_by_email(session, "ann@example.com")).check_password(DOG)


async def test_a_reset_link_dies_when_the_password_changes_otherwise(client, session, ann):
    path = f"/auth/reset/{ann.generate_reset_token()}"
    await log_in(client, "ann@example.com")
    await change_password(client)
    await client.post("/auth/logout")
    response = await client.post(path, form={"password": FOX, "password2": FOX})
    await assert_dead_reset_link(client, response)
    assert await (await user_by_email(session, "ann@example.com")).check_password(DOG)


async def test_one_reset_link_used_twice_at_once_changes_the_password_once(
    app, session, ann, monkeypatch
):
    # Both requests check the link, then both hash (the slow step) before either writes.
    both_hashing = asyncio.Barrier(2)
    real_hash = security.hash_password_async

    async def hash_when_both_arrive(password: str) -> str:
        await both_hashing.wait()
        return await real_hash(password)

    monkeypatch.setattr(security, "hash_password_async", hash_when_both_arrive)
    path = f"/auth/reset/{ann.generate_reset_token()}"
    clients = [app.test_client(), app.test_client()]
    responses = await asyncio.gather(
        *(
            browser.post(path, form={"password": password, "password2": password})
            for browser, password in zip(clients, [DOG, FOX], strict=True)
        )
    )
    locations = [response.headers["Location"] for response in responses]
    assert sorted(locations) == ["/auth/login", "/auth/reset"]
    winner = [DOG, FOX][locations.index("/auth/login")]
    assert await (await user_by_email(session, "ann@example.com")).check_password(winner)


async def test_reset_pages_send_logged_in_users_home(client, ann):
    await log_in(client, "ann@example.com")
    for path in ("/auth/reset", f"/auth/reset/{ann.generate_reset_token()}"):
        response = await client.get(path)
        assert response.headers["Location"] == "/"


# -- change email ----------------------------------------------------------------------------


async def request_email_change(client, email, password="cat"):
    return await client.post("/auth/change_email", form={"email": email, "password": password})


async def test_change_email_through_the_mailed_link(client, session, ann, outbox):
    await log_in(client, "ann@example.com")
    response = await request_email_change(client, "Ann.New@Example.com")
    assert response.headers["Location"] == "/"
    html = await text_of(await client.get("/"))
    assert (
        "An email with instructions to confirm your new email address has been sent to you." in html
    )
    (message,) = outbox
    assert message["To"] == "ann.new@example.com"
    assert (await user_by_email(session, "ann@example.com")) is not None  # not changed yet

    response = await client.get(path_of(link_in(message, "/auth/change_email")))
    assert response.headers["Location"] == "/"
    assert "Your email address has been updated." in await text_of(await client.get("/"))
    user = await user_by_email(session, "ann.new@example.com")
    assert user is not None
    assert user.avatar_hash == email_hash("ann.new@example.com")
    assert (await log_in(client, "ann.new@example.com")).status_code == 302


async def test_change_email_with_wrong_password(client, ann, outbox):
    await log_in(client, "ann@example.com")
    response = await request_email_change(client, "new@example.com", password=DOG)
    assert response.status_code == 200
    assert "Invalid email or password." in await text_of(response)
    assert outbox == []


async def test_change_email_to_a_registered_address(client, session, ann, outbox):
    await make_user(session, username="bob", email="bob@example.com")
    await log_in(client, "ann@example.com")
    response = await request_email_change(client, "BOB@example.com")
    assert response.status_code == 200
    assert "Email already registered." in await text_of(response)
    assert outbox == []


@pytest.mark.parametrize("kind", ["garbage", "expired", "other_user", "reset_purpose", "taken"])
async def test_bad_email_change_tokens_are_refused(client, session, ann, kind):
    bob = await make_user(session, username="bob", email="bob@example.com")
    token = {
        "garbage": "xyz",
        "expired": expired_token(
            security.CHANGE_EMAIL, {"change_email": ann.id, "new_email": "x@example.com"}
        ),
        "other_user": bob.generate_email_change_token("x@example.com"),
        "reset_purpose": ann.generate_reset_token(),
        # Someone registered the address after the mail was sent.
        "taken": ann.generate_email_change_token("bob@example.com"),
    }[kind]
    await log_in(client, "ann@example.com")
    response = await client.get(f"/auth/change_email/{token}", follow_redirects=True)
    assert "Invalid request." in await text_of(response)
    assert (await user_by_email(session, "ann@example.com")) is not None


async def test_an_email_change_link_dies_once_the_address_has_changed(client, session, ann, outbox):
    await log_in(client, "ann@example.com")
    await request_email_change(client, "first@example.com")
    await request_email_change(client, "second@example.com")
    first, second = (path_of(link_in(m, "/auth/change_email")) for m in outbox)
    await client.get(second)
    for path in (first, second):
        response = await client.get(path, follow_redirects=True)
        assert "Invalid request." in await text_of(response)
    assert await user_by_email(session, "second@example.com") is not None


async def test_an_email_change_link_dies_when_the_password_changes(client, session, ann, outbox):
    await log_in(client, "ann@example.com")
    await request_email_change(client, "new@example.com")
    await change_password(client)
    response = await client.get(
        path_of(link_in(outbox[0], "/auth/change_email")), follow_redirects=True
    )
    assert "Invalid request." in await text_of(response)
    assert await user_by_email(session, "ann@example.com") is not None


async def test_change_email_needs_a_login(client, ann):
    token = ann.generate_email_change_token("x@example.com")
    response = await client.get(f"/auth/change_email/{token}")
    assert response.headers["Location"].startswith("/auth/login?next=")


# -- CSRF ------------------------------------------------------------------------------------

CSRF_ON = {"WTF_CSRF_ENABLED": True}


def csrf_token_in(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token in the page"
    return match.group(1)


@pytest.mark.parametrize("app_config", [CSRF_ON])
@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/auth/login", {"email": "ann@example.com", "password": "cat"}),
        (
            "/auth/register",
            {"email": "x@example.com", "username": "x", "password": "a", "password2": "a"},
        ),
        ("/auth/reset", {"email": "ann@example.com"}),
    ],
)
async def test_post_without_csrf_token_is_rejected(client, session, ann, outbox, path, form):
    response = await client.post(path, form=form)
    assert response.status_code == 400
    assert outbox == []
    assert "flasky_auth" not in response.headers.get("Set-Cookie", "")


@pytest.mark.parametrize("app_config", [CSRF_ON])
async def test_post_with_the_pages_csrf_token_is_accepted(client, ann):
    html = await text_of(await client.get("/auth/login"))
    form = {"email": "ann@example.com", "password": "cat", "csrf_token": csrf_token_in(html)}
    response = await client.post("/auth/login", form=form)
    assert response.status_code == 302

    # Logged in, the navbar's logout form carries a token too; without one, logout is refused.
    assert (await client.post("/auth/logout")).status_code == 400
    html = await text_of(await client.get("/auth/change-password"))
    response = await client.post("/auth/logout", form={"csrf_token": csrf_token_in(html)})
    assert response.status_code == 302


@pytest.mark.parametrize("app_config", [CSRF_ON])
async def test_forged_csrf_token_is_rejected(client, ann):
    await client.get("/auth/login")
    response = await client.post(
        "/auth/login",
        form={"email": "ann@example.com", "password": "cat", "csrf_token": "forged"},
    )
    assert response.status_code == 400


# -- links are bound to what they were mailed for ------------------------------------------------


async def test_a_reset_link_dies_once_the_address_changes(client, session, ann, outbox):
    await request_reset(client, "ann@example.com")
    path = path_of(link_in(outbox[0], "/auth/reset"))
    # Someone with the account changes its address (as the owner, or having taken it over).
    ann.email = "ann.new@example.com"
    session.add(ann)
    await session.commit()
    await assert_dead_reset_link(client, await client.get(path))
    response = await client.post(path, form={"password": DOG, "password2": DOG})
    await assert_dead_reset_link(client, response)
    assert await (await user_by_email(session, "ann.new@example.com")).check_password("cat")


async def test_a_confirmation_link_confirms_only_the_address_it_was_mailed_to(
    client, session, outbox
):
    await make_user(
        session, username="joe", email="joe@example.com", confirmed=False, password="cat"
    )
    await log_in(client, "joe@example.com")
    await client.post("/auth/confirm")  # mailed to joe@example.com
    confirm_path = path_of(link_in(outbox[-1], "/auth/confirm"))
    await client.post("/auth/change_email", form={"email": "joe2@example.com", "password": "cat"})
    await client.get(path_of(link_in(outbox[-1], "/auth/change_email")))
    assert await user_by_email(session, "joe2@example.com") is not None

    response = await client.get(confirm_path, follow_redirects=True)
    assert "The confirmation link is invalid or has expired." in await text_of(response)
    assert not (await user_by_email(session, "joe2@example.com")).confirmed


async def test_a_confirmation_link_works_once(client, session, outbox):
    await make_user(session, username="joe", email="joe@example.com", confirmed=False)
    await log_in(client, "joe@example.com")
    await client.post("/auth/confirm")
    path = path_of(link_in(outbox[-1], "/auth/confirm"))
    response = await client.get(path, follow_redirects=True)
    assert "You have confirmed your account. Thanks!" in await text_of(response)
    response = await client.get(path, follow_redirects=True)
    assert "You have confirmed your account. Thanks!" not in await text_of(response)
