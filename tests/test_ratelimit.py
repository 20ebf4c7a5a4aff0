"""Rate limits on login, registration, password-reset requests and API tokens (issue 8, point 2)."""

from __future__ import annotations

import pytest

from flasky.config import ConfigError, load_config
from flasky.ratelimit import BUCKET_SETTINGS, LIMITED_ENDPOINTS, parse_limits
from tests.factories import basic_auth, login_as, make_user

LIMITED = {
    "FLASKY_RATE_LIMITS": True,
    "RATELIMIT_LOGIN": "3/minute",
    "RATELIMIT_REGISTER": "2/minute",
    "RATELIMIT_PASSWORD_RESET": "2/minute",
    "RATELIMIT_RESEND_CONFIRMATION": "2/minute",
    "RATELIMIT_API_TOKEN": "2/minute",
    "RATELIMIT_API_PASSWORD_FAILURES": "3/minute",
    "RATELIMIT_PREVIEW": "2/minute",
}


def from_address(address: str) -> dict:
    return {"scope_base": {"client": (address, 40000)}}


async def post_login(client, address: str = "192.0.2.1", **kwargs):
    return await client.post(
        "/auth/login",
        form={"email": "nobody@example.com", "password": "wrong"},
        **from_address(address),
        **kwargs,
    )


async def post_to(client, endpoint: str, address: str = "192.0.2.1"):
    """One submission to a limited endpoint, as a guesser would send it."""
    if endpoint == "main.preview":
        # As static/js/preview.js sends it.
        headers = {"Accept": "application/json"}
        return await client.post(
            "/preview", json={"body": "*x*"}, headers=headers, **from_address(address)
        )
    if endpoint == "api.get_token":
        return await client.post(
            "/api/v1/tokens/",
            headers=basic_auth("someone@example.com", "guess"),
            **from_address(address),
        )
    path, form = {
        "auth.login": ("/auth/login", {"email": "someone@example.com", "password": "guess"}),
        "auth.register": ("/auth/register", {"email": "x@example.com", "username": "x"}),
        "auth.password_reset_request": ("/auth/reset", {"email": "someone@example.com"}),
        "auth.resend_confirmation": ("/auth/confirm", {}),
    }[endpoint]
    return await client.post(path, form=form, **from_address(address))


@pytest.mark.parametrize("app_config", [LIMITED])
@pytest.mark.parametrize("endpoint", sorted(LIMITED_ENDPOINTS))
async def test_every_limited_endpoint_answers_429_over_its_limit(client, endpoint):
    allowed = int(LIMITED[LIMITED_ENDPOINTS[endpoint].setting].split("/")[0])
    for _ in range(allowed):
        assert (await post_to(client, endpoint)).status_code != 429
    response = await post_to(client, endpoint)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    if endpoint.startswith("api.") or endpoint == "main.preview":
        assert (await response.get_json())["error"] == "too many requests"
    # Another address still gets through.
    assert (await post_to(client, endpoint, "192.0.2.77")).status_code != 429


@pytest.mark.parametrize("app_config", [LIMITED])
async def test_login_posts_over_the_limit_get_429_with_retry_after(client):
    for _ in range(3):
        assert (await post_login(client)).status_code != 429
    response = await post_login(client)
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert response.content_type.startswith("text/html")
    text = await response.get_data(as_text=True)
    assert "Too many attempts from your address" in text
    assert response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("app_config", [LIMITED])
async def test_confirmation_resends_over_the_limit_send_no_mail(client, session, outbox):
    user = await make_user(session, email="new@example.com", confirmed=False)
    login_as(client, user)
    for _ in range(2):
        response = await client.post("/auth/confirm", **from_address("192.0.2.1"))
        assert response.status_code == 302
    response = await client.post("/auth/confirm", **from_address("192.0.2.1"))
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert [message["To"] for message in outbox] == ["new@example.com"] * 2
    # The unconfirmed page that offers the resend is not counted.
    page = await client.get("/auth/unconfirmed", **from_address("192.0.2.1"))
    assert page.status_code == 200


@pytest.mark.parametrize("app_config", [LIMITED])
async def test_limits_are_per_client_address_and_only_count_posts(client):
    for _ in range(3):
        await post_login(client, "192.0.2.1")
    assert (await post_login(client, "192.0.2.1")).status_code == 429
    # Someone else, and the login page itself, are not affected.
    assert (await post_login(client, "192.0.2.2")).status_code != 429
    page = await client.get("/auth/login", **from_address("192.0.2.1"))
    assert page.status_code == 200
    # A forged X-Forwarded-For does not buy a fresh bucket.
    forged = await post_login(client, "192.0.2.1", headers={"X-Forwarded-For": "203.0.113.9"})
    assert forged.status_code == 429


