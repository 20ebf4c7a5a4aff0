"""API tokens that can be revoked: each names a server-side session row, so it stops working
(401) when revoked with DELETE /api/v1/tokens/, and when the account's password or email
changes, its owner logs out everywhere, or an administrator changes its address. A token is
accepted as `Authorization: Bearer <token>` as well as Basic `<token>:`."""

from __future__ import annotations

import pytest

from flasky import security
from tests.api_client import APIClient
from tests.factories import api_token, make_user
from tests.test_auth import log_in

PASSWORD = ("john@example.com", "cat")


@pytest.fixture
def api(client) -> APIClient:
    return APIClient(client)


@pytest.fixture
async def john(session):
    return await make_user(session, username="john", email="john@example.com", password="cat")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


async def issue(api) -> str:
    response = await api.post("/api/v1/tokens/", auth=PASSWORD)
    assert response.status_code == 200
    return response.json["token"]


async def works(api, token: str) -> bool:
    response = await api.get("/api/v1/posts/", auth=token)
    assert response.status_code in (200, 401), response.json
    return response.status_code == 200


async def test_a_token_works_as_bearer_and_as_basic(api, client, john):
    token = await issue(api)
    assert (await client.get("/api/v1/posts/", headers=bearer(token))).status_code == 200
    assert await works(api, token)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Bearer not-a-token", id="bearer-garbage"),
        pytest.param("Bearer ", id="bearer-empty"),
        pytest.param("Digest username=x", id="other-scheme"),
        pytest.param("Bearer " + "x" * 600, id="bearer-too-long"),
    ],
)
async def test_a_bad_authorization_header_gets_a_401_naming_the_schemes(client, john, header):
    response = await client.get(
        "/api/v1/posts/", headers={"Authorization": header, "Accept": "application/json"}
    )
    assert response.status_code == 401
    message = (await response.get_json())["message"]
    assert "Basic" in message and "Bearer" in message and "token" in message


async def test_a_password_cannot_be_a_bearer_token(client, john):
    response = await client.get("/api/v1/posts/", headers=bearer("cat"))
    assert response.status_code == 401


async def test_a_bearer_token_cannot_buy_a_token(api, client, john):
    token = await issue(api)
    response = await client.post("/api/v1/tokens/", headers=bearer(token))
    assert response.status_code == 401


# -- revoking --------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["basic", "bearer"])
async def test_deleting_with_a_token_revokes_that_token_only(api, client, john, scheme):
    token, other = await issue(api), await issue(api)
    if scheme == "bearer":
        response = await client.delete("/api/v1/tokens/", headers=bearer(token))
    else:
        response = await api.delete("/api/v1/tokens/", auth=token)
    assert response.status_code == 204
    assert not await works(api, token)
    assert await works(api, other)
    # Revoked is revoked: a second DELETE with it is refused like any bad token.
    assert (await api.delete("/api/v1/tokens/", auth=token)).status_code == 401


async def test_deleting_with_the_password_revokes_every_token_of_the_account(
    app, api, session, john
):
    tokens = [await issue(api) for _ in range(3)]
    someone_else = await make_user(session, username="kim", email="kim@example.com")
    their_token = await api_token(session, someone_else)
    browser = app.test_client()
    await log_in(browser, "john@example.com")

    response = await api.delete("/api/v1/tokens/", auth=PASSWORD)
    assert response.status_code == 204
    for token in tokens:
        assert not await works(api, token)
    assert await works(api, their_token)
    # The browser login is not an API token: it carries on.
    assert "Hello, john!" in await (await browser.get("/")).get_data(as_text=True)
    # And the password still gets new tokens.
    assert await works(api, await issue(api))


async def test_deleting_needs_credentials(api, john):
    response = await api.delete("/api/v1/tokens/")
    assert response.status_code == 401


async def test_an_expired_token_is_refused_even_while_its_row_remains(api, session, john):
    token = await api_token(session, john, expiration=-1)
    assert not await works(api, token)


async def test_a_token_verified_once_still_expires_and_its_payload_is_a_copy(app, monkeypatch):
    async with app.app_context():
        token = security.make_token(security.API, {"id": 7, "sid": "s"}, expiration=60)
        first = security.read_token(security.API, token)
        first["id"] = 8  # the caller's copy: the remembered payload is unchanged
        assert security.read_token(security.API, token)["id"] == 7
        # Remembered, and still refused once its time is up.
        real_time = security.time.time
        monkeypatch.setattr(security.time, "time", lambda: real_time() + 120)
        with pytest.raises(security.InvalidToken, match="expired"):
            security.read_token(security.API, token)
        monkeypatch.undo()
        # Another purpose or another key is another check, not the remembered payload.
        with pytest.raises(security.InvalidToken):
            security.read_token(security.CONFIRM, token)
        with pytest.raises(security.InvalidToken):
            security.read_token(security.API, token, secret_key="another key")
        with pytest.raises(security.InvalidToken):
            security.read_token(
                security.API, token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
            )


async def test_a_forged_token_naming_a_live_session_of_another_user_is_refused(api, session, john):
    kim = await make_user(session, username="kim", email="kim@example.com")
    token = await api_token(session, kim)
    sid = security.read_token(security.API, token)["sid"]
    # Only someone holding SECRET_KEY could sign this; the user id must still match the row.
    forged = security.make_token(security.API, {"id": john.id, "sid": sid})
    assert not await works(api, forged)


# -- tokens end with the credentials -----------------------------------------------------------

NEW_PASSWORD = "dog-kennel-lantern"


async def test_a_password_change_revokes_tokens(app, api, john):
    token = await issue(api)
    browser = app.test_client()
    await log_in(browser, "john@example.com")
    form = {"old_password": "cat", "password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    assert (await browser.post("/auth/change-password", form=form)).status_code == 302
    response = await api.get("/api/v1/posts/", auth=token)
    assert response.status_code == 401
    assert await works(api, await issue_with(api, NEW_PASSWORD))


async def issue_with(api, password: str) -> str:
    response = await api.post("/api/v1/tokens/", auth=("john@example.com", password))
    assert response.status_code == 200
    return response.json["token"]


async def test_a_password_reset_revokes_tokens(app, api, john):
    token = await issue(api)
    form = {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    response = await app.test_client().post(f"/auth/reset/{john.generate_reset_token()}", form=form)
    assert response.headers["Location"] == "/auth/login"
    assert not await works(api, token)


async def test_log_out_everywhere_revokes_tokens(app, api, john):
    token = await issue(api)
    browser = app.test_client()
    await log_in(browser, "john@example.com")
    await browser.post("/auth/logout-everywhere")
    assert not await works(api, token)
