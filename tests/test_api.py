"""API authentication and errors: the book's API tests (404, no auth, bad auth, token auth,
anonymous, unconfirmed account) and the API's JSON errors."""

from __future__ import annotations

import threading

import pytest
from quart_auth import authenticated_client

from flasky import security
from tests.api_client import JOHN, basic
from tests.factories import api_token, login_as, make_post, make_user


async def test_404_is_json(client, john):
    response = await client.get(
        "/wrong/url", headers={**basic("john@example.com", "cat"), "Accept": "application/json"}
    )
    assert response.status_code == 404
    assert (await response.get_json())["error"] == "not found"


async def test_unknown_api_url_is_json_404(api, john):
    response = await api.get("/api/v1/nothing/here", auth=("john@example.com", "cat"))
    assert response.status_code == 404
    assert response.json["error"] == "not found"


async def test_no_auth(api):
    response = await api.get("/api/v1/posts/")
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"
    # The message names every accepted way of authenticating, and so does the challenge.
    assert response.json["message"].startswith("Invalid credentials")
    assert "Basic" in response.json["message"] and "Bearer" in response.json["message"]
    assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert "Bearer realm=" in response.headers["WWW-Authenticate"]


async def test_bad_auth(api, john):
    response = await api.get("/api/v1/posts/", auth=("john@example.com", "dog"))
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"


async def test_unknown_email(api, john):
    response = await api.get("/api/v1/posts/", auth=("nobody@example.com", "cat"))
    assert response.status_code == 401


async def test_email_is_case_insensitive(api, john):
    response = await api.get("/api/v1/posts/", auth=("John@Example.COM", "cat"))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer abc",
        "Basic !!!not-base64!!!",
        "Basic " + "bm9jb2xvbg==",  # "nocolon"
        "Basic " + "am9obkBleGFtcGxlLmNvbQA6Y2F0",  # "john@example.com\x00:cat"
        "Basic " + "eA==" * 300,
        "Digest username=john",
        "Basic \u00e9t\u00e9",  # not ASCII: Werkzeug's parser raises ValueError
    ],
)
async def test_malformed_credentials_are_401(api, john, authorization):
    response = await api.get("/api/v1/posts/", headers={"Authorization": authorization})
    assert response.status_code == 401


async def test_anonymous(api):
    response = await api.get("/api/v1/posts/", auth=("", ""))
    assert response.status_code == 401


async def test_token_auth(api, john):
    bad = await api.get("/api/v1/posts/", auth="bad-token")
    assert bad.status_code == 401

    issued = await api.post("/api/v1/tokens/", auth=("john@example.com", "cat"))
    assert issued.status_code == 200
    assert issued.json["expiration"] == 3600
    token = issued.json["token"]

    with_token = await api.get("/api/v1/posts/", auth=token)
    assert with_token.status_code == 200


async def test_token_cannot_get_a_token(api, john):
    token = (await api.post("/api/v1/tokens/", auth=("john@example.com", "cat"))).json["token"]
    response = await api.post("/api/v1/tokens/", auth=token)
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(None, id="expired"),
        pytest.param(lambda user: user.generate_confirmation_token(), id="confirmation-token"),
        pytest.param(lambda user: user.generate_reset_token(), id="reset-token"),
        pytest.param(
            lambda user: security.make_token(security.API, {"id": user.id}, secret_key="other"),
            id="other-secret",
        ),
        pytest.param(
            lambda user: security.make_token(security.API, {"id": 999999}), id="unknown-user"
        ),
    ],
)
async def test_invalid_tokens_are_401(api, session, john, make_token):
    token = await api_token(session, john, -1) if make_token is None else make_token(john)
    response = await api.get("/api/v1/posts/", auth=token)
    assert response.status_code == 401


async def test_token_with_a_password_is_not_a_token(api, session, john):
    token = await api_token(session, john)
    response = await api.get("/api/v1/posts/", auth=(token, "cat"))
    assert response.status_code == 401


