"""The /auth pages of SPEC §5: registration, confirmation, login and logout, the
unconfirmed gate, remember-me and the `next` parameter."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from flasky import security
from flasky.db import utcnow
from flasky.models import Role, User
from tests.factories import STRONG_PASSWORD, make_user

# -- helpers shared by the test_auth_* modules ---------------------------------------------


async def text_of(response) -> str:
    return await response.get_data(as_text=True)


async def log_in(client, email: str, password: str = "cat", remember: bool = False, **kwargs):
    form = {"email": email, "password": password}
    if remember:
        form["remember_me"] = "y"
    return await client.post("/auth/login", form=form, **kwargs)


def mail_text(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def mail_html(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def link_in(message: EmailMessage, path_prefix: str) -> str:
    """The absolute link to path_prefix/<token> in the mail's text body."""
    match = re.search(rf"https?://\S+{re.escape(path_prefix)}/\S+", mail_text(message))
    assert match, f"no {path_prefix} link in:\n{mail_text(message)}"
    return match.group(0)


def path_of(url: str) -> str:
    return urlsplit(url).path


async def user_by_email(session, email: str) -> User | None:
    """A fresh read; the transaction is ended so SQLite's one connection is free again."""
    session.expire_all()
    user = await session.scalar(select(User).where(User.email == email))
    await session.commit()
    return user


async def register(
    client, email="john@example.com", username="john", password=STRONG_PASSWORD, **kw
):
    form = {"email": email, "username": username, "password": password, "password2": password}
    form.update(kw)
    return await client.post("/auth/register", form=form)


# -- the book's client test ------------------------------------------------------------------


async def test_register_login_confirm_logout(client, outbox):
    response = await register(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login"

    response = await log_in(client, "john@example.com", STRONG_PASSWORD, follow_redirects=True)
    html = await text_of(response)
    assert re.search(r"Hello,\s+john!", html)
    assert "You have not confirmed your account yet" in html

    (message,) = outbox
    response = await client.get(path_of(link_in(message, "/auth/confirm")), follow_redirects=True)
    assert "You have confirmed your account. Thanks!" in await text_of(response)

    response = await client.post("/auth/logout", follow_redirects=True)
    assert "You have been logged out." in await text_of(response)


# -- login -----------------------------------------------------------------------------------


async def test_login_page_heading(client):
    response = await client.get("/auth/login")
    assert response.status_code == 200
    assert "<h1>Login</h1>" in await text_of(response)


async def test_login_redirects_home_and_greets_user(client, session):
    await make_user(session, username="ann", email="ann@example.com")
    response = await log_in(client, "ann@example.com")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    response = await client.get("/")
    assert "Hello, ann!" in await text_of(response)


async def test_login_email_is_case_insensitive(client, session):
    await make_user(session, username="ann", email="ann@example.com")
    response = await log_in(client, "  Ann@Example.COM ")
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("email", "password"),
    [("ann@example.com", "dog"), ("nobody@example.com", "cat"), ("ann@example.com", "")],
)
async def test_login_refused(client, session, email, password):
    await make_user(session, username="ann", email="ann@example.com")
    response = await log_in(client, email, password)
    html = await text_of(response)
    assert response.status_code == 200
    assert "<h1>Login</h1>" in html
    if password:
        assert "Invalid email or password." in html
    assert "flasky_auth" not in response.headers.get("Set-Cookie", "")


async def test_login_follows_local_next(client, session):
    await make_user(session, username="ann", email="ann@example.com")
    response = await log_in(client, "ann@example.com", query_string={"next": "/user/ann?page=2"})
    assert response.headers["Location"] == "/user/ann?page=2"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.com",
        "/\\evil.com",
        "http://evil.com",
        "https://evil.com/x",
        "evil.com",
        "///evil.com",
    ],
)
async def test_login_refuses_offsite_next(client, session, target):
    await make_user(session, username="ann", email="ann@example.com")
    response = await log_in(client, "ann@example.com", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


async def test_login_required_page_redirects_to_login_with_next(client):
    response = await client.get("/auth/change-password")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/auth/login?next=")
    assert "change-password" in location


def auth_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("flasky_auth=")]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    return cookies[0]


