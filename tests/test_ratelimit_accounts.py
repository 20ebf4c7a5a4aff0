"""Wrong passwords are counted per account, whatever the client address: at login, and on
the forms that ask a signed-in user for their password again (change password, change
email). Run on each store: the worker's memory and the shared Redis."""

from __future__ import annotations

import pytest

from tests.factories import login_as, make_user

ACCOUNT_LIMITED = {
    "FLASKY_RATE_LIMITS": True,
    # Generous per-address limits: these tests are about the per-account ones.
    "RATELIMIT_LOGIN": "1000/minute",
    "RATELIMIT_LOGIN_ACCOUNT": "3/minute",
    "RATELIMIT_REAUTHENTICATION": "5/15minutes",
}


@pytest.fixture
def app_config(limit_store) -> dict:
    return {**ACCOUNT_LIMITED, **limit_store}


def from_address(n: int) -> dict:
    return {"scope_base": {"client": (f"198.51.100.{n}", 40000)}}


async def change_password(client, old: str, n: int):
    form = {"old_password": old, "password": "new password 1", "password2": "new password 1"}
    return await client.post("/auth/change-password", form=form, **from_address(n))


async def change_email(client, password: str, n: int):
    form = {"email": "elsewhere@example.com", "password": password}
    return await client.post("/auth/change_email", form=form, **from_address(n))


async def login(client, email: str, password: str, n: int):
    form = {"email": email, "password": password}
    return await client.post("/auth/login", form=form, **from_address(n))


async def assert_refused_for_the_account(response) -> None:
    assert response.status_code == 429
    minutes_or_seconds = int(response.headers["Retry-After"])
    assert minutes_or_seconds >= 1
    text = await response.get_data(as_text=True)
    assert "Too many wrong passwords for this account" in text


@pytest.mark.parametrize("form", [change_password, change_email])
async def test_five_wrong_passwords_lock_the_form_whatever_the_address(client, session, form):
    user = await make_user(session, email="alice@example.com", password="cat")
    login_as(client, user)
    for n in range(5):
        response = await form(client, "wrong", n)
        assert response.status_code == 200
    # A sixth try, from yet another address, even with the right password, is refused
    # before the password is looked at.
    await assert_refused_for_the_account(await form(client, "cat", 99))
    await assert_refused_for_the_account(await form(client, "wrong", 100))
    response = await client.get("/auth/change-password", **from_address(99))
    assert response.status_code == 200  # looking at the form is free


async def test_the_reauthentication_lock_lasts_fifteen_minutes(client, session):
    user = await make_user(session, password="cat")
    login_as(client, user)
    for n in range(5):
        await change_password(client, "wrong", n)
    response = await change_password(client, "cat", 7)
    assert response.status_code == 429
    assert 14 * 60 < int(response.headers["Retry-After"]) <= 15 * 60
    assert "Please wait 15 minutes" in await response.get_data(as_text=True)


async def test_the_lock_is_per_account(client, session):
    alice = await make_user(session, password="cat")
    bob = await make_user(session, password="dog")
    login_as(client, alice)
    for n in range(5):
        await change_password(client, "wrong", n)
    assert (await change_password(client, "cat", 9)).status_code == 429
    login_as(client, bob)
    response = await change_password(client, "dog", 9)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


async def test_right_passwords_are_not_counted(client, session):
    user = await make_user(session, email="carol@example.com", password="cat")
    login_as(client, user)
    for n in range(7):
        response = await change_email(client, "cat", n)
        assert response.status_code == 302


async def test_login_limits_each_account_whatever_the_address(client, session):
    await make_user(session, email="dave@example.com", password="cat")
    await make_user(session, email="erin@example.com", password="cat")
    for n in range(3):
        response = await login(client, "dave@example.com", "wrong", n)
        assert response.status_code == 200
    # The right password from a fourth address is refused too: the account's guesses are used.
    await assert_refused_for_the_account(await login(client, "Dave@Example.com", "cat", 50))
    # Other accounts, from the same addresses, log in as usual.
    response = await login(client, "erin@example.com", "cat", 0)
    assert response.status_code == 302


async def test_successful_logins_are_not_counted(client, session):
    await make_user(session, email="frank@example.com", password="cat")
    for n in range(6):
        response = await login(client, "frank@example.com", "cat", n)
        assert response.status_code == 302


@pytest.mark.parametrize("app_config", [{**ACCOUNT_LIMITED, "FLASKY_RATE_LIMITS": False}])
async def test_rate_limits_off_turns_the_account_limits_off(client, session):
    user = await make_user(session, email="gina@example.com", password="cat")
    login_as(client, user)
    for n in range(8):
        assert (await change_password(client, "wrong", n)).status_code == 200
        assert (await login(client, "gina@example.com", "wrong", n)).status_code == 200