async def test_unconfirmed_account(api, session):
    await make_user(session, email="john@example.com", password="cat", confirmed=False)
    response = await api.get("/api/v1/posts/", auth=("john@example.com", "cat"))
    assert response.status_code == 403
    assert response.json == {"error": "forbidden", "message": "Unconfirmed account"}


async def test_unconfirmed_account_gets_no_token(api, session):
    await make_user(session, email="john@example.com", password="cat", confirmed=False)
    response = await api.post("/api/v1/tokens/", auth=("john@example.com", "cat"))
    assert response.status_code == 403


async def test_unconfirmed_account_token_is_refused(api, session):
    user = await make_user(session, email="john@example.com", password="cat", confirmed=False)
    response = await api.get("/api/v1/posts/", auth=await api_token(session, user))
    assert response.status_code == 403


async def test_password_is_checked_off_the_event_loop(api, john, monkeypatch):
    threads = []
    real_check = security.check_password

    def spy(password_hash: str, password: str) -> bool:
        threads.append(threading.current_thread())
        return real_check(password_hash, password)

    monkeypatch.setattr(security, "check_password", spy)
    response = await api.get("/api/v1/posts/", auth=("john@example.com", "cat"))
    assert response.status_code == 200
    assert threads and all(t is not threading.main_thread() for t in threads)


async def test_unknown_email_costs_a_password_check(api, john, monkeypatch):
    # Otherwise the response time tells which emails have accounts.
    calls = []
    real_check = security.check_password
    monkeypatch.setattr(
        security, "check_password", lambda h, p: calls.append(p) or real_check(h, p)
    )
    await api.get("/api/v1/posts/", auth=("nobody@example.com", "cat"))
    assert calls == ["cat"]


async def test_method_not_allowed_is_json(api, john):
    response = await api.delete("/api/v1/posts/", auth=("john@example.com", "cat"))
    assert response.status_code == 405
    assert response.json["error"] == "method not allowed"
    assert "GET" in response.headers["Allow"]


# Past PostgreSQL's INTEGER, far past any integer, and not a number at all.
NO_SUCH_IDS = [str(2**31), "99999999999999999999", "abc"]


@pytest.mark.parametrize("id", NO_SUCH_IDS)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("resource", ["posts", "comments"])
async def test_id_that_cannot_exist_is_json_404_for_every_method(api, john, resource, method, id):
    # The routes that share the path must not turn it into "method not allowed".
    response = await api.request(
        method, f"/api/v1/{resource}/{id}", auth=JOHN, json={"body": "edited"}
    )
    assert response.status_code == 404
    assert response.json["error"] == "not found"


@pytest.mark.parametrize("id", NO_SUCH_IDS)
async def test_comment_on_a_post_that_cannot_exist_is_json_404(api, john, id):
    response = await api.post(f"/api/v1/posts/{id}/comments/", auth=JOHN, json={"body": "hi"})
    assert response.status_code == 404
    assert response.json["error"] == "not found"


async def test_wrong_method_on_a_valid_id_is_still_405(api, session, john):
    post = await make_post(session, john)
    response = await api.request("PATCH", f"/api/v1/posts/{post.id}", auth=JOHN)
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "PUT", "DELETE"}


@pytest.mark.parametrize("id", NO_SUCH_IDS)
@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("page", ["/post/{id}", "/edit/{id}", "/post/{id}/delete"])
async def test_page_for_an_id_that_cannot_exist_is_404(client, john, page, method, id):
    login_as(client, john)
    response = await client.open(page.format(id=id), method=method)
    assert response.status_code == 404


async def test_server_error_is_json(app, api, john):
    async def broken(id: int):
        raise RuntimeError("boom")

    app.view_functions["api.get_post"] = broken
    response = await api.get("/api/v1/posts/1", auth=("john@example.com", "cat"))
    assert response.status_code == 500
    assert response.json["error"] == "internal server error"


async def test_login_cookie_is_not_api_auth(api, client, john):
    # The API is exempt from CSRF, so the site's login cookie must not authenticate it.
    async with authenticated_client(client, john.test_login_secret):
        response = await api.get("/api/v1/posts/")
    assert response.status_code == 401