async def test_remember_me_gives_a_persistent_cookie(client, session):
    await make_user(session, username="ann", email="ann@example.com")
    cookie = auth_cookie(await log_in(client, "ann@example.com", remember=True))
    max_age = int(re.search(r"Max-Age=(\d+)", cookie).group(1))
    assert abs(max_age - 30 * 24 * 3600) < 24 * 3600
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookie).group(1))
    assert timedelta(days=29) < expires - utcnow() < timedelta(days=31)
    assert "HttpOnly" in cookie


async def test_without_remember_me_the_cookie_ends_with_the_browser(client, session):
    await make_user(session, username="ann", email="ann@example.com")
    cookie = auth_cookie(await log_in(client, "ann@example.com"))
    assert "Max-Age" not in cookie
    assert "Expires" not in cookie


async def test_logout_is_post_only(client, session):
    await make_user(session, username="ann", email="ann@example.com")
    await log_in(client, "ann@example.com")
    response = await client.get("/auth/logout")
    assert response.status_code == 405
    assert "Hello, ann!" in await text_of(await client.get("/"))

    response = await client.post("/auth/logout")
    assert response.status_code == 302
    assert "Hello, Stranger!" in await text_of(await client.get("/"))


async def test_logout_when_not_logged_in_goes_to_login(client):
    response = await client.post("/auth/logout")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


# -- registration ----------------------------------------------------------------------------


async def test_register_page(client):
    html = await text_of(await client.get("/auth/register"))
    for name in ("email", "username", "password", "password2"):
        assert f'name="{name}"' in html


async def test_registration_stores_a_lowercase_unconfirmed_user(client, session, outbox):
    await register(client, email="John@Example.COM")
    user = await user_by_email(session, "john@example.com")
    assert user is not None
    assert not user.confirmed
    assert user.username == "john"
    assert await user.check_password(STRONG_PASSWORD)
    assert outbox[0]["To"] == "john@example.com"


async def test_flash_after_registration(client):
    response = await register(client)
    response = await client.get(response.headers["Location"])
    assert "A confirmation email has been sent to you by email." in await text_of(response)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "ANN@example.com"}, "Email already registered."),
        ({"username": "ann"}, "Username already in use."),
        ({"password2": "dog"}, "Passwords must match."),
        ({"username": "1john"}, "Usernames must have only letters, numbers, dots or underscores"),
        (
            {"username": "john smith"},
            "Usernames must have only letters, numbers, dots or underscores",
        ),
        ({"email": "not-an-address"}, "Invalid email address."),
    ],
)
async def test_registration_errors_are_shown_beside_the_field(
    client, session, outbox, fields, message
):
    await make_user(session, username="ann", email="ann@example.com")
    response = await register(client, **fields)
    html = await text_of(response)
    assert response.status_code == 200
    assert message in html
    field = next(iter(fields)) if "password2" not in fields else "password"
    # The message sits in the feedback block tied to its input.
    assert re.search(
        rf'id="{field}"[^>]*>\s*<div class="invalid-feedback d-block" id="{field}-errors">'
        rf"\s*<div>{re.escape(message)}</div>",
        html.replace(f'aria-describedby="{field}-errors" ', ""),
    ), html
    assert outbox == []
    assert len((await session.scalars(select(User))).all()) == 1


async def test_administrator_address_becomes_administrator(app, client, session):
    app.config["FLASKY_ADMIN"] = "boss@example.com"
    await register(client, email="Boss@example.com", username="boss")
    await register(client, email="staff@example.com", username="staff")
    session.expire_all()
    roles = dict((await session.execute(select(User.username, Role.name).join(User.role))).all())
    assert roles == {"boss": "Administrator", "staff": "User"}


async def test_registered_user_follows_themself(client, session):
    from flasky.models import Follow

    await register(client)
    user = await user_by_email(session, "john@example.com")
    follows = (await session.execute(select(Follow.follower_id, Follow.followed_id))).all()
    assert follows == [(user.id, user.id)]


# -- confirmation ----------------------------------------------------------------------------


