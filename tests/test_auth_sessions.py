"""Login cookies bound to the credentials: a copy of someone's cookie stops working when
they change their password or address, or reset the password; the session that made the
change stays logged in."""

from __future__ import annotations

import re

import pytest
from quart_auth import generate_auth_token
from sqlalchemy import delete, select

from flasky.login import AuthId, auth_id_for
from flasky.models import Follow, Role, User
from tests.factories import login_as, make_user
from tests.test_auth import auth_cookie, link_in, log_in, path_of, text_of, user_by_email

COOKIE = "flasky_auth"


@pytest.fixture
async def ann(session):
    return await make_user(session, username="ann", email="ann@example.com")


def cookie_in_jar(client) -> str | None:
    return next((c.value for c in client.cookie_jar if c.name == COOKIE), None)


def copy_of_login(app, client):
    """Another client holding the same login cookie: a thief's browser."""
    thief = app.test_client()
    thief.set_cookie("localhost", COOKIE, cookie_in_jar(client), path="/")
    return thief


def auth_id_of(app, cookie_value: str) -> AuthId | None:
    (extension,) = app.extensions["QUART_AUTH"]
    return AuthId.parse(extension.load_token(cookie_value, app=app))


async def greeting(client) -> str:
    html = await text_of(await client.get("/"))
    return re.search(r"Hello,\s+(\w+)!", html).group(1)


def cookie_cleared(response) -> bool:
    header = auth_cookie(response)
    return header.startswith(f"{COOKIE}=;") and "Max-Age=0" in header


async def change_password(client, old="cat", new="dog"):
    form = {"old_password": old, "password": new, "password2": new}
    return await client.post("/auth/change-password", form=form)


# -- what the cookie holds -------------------------------------------------------------------


@pytest.mark.parametrize("remember", [False, True])
async def test_the_cookie_names_the_user_and_fingerprints_the_credentials(
    app, client, ann, remember
):
    cookie = auth_cookie(await log_in(client, "ann@example.com", remember=remember))
    value = cookie.split(";")[0].split("=", 1)[1]
    auth_id = auth_id_of(app, value)
    assert auth_id.user_id == ann.id
    assert auth_id.remember is remember
    assert str(auth_id) == auth_id_for(ann, remember)
    # Neither the hash nor the address is readable in it.
    assert ann.password_hash not in str(auth_id) and "ann@" not in str(auth_id)


async def test_login_as_gives_a_working_cookie(client, ann):
    login_as(client, ann)
    assert await greeting(client) == "ann"


@pytest.mark.parametrize(
    "auth_id",
    [
        pytest.param(lambda user: str(user.id), id="bare-id"),
        pytest.param(lambda user: f"{user.id}:AAAAAAAAAAAAAAAA", id="wrong-fingerprint"),
        pytest.param(lambda user: f"{user.id}:", id="empty-fingerprint"),
        pytest.param(lambda user: auth_id_for(user) + ":x", id="bad-flag"),
        pytest.param(lambda user: "x:" + auth_id_for(user).split(":")[1], id="bad-id"),
        pytest.param(lambda user: "999:" + auth_id_for(user).split(":")[1], id="other-id"),
    ],
)
async def test_a_signed_cookie_without_the_right_fingerprint_is_refused_and_cleared(
    client, ann, auth_id
):
    token = generate_auth_token(client, auth_id(ann))
    client.set_cookie("localhost", COOKIE, token, path="/")
    response = await client.get("/")
    assert "Hello, Stranger!" in await text_of(response)
    assert cookie_cleared(response)
    assert cookie_in_jar(client) is None


async def test_the_cookie_of_a_deleted_user_is_refused(client, session, ann):
    login_as(client, ann)
    await session.execute(delete(Follow))
    await session.execute(delete(User).where(User.id == ann.id))
    await session.commit()
    assert await greeting(client) == "Stranger"


async def test_a_valid_cookie_is_not_rewritten(client, ann):
    login_as(client, ann)
    response = await client.get("/")
    assert COOKIE not in response.headers.get("Set-Cookie", "")


