"""Logins that the server can end: each login is a row of the sessions table, and the cookie
is worth nothing without it. Logging out, "log out everywhere", a password change or reset
and an email change end logins (and API tokens) on the server, so a copied cookie stops
working; a login lasts FLASKY_SESSION_LIFETIME, or FLASKY_REMEMBER_LIFETIME with "Keep me
logged in", whatever the cookie says; the CSRF token is renewed at login."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from quart_auth import generate_auth_token
from sqlalchemy import delete, event, func, select

import flasky.queries.signed_in as signed_in
from flasky import security
from flasky.db import utcnow
from flasky.models import Follow, LoginSession, Role, User
from flasky.models.login_session import BROWSER, session_key
from tests.factories import api_token, login_as, make_user
from tests.test_auth import auth_cookie, link_in, log_in, path_of, text_of, user_by_email
from tests.test_auth_account import CSRF_ON, csrf_token_in

COOKIE = "flasky_auth"
NEW_PASSWORD = "dog-kennel-lantern"


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


def secret_in(app, cookie_value: str) -> str:
    (extension,) = app.extensions["QUART_AUTH"]
    return extension.load_token(cookie_value, app=app)


async def greeting(client) -> str:
    html = await text_of(await client.get("/"))
    return re.search(r"Hello,\s+(\w+)!", html).group(1)


def cookie_cleared(response) -> bool:
    header = auth_cookie(response)
    return header.startswith(f"{COOKIE}=;") and "Max-Age=0" in header


async def sessions_of(session, user: User, kind: str | None = None) -> int:
    query = select(func.count()).select_from(LoginSession).where(LoginSession.user_id == user.id)
    if kind:
        query = query.where(LoginSession.kind == kind)
    count = await session.scalar(query)
    await session.commit()
    return count


async def token_works(client, token: str) -> bool:
    response = await client.get("/api/v1/posts/", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code in (200, 401)
    return response.status_code == 200


async def change_password(client, old="cat", new=NEW_PASSWORD):
    form = {"old_password": old, "password": new, "password2": new}
    return await client.post("/auth/change-password", form=form)


# -- what the cookie holds -------------------------------------------------------------------


@pytest.mark.parametrize("remember", [False, True])
async def test_a_login_is_a_server_side_session_named_by_a_random_secret(
    app, client, session, ann, remember
):
    before = await sessions_of(session, ann, BROWSER)
    cookie = auth_cookie(await log_in(client, "ann@example.com", remember=remember))
    secret = secret_in(app, cookie.split(";")[0].split("=", 1)[1])
    row = await session.get(LoginSession, session_key(secret))
    assert row is not None and row.user_id == ann.id and row.remember is remember
    assert await sessions_of(session, ann, BROWSER) == before + 1
    # The cookie names neither the user nor their credentials, and the table keeps only
    # a digest of the secret.
    assert str(ann.id) != secret and "ann" not in secret
    assert await session.get(LoginSession, secret) is None


async def test_login_as_gives_a_working_cookie(client, ann):
    login_as(client, ann)
    assert await greeting(client) == "ann"


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param(lambda user: str(user.id), id="user-id"),
        pytest.param(lambda user: "x" * 43, id="unknown-secret"),
        pytest.param(lambda user: session_key(user.test_login_secret), id="the-stored-digest"),
    ],
)
async def test_a_signed_cookie_without_a_live_session_is_refused_and_cleared(client, ann, secret):
    client.set_cookie("localhost", COOKIE, generate_auth_token(client, secret(ann)), path="/")
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


# -- logging out ends the login on the server --------------------------------------------------


async def test_logging_out_ends_the_session_for_every_copy_of_the_cookie(app, client, session, ann):
    await log_in(client, "ann@example.com", remember=True)
    thief = copy_of_login(app, client)
    assert await greeting(thief) == "ann"

    await client.post("/auth/logout")
    assert await greeting(client) == "Stranger"
    response = await thief.get("/")
    assert "Hello, Stranger!" in await text_of(response)
    assert cookie_cleared(response)
    response = await thief.get("/auth/change-password")
    assert response.headers["Location"].startswith("/auth/login?next=")


async def test_logging_out_leaves_the_other_logins_alone(app, client, ann):
    other_browser = app.test_client()
    await log_in(other_browser, "ann@example.com")
    await log_in(client, "ann@example.com")
    await client.post("/auth/logout")
    assert await greeting(other_browser) == "ann"


# -- lifetimes, enforced by the server -------------------------------------------------------


@pytest.mark.parametrize(
    ("remember", "setting"),
    [(False, "FLASKY_SESSION_LIFETIME"), (True, "FLASKY_REMEMBER_LIFETIME")],
)
async def test_a_login_ends_after_its_lifetime_whatever_the_cookie_says(
    app, client, ann, monkeypatch, remember, setting
):
    lifetime = app.config[setting]
    assert (
        lifetime == {"FLASKY_SESSION_LIFETIME": 43200, "FLASKY_REMEMBER_LIFETIME": 2592000}[setting]
    )
    await log_in(client, "ann@example.com", remember=remember)
    logged_in_at = utcnow()

    def clock_at(seconds: float) -> None:
        moment = logged_in_at + timedelta(seconds=seconds)
        # The clock of the statement that loads the signed-in user through their login.
        monkeypatch.setattr(signed_in, "utcnow", lambda: moment)

    clock_at(lifetime - 60)
    assert await greeting(client) == "ann"
    clock_at(lifetime + 60)
    # The cookie itself is still well signed (quart-auth's own limit is a year away for
    # a session cookie the browser kept): the server's row is what refuses it.
    assert await greeting(client) == "Stranger"


async def test_the_lifetimes_are_settings(app, client, session, ann):
    app.config["FLASKY_SESSION_LIFETIME"] = 600
    app.config["FLASKY_REMEMBER_LIFETIME"] = 7200
    for remember, lifetime in ((False, 600), (True, 7200)):
        cookie = auth_cookie(await log_in(client, "ann@example.com", remember=remember))
        row = await session.get(LoginSession, session_key(secret_in(app, cookie_value(cookie))))
        await session.commit()
        assert abs((row.expires - row.created).total_seconds() - lifetime) < 1


def cookie_value(set_cookie: str) -> str:
    return set_cookie.split(";")[0].split("=", 1)[1]


async def test_expired_sessions_are_swept_at_the_next_login(client, session, ann, monkeypatch):
    await log_in(client, "ann@example.com")
    assert await sessions_of(session, ann, BROWSER) == 2  # make_user's login and this one
    later = utcnow() + timedelta(days=1)
    monkeypatch.setattr("flasky.models.login_session.utcnow", lambda: later)
    await log_in(client, "ann@example.com")
    # Both earlier logins had outlived FLASKY_SESSION_LIFETIME: only the new one is left.
    assert await sessions_of(session, ann, BROWSER) == 1


# -- "log out everywhere" ----------------------------------------------------------------------


async def test_the_change_password_page_offers_log_out_everywhere(client, ann):
    login_as(client, ann)
    html = await text_of(await client.get("/auth/change-password"))
    assert re.search(r'<form[^>]+method="post"[^>]+action="/auth/logout-everywhere"', html) or (
        re.search(r'<form[^>]+action="/auth/logout-everywhere"[^>]+method="post"', html)
    )
    assert "Log out everywhere" in html


async def test_log_out_everywhere_ends_every_login_and_token(app, client, session, ann):
    phone = app.test_client()
    await log_in(phone, "ann@example.com", remember=True)
    await log_in(client, "ann@example.com")
    token = await api_token(session, ann)
    assert await token_works(app.test_client(), token)

    response = await client.post("/auth/logout-everywhere")
    assert response.headers["Location"] == "/auth/login"
    assert "You have been logged out of every session" in await text_of(
        await client.get("/auth/login")
    )
    assert await greeting(client) == "Stranger"
    assert await greeting(phone) == "Stranger"
    assert not await token_works(app.test_client(), token)
    assert await sessions_of(session, ann) == 0
    # The account itself is fine: logging in again works.
    assert (await log_in(client, "ann@example.com")).status_code == 302
    assert await greeting(client) == "ann"


async def test_log_out_everywhere_is_a_post_and_needs_a_login(client, ann):
    login_as(client, ann)
    assert (await client.get("/auth/logout-everywhere")).status_code == 405
    assert await greeting(client) == "ann"
    response = await app_anonymous_post(client)
    assert response.headers["Location"].startswith("/auth/login?next=")


async def app_anonymous_post(client):
    anonymous = client.app.test_client()
    return await anonymous.post("/auth/logout-everywhere")


@pytest.mark.parametrize("app_config", [CSRF_ON])
async def test_log_out_everywhere_needs_the_csrf_token(client, ann):
    login_as(client, ann)
    assert (await client.post("/auth/logout-everywhere")).status_code == 400
    assert await greeting(client) == "ann"
    html = await text_of(await client.get("/auth/change-password"))
    response = await client.post(
        "/auth/logout-everywhere", form={"csrf_token": csrf_token_in(html)}
    )
    assert response.status_code == 302
    assert await greeting(client) == "Stranger"


# -- a stolen cookie or token dies with the credentials ----------------------------------------


@pytest.mark.parametrize("remember", [False, True])
async def test_changing_the_password_ends_other_logins_and_tokens_and_keeps_this_one(
    app, client, session, ann, remember
):
    await log_in(client, "ann@example.com", remember=remember)
    thief = copy_of_login(app, client)
    phone = app.test_client()
    await log_in(phone, "ann@example.com")
    token = await api_token(session, ann)

    response = await change_password(client)
    assert response.headers["Location"] == "/"
    # This browser's cookie is the one it had: nothing to re-issue.
    assert COOKIE not in response.headers.get("Set-Cookie", "")
    html = await text_of(await client.get("/"))
    assert "Your password has been updated." in html
    assert "Hello, ann!" in html

    # The thief holds a copy of this very cookie: it keeps working with it, as the owner
    # does. Other logins and every token end.
    assert await greeting(thief) == "ann"
    response = await phone.get("/")
    assert "Hello, Stranger!" in await text_of(response)
    assert cookie_cleared(response)
    assert not await token_works(app.test_client(), token)


async def test_a_refused_password_change_ends_nothing(app, client, session, ann):
    await log_in(client, "ann@example.com")
    phone = app.test_client()
    await log_in(phone, "ann@example.com")
    token = await api_token(session, ann)
    response = await change_password(client, old="wrong")
    assert "Invalid password." in await text_of(response)
    assert await greeting(phone) == "ann"
    assert await token_works(app.test_client(), token)


async def test_a_password_reset_ends_every_login_and_token(app, client, session, ann):
    await log_in(client, "ann@example.com")
    token = await api_token(session, ann)
    stranger = app.test_client()
    path = f"/auth/reset/{ann.generate_reset_token()}"
    form = {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    response = await stranger.post(path, form=form)
    assert response.headers["Location"] == "/auth/login"
    assert await greeting(client) == "Stranger"
    assert not await token_works(app.test_client(), token)
    assert (await log_in(client, "ann@example.com", NEW_PASSWORD)).status_code == 302
    assert await greeting(client) == "ann"


async def test_changing_the_address_ends_other_logins_and_tokens_and_keeps_this_one(
    app, client, session, ann, outbox
):
    await log_in(client, "ann@example.com", remember=True)
    phone = app.test_client()
    await log_in(phone, "ann@example.com")
    token = await api_token(session, ann)
    await client.post("/auth/change_email", form={"email": "ann2@example.com", "password": "cat"})
    # Asking for the change changes nothing yet.
    assert await greeting(phone) == "ann"
    assert await token_works(app.test_client(), token)

    await client.get(path_of(link_in(outbox[0], "/auth/change_email")))
    assert await greeting(client) == "ann"
    assert await greeting(phone) == "Stranger"
    assert not await token_works(app.test_client(), token)
    assert await user_by_email(session, "ann2@example.com") is not None


@pytest.mark.parametrize("change", ["email", "unconfirm"])
async def test_an_administrator_changing_a_users_address_or_confirmation_ends_their_logins(
    app, client, session, ann, change
):
    admin = await make_user(session, username="boss", role="Administrator")
    ann_browser = app.test_client()
    login_as(ann_browser, ann)
    token = await api_token(session, ann)
    login_as(client, admin)
    if change == "email":
        await edit_profile_as_admin(client, session, ann, email="ann.other@example.com")
    else:
        await edit_profile_as_admin(client, session, ann, confirmed=False)
    assert await greeting(ann_browser) == "Stranger"
    assert not await token_works(app.test_client(), token)
    assert await greeting(client) == "boss"


async def test_an_administrator_editing_only_a_name_ends_nothing(app, client, session, ann):
    admin = await make_user(session, username="boss", role="Administrator")
    ann_browser = app.test_client()
    login_as(ann_browser, ann)
    login_as(client, admin)
    await edit_profile_as_admin(client, session, ann, email=ann.email, name="Ann")
    assert await greeting(ann_browser) == "ann"


async def test_an_administrator_changing_their_own_address_stays_logged_in(app, client, session):
    admin = await make_user(session, username="boss", role="Administrator")
    await log_in(client, admin.email)
    other_browser = app.test_client()
    login_as(other_browser, admin)
    await edit_profile_as_admin(client, session, admin, email="boss.new@example.com")
    assert await greeting(client) == "boss"
    assert await greeting(other_browser) == "Stranger"


async def edit_profile_as_admin(
    client, session, user: User, email: str | None = None, confirmed: bool = True, **fields
) -> None:
    role_name = "Administrator" if user.username == "boss" else "User"
    role_id = await session.scalar(select(Role.id).where(Role.name == role_name))
    await session.commit()
    form = {"email": email or user.email, "username": user.username, "role": str(role_id)}
    if confirmed:
        form["confirmed"] = "y"
    form.update(fields)
    response = await client.post(f"/edit-profile/{user.id}", form=form)
    assert response.status_code == 302, await text_of(response)


# -- the CSRF token is renewed at login --------------------------------------------------------


@pytest.mark.parametrize("app_config", [CSRF_ON])
async def test_a_csrf_token_from_before_the_login_is_refused_after_it(app, client, ann):
    html = await text_of(await client.get("/auth/login"))
    planted = csrf_token_in(html)
    session_cookie_before = next(c.value for c in client.cookie_jar if c.name == "session")
    response = await client.post(
        "/auth/login", form={"email": "ann@example.com", "password": "cat", "csrf_token": planted}
    )
    assert response.status_code == 302

    # The token from the login page does not carry over into the logged-in session...
    response = await client.post("/auth/logout", form={"csrf_token": planted})
    assert response.status_code == 400
    # ...nor does the cookie session it lived in, planted back beside the login cookie.
    client.set_cookie("localhost", "session", session_cookie_before, path="/")
    response = await client.post("/auth/logout", form={"csrf_token": planted})
    assert response.status_code == 400
    assert await greeting(client) == "ann"

    html = await text_of(await client.get("/auth/change-password"))
    response = await client.post("/auth/logout", form={"csrf_token": csrf_token_in(html)})
    assert response.status_code == 302


# -- the session check rides on the user load -------------------------------------------------


async def test_a_logged_in_page_loads_user_role_and_session_in_one_statement(
    app, client, database, ann
):
    app.config["FLASKY_LAST_SEEN_INTERVAL"] = 3600
    login_as(client, ann)
    await client.get("/auth/unconfirmed")  # warm up: last_seen written, mark set
    statements: list[str] = []
    engine = database.start().sync_engine

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        response = await client.get("/auth/unconfirmed")  # a page that reads nothing else
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 302
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 1, statements
    assert "sessions" in reads[0] and "roles" in reads[0]


async def test_an_api_token_is_not_a_login_cookie(client, session, ann):
    token = await api_token(session, ann)
    secret = security.read_token(security.API, token)["sid"]
    client.set_cookie("localhost", COOKIE, generate_auth_token(client, secret), path="/")
    assert await greeting(client) == "Stranger"