@pytest.mark.parametrize("app_config", [LIMITED])
async def test_endpoints_have_separate_buckets(client):
    for _ in range(3):
        await post_login(client)
    assert (await post_login(client)).status_code == 429
    register = await client.post("/auth/register", form={}, **from_address("192.0.2.1"))
    assert register.status_code != 429


@pytest.mark.parametrize("app_config", [LIMITED])
async def test_json_clients_get_a_json_429(client):
    for _ in range(3):
        await post_login(client)
    response = await post_login(client, headers={"Accept": "application/json"})
    assert response.status_code == 429
    body = await response.get_json()
    assert body["error"] == "too many requests"
    assert "Too many attempts" in body["message"]


@pytest.mark.parametrize("app_config", [LIMITED])
async def test_wrong_api_passwords_are_limited_on_every_endpoint(client, session):
    await make_user(session, email="john@example.com", password="cat")
    for path in ["/api/v1/posts/", "/api/v1/users/1", "/api/v1/comments/"]:
        response = await client.get(path, headers=basic_auth("john@example.com", "dog"))
        assert response.status_code == 401
    # The fourth wrong password is refused before it is checked, and so is the right one
    # from the same address until the bucket refills; tokens and other addresses still work.
    guess = await client.get("/api/v1/posts/", headers=basic_auth("john@example.com", "dog"))
    assert guess.status_code == 429
    assert guess.headers["Retry-After"]
    right = await client.get("/api/v1/posts/", headers=basic_auth("john@example.com", "cat"))
    assert right.status_code == 429
    elsewhere = await client.get(
        "/api/v1/posts/", headers=basic_auth("john@example.com", "cat"), **from_address("192.0.2.9")
    )
    assert elsewhere.status_code == 200


@pytest.mark.parametrize("app_config", [LIMITED])
async def test_right_api_passwords_are_not_counted(client, session):
    await make_user(session, email="john@example.com", password="cat")
    for _ in range(6):
        response = await client.get("/api/v1/posts/", headers=basic_auth("john@example.com", "cat"))
        assert response.status_code == 200


async def test_limits_are_off_in_testing(client):
    for _ in range(15):
        assert (await post_login(client)).status_code != 429


@pytest.mark.parametrize("app_config", [{**LIMITED, "FLASKY_RATE_LIMITS": False}])
async def test_flasky_rate_limits_off_disables_every_limit(client):
    for _ in range(6):
        assert (await post_login(client)).status_code != 429


def test_production_limits_are_on_unless_turned_off(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("FLASKY_BASE_URL", "https://blog.example.com")
    monkeypatch.delenv("FLASKY_RATE_LIMITS", raising=False)
    assert load_config("production").FLASKY_RATE_LIMITS is True
    monkeypatch.setenv("FLASKY_RATE_LIMITS", "off")
    assert load_config("production").FLASKY_RATE_LIMITS is False
    assert load_config("testing").FLASKY_RATE_LIMITS is False


def test_every_limited_endpoint_has_a_setting_with_a_sane_default(monkeypatch):
    config = load_config("development")
    for setting in BUCKET_SETTINGS.values():
        limits = parse_limits(getattr(config, setting))
        assert limits and all(limit.amount >= 1 for limit in limits)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10/minute", [(10, 60)]),
        ("5/15minutes;20/hour", [(5, 900), (20, 3600)]),
        ("3/30", [(3, 30)]),
        ("1/day", [(1, 86400)]),
        ("", []),
    ],
)
def test_parse_limits(text, expected):
    assert [(lim.amount, lim.get_expiry()) for lim in parse_limits(text)] == expected


@pytest.mark.parametrize("text", ["ten/minute", "10", "10/fortnight", "0/minute", "5/0", "5/0.5"])
def test_bad_limits_are_a_config_error(text):
    with pytest.raises(ConfigError, match="rate limit"):
        parse_limits(text)


@pytest.mark.parametrize("app_config", [{**LIMITED, "FLASKY_PROXY_COUNT": 1}])
async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_bucket(client):
    """Behind nginx every connection comes from the proxy: without the proxy fix all
    visitors would share one bucket, and one guesser would lock everyone out."""

    async def via_proxy(forwarded_for: str):
        return await client.post(
            "/auth/login",
            form={"email": "someone@example.com", "password": "guess"},
            headers={"X-Forwarded-For": forwarded_for},
            **from_address("10.0.0.1"),
        )

    for _ in range(3):
        assert (await via_proxy("198.51.100.7")).status_code != 429
    assert (await via_proxy("198.51.100.7")).status_code == 429
    assert (await via_proxy("198.51.100.8")).status_code != 429
    # Only the last hop counts: a client cannot pick its own address by prepending one.
    assert (await via_proxy("203.0.113.1, 198.51.100.7")).status_code == 429