@pytest.mark.parametrize(("fallbacks", "still_logged_in"), [(["old secret"], True), ([], False)])
async def test_secret_key_rotation_keeps_sessions_only_with_the_old_key_as_fallback(
    app, client, ann, fallbacks, still_logged_in
):
    app.config["SECRET_KEY"] = "old secret"
    await log_in(client, "ann@example.com")
    app.config["SECRET_KEY"] = "new secret"
    app.config["SECRET_KEY_FALLBACKS"] = fallbacks
    assert await greeting(client) == ("ann" if still_logged_in else "Stranger")


# -- a stolen cookie dies with the credentials -----------------------------------------------


@pytest.mark.parametrize("remember", [False, True])
async def test_changing_the_password_ends_other_sessions_and_keeps_this_one(
    app, client, ann, remember
):
    await log_in(client, "ann@example.com", remember=remember)
    thief = copy_of_login(app, client)
    assert await greeting(thief) == "ann"

    response = await change_password(client)
    assert response.headers["Location"] == "/"
    cookie = auth_cookie(response)
    # Re-issued with the new fingerprint, as persistent (or not) as it was.
    assert ("Max-Age" in cookie) is remember
    assert auth_id_of(app, cookie_in_jar(client)).remember is remember
    html = await text_of(await client.get("/"))
    assert "Your password has been updated." in html
    assert "Hello, ann!" in html

    response = await thief.get("/")
    assert "Hello, Stranger!" in await text_of(response)
    assert cookie_cleared(response)
    response = await thief.get("/auth/change-password")
    assert response.headers["Location"].startswith("/auth/login?next=")


async def test_a_refused_password_change_leaves_the_cookies_alone(app, client, ann):
    await log_in(client, "ann@example.com")
    thief = copy_of_login(app, client)
    response = await change_password(client, old="wrong")
    assert "Invalid password." in await text_of(response)
    assert COOKIE not in response.headers.get("Set-Cookie", "")
    assert await greeting(thief) == "ann"


async def test_a_password_reset_ends_every_session(app, client, ann):
    await log_in(client, "ann@example.com")
    stranger = app.test_client()
    path = f"/auth/reset/{ann.generate_reset_token()}"
    response = await stranger.post(path, form={"password": "dog", "password2": "dog"})
    assert response.headers["Location"] == "/auth/login"
    assert await greeting(client) == "Stranger"
    assert (await log_in(client, "ann@example.com", "dog")).status_code == 302
    assert await greeting(client) == "ann"


async def test_changing_the_address_ends_other_sessions_and_keeps_this_one(
    app, client, session, ann, outbox
):
    await log_in(client, "ann@example.com", remember=True)
    thief = copy_of_login(app, client)
    await client.post("/auth/change_email", form={"email": "ann2@example.com", "password": "cat"})
    # Asking for the change changes nothing yet.
    assert await greeting(thief) == "ann"

    response = await client.get(path_of(link_in(outbox[0], "/auth/change_email")))
    assert "Max-Age" in auth_cookie(response)
    assert await greeting(client) == "ann"
    assert await greeting(thief) == "Stranger"
    assert await user_by_email(session, "ann2@example.com") is not None


async def test_an_administrator_changing_a_users_address_ends_that_users_sessions(
    app, client, session, ann
):
    admin = await make_user(session, username="boss", role="Administrator")
    ann_browser = app.test_client()
    login_as(ann_browser, ann)
    login_as(client, admin)
    await edit_profile_as_admin(client, session, ann, email="ann.other@example.com")
    assert await greeting(ann_browser) == "Stranger"
    assert await greeting(client) == "boss"


async def test_an_administrator_changing_their_own_address_stays_logged_in(app, client, session):
    admin = await make_user(session, username="boss", role="Administrator")
    login_as(client, admin)
    other_browser = copy_of_login(app, client)
    await edit_profile_as_admin(client, session, admin, email="boss.new@example.com")
    assert await greeting(client) == "boss"
    assert await greeting(other_browser) == "Stranger"


async def edit_profile_as_admin(client, session, user: User, email: str) -> None:
    role_id = await session.scalar(select(Role.id).where(Role.name == "User"))
    if user.username == "boss":
        role_id = await session.scalar(select(Role.id).where(Role.name == "Administrator"))
    await session.commit()
    form = {"email": email, "username": user.username, "role": str(role_id), "confirmed": "y"}
    response = await client.post(f"/edit-profile/{user.id}", form=form)
    assert response.status_code == 302, await text_of(response)