async def test_confirmation_link_is_absolute_and_from_the_request_host(client, outbox):
    await register(client)
    link = link_in(outbox[0], "/auth/confirm")
    assert link.startswith("http://localhost/auth/confirm/")
    assert link in mail_html(outbox[0])
    assert outbox[0]["Subject"] == "[Flasky] Confirm Your Account"


def expired_token(purpose: str, payload: dict) -> str:
    return security.make_token(purpose, payload, expiration=-10)


@pytest.mark.parametrize("kind", ["garbage", "expired", "other_user", "reset_purpose"])
async def test_bad_confirmation_tokens_are_refused(client, session, kind):
    user = await make_user(session, username="ann", email="ann@example.com", confirmed=False)
    other = await make_user(session, username="bob", email="bob@example.com", confirmed=False)
    token = {
        "garbage": "not-a-token",
        "expired": expired_token(security.CONFIRM, {"confirm": user.id}),
        "other_user": other.generate_confirmation_token(),
        "reset_purpose": user.generate_reset_token(),
    }[kind]
    await log_in(client, "ann@example.com")
    response = await client.get(f"/auth/confirm/{token}", follow_redirects=True)
    html = await text_of(response)
    assert "The confirmation link is invalid or has expired." in html
    assert "You have not confirmed your account yet" in html
    assert not (await user_by_email(session, "ann@example.com")).confirmed


async def test_confirmation_needs_a_login(client, session):
    user = await make_user(session, username="ann", email="ann@example.com", confirmed=False)
    response = await client.get(f"/auth/confirm/{user.generate_confirmation_token()}")
    assert response.headers["Location"].startswith("/auth/login?next=")
    assert not (await user_by_email(session, "ann@example.com")).confirmed


async def test_confirming_twice_is_harmless(client, session):
    user = await make_user(session, username="ann", email="ann@example.com")
    await log_in(client, "ann@example.com")
    response = await client.get(f"/auth/confirm/{user.generate_confirmation_token()}")
    assert response.headers["Location"] == "/"


async def test_resend_confirmation(client, session, outbox):
    user = await make_user(session, username="ann", email="ann@example.com", confirmed=False)
    await log_in(client, "ann@example.com")
    response = await client.post("/auth/confirm", follow_redirects=True)
    assert "A new confirmation email has been sent to you by email." in await text_of(response)
    (message,) = outbox
    assert message["To"] == "ann@example.com"
    await client.get(path_of(link_in(message, "/auth/confirm")))
    assert (await user_by_email(session, user.email)).confirmed


async def test_resend_confirmation_is_post_only(client, session, outbox):
    await make_user(session, username="ann", email="ann@example.com", confirmed=False)
    await log_in(client, "ann@example.com")
    assert (await client.get("/auth/confirm")).status_code == 405
    assert outbox == []


# -- the unconfirmed gate --------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/user/ann", "/moderate", "/all"])
async def test_unconfirmed_user_is_redirected_from_every_page(client, session, path):
    await make_user(session, username="ann", email="ann@example.com", confirmed=False)
    await log_in(client, "ann@example.com")
    response = await client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/unconfirmed"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/auth/unconfirmed", 200),
        ("/auth/change-password", 200),
        ("/auth/change_email", 200),
        ("/static/favicon.svg", 200),
        ("/static/bootstrap/css/bootstrap.min.css", 200),
        ("/no/such/page", 404),
    ],
)
async def test_unconfirmed_user_still_reaches_auth_pages_and_static_files(
    client, session, path, status
):
    await make_user(session, username="ann", email="ann@example.com", confirmed=False)
    await log_in(client, "ann@example.com")
    assert (await client.get(path)).status_code == status


async def test_unconfirmed_page_offers_a_resend_form(client, session):
    await make_user(session, username="ann", email="ann@example.com", confirmed=False)
    await log_in(client, "ann@example.com")
    html = await text_of(await client.get("/auth/unconfirmed"))
    assert "You have not confirmed your account yet" in html
    assert re.search(r'<form method="post" action="/auth/confirm"', html)


@pytest.mark.parametrize("who", ["anonymous", "confirmed"])
async def test_unconfirmed_page_sends_others_home(client, session, who):
    if who == "confirmed":
        await make_user(session, username="ann", email="ann@example.com")
        await log_in(client, "ann@example.com")
    response = await client.get("/auth/unconfirmed")
    assert response.headers["Location"] == "/"


async def test_api_is_not_redirected_for_unconfirmed_cookie_user(client, session):
    await make_user(session, username="ann", email="ann@example.com", confirmed=False)
    await log_in(client, "ann@example.com")
    response = await client.get("/api/v1/posts/")
    assert response.status_code != 302


# -- last_seen -------------------------------------------------------------------------------


async def set_last_seen(session, email: str, when) -> None:
    user = await user_by_email(session, email)
    user.last_seen = when
    await session.commit()


async def test_a_request_updates_a_stale_last_seen(client, session):
    await make_user(session, username="ann", email="ann@example.com")
    await log_in(client, "ann@example.com")
    long_ago = utcnow() - timedelta(days=3)
    await set_last_seen(session, "ann@example.com", long_ago)
    before = utcnow()
    await client.get("/")
    seen = (await user_by_email(session, "ann@example.com")).last_seen
    assert seen >= before - timedelta(seconds=1)


async def test_last_seen_is_written_at_most_once_a_minute_by_default(client, session):
    await make_user(session, username="ann", email="ann@example.com")
    await log_in(client, "ann@example.com")
    recent = utcnow() - timedelta(seconds=20)
    await set_last_seen(session, "ann@example.com", recent)
    await client.get("/")
    seen = (await user_by_email(session, "ann@example.com")).last_seen
    assert abs((seen - recent).total_seconds()) < 1


@pytest.mark.parametrize("app_config", [{"FLASKY_LAST_SEEN_INTERVAL": 0}])
async def test_last_seen_on_every_request_when_the_interval_is_zero(client, session):
    await make_user(session, username="ann", email="ann@example.com")
    await log_in(client, "ann@example.com")
    recent = utcnow() - timedelta(seconds=5)
    await set_last_seen(session, "ann@example.com", recent)
    await client.get("/auth/change-password")
    seen = (await user_by_email(session, "ann@example.com")).last_seen
    assert seen > recent + timedelta(seconds=4)


async def test_anonymous_requests_write_nothing(client, database):
    await client.get("/")
    before = database.statement_count
    await client.get("/auth/login")
    assert database.statement_count == before


# -- the shared form macros ------------------------------------------------------------------


async def test_form_macros_render_every_field_type(app):
    from quart import render_template_string
    from quart_wtf import QuartForm
    from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
    from wtforms.validators import DataRequired

    class EverythingForm(QuartForm):
        name = StringField("Name", validators=[DataRequired()])
        body = TextAreaField("Body")
        role = SelectField("Role", choices=[(1, "User"), (2, "Moderator")], coerce=int)
        confirmed = BooleanField("Confirmed")
        submit = SubmitField("Submit")

    async with app.test_request_context("/", method="POST"):
        form = EverythingForm(formdata=None)
        form.name.errors = ["Name is required."]
        html = await render_template_string(
            '{% from "_forms.html" import render_form, render_field %}'
            "{{ render_form(form, action='/x', id='f') }}"
            "{{ render_field(form.body, rows=3, class='extra') }}",
            form=form,
        )
    assert '<form method="post" action="/x" id="f">' in html
    assert 'class="form-control is-invalid"' in html
    assert '<div class="invalid-feedback d-block" id="name-errors">' in html
    assert 'aria-describedby="name-errors"' in html
    assert '<textarea class="form-control extra" id="body" name="body" rows="3">' in html
    assert '<select class="form-select" id="role" name="role">' in html
    assert 'class="form-check-input"' in html
    assert 'class="btn btn-primary"' in html


async def test_username_with_a_trailing_newline_is_refused(client, session):
    response = await client.post(
        "/auth/register",
        form={
            "email": "newline@example.com",
            "username": "john\n",
            "password": "cat",
            "password2": "cat",
        },
    )
    assert response.status_code == 200
    assert "Usernames must have only letters, numbers, dots or underscores" in (
        await response.get_data(as_text=True)
    )
    from sqlalchemy import func, select

    from flasky.models import User

    assert await session.scalar(select(func.count()).select_from(User)) == 0
