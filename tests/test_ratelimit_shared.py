"""Rate limits kept in Redis hold across apps, worker processes and machines, and a Redis
outage lets requests through (logged) instead of taking the site down."""

from __future__ import annotations

import asyncio
import logging
import os

import httpx
import pytest
from quart import Quart

from flasky import create_app
from tests.live_server import RedisServer, Server, form_token_and_cookie

LOGIN_LIMITED = {
    "FLASKY_RATE_LIMITS": True,
    "RATELIMIT_LOGIN": "3/minute",
    "RATELIMIT_LOGIN_ACCOUNT": "1000/minute",
}


async def wrong_login(client, address: str = "192.0.2.1"):
    return await client.post(
        "/auth/login",
        form={"email": "someone@example.com", "password": "guess"},
        scope_base={"client": (address, 40000)},
    )


async def statuses(client, times: int) -> list[int]:
    return [(await wrong_login(client)).status_code for _ in range(times)]


@pytest.fixture
def app_config(redis_url, redis_prefix) -> dict:
    return {**LOGIN_LIMITED, "REDIS_URL": redis_url, "FLASKY_REDIS_PREFIX": redis_prefix}


async def test_two_apps_on_one_redis_share_every_count(app: Quart, app_config):
    """Two apps stand for two workers or two machines: their counts add up."""
    other = create_app("testing")
    other.config.update({**app.config, **app_config})
    async with other.test_app():
        first, second = app.test_client(), other.test_client()
        assert (await wrong_login(first)).status_code == 200
        assert (await wrong_login(second)).status_code == 200
        assert (await wrong_login(first)).status_code == 200
        refused = await wrong_login(second)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert (await wrong_login(first)).status_code == 429


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def outage_config(redis_server) -> dict:
    return {**LOGIN_LIMITED, "REDIS_URL": redis_server.url, "REDIS_TIMEOUT": 0.3}


@pytest.mark.parametrize("app_config", [{}])
async def test_a_redis_outage_lets_requests_through_and_the_limits_come_back(
    app: Quart, redis_server, outage_config, caplog
):
    app.config.update(outage_config)
    limiter = app.extensions["rate_limiter"]
    await limiter.stop()
    await limiter.start()
    client = app.test_client()
    caplog.set_level(logging.INFO, logger="flasky.ratelimit")

    assert await statuses(client, 4) == [200, 200, 200, 429]

    redis_server.stop()
    # Nothing listens on Redis's port now: every try goes through, and the outage is
    # logged once, not once per request.
    assert await statuses(client, 6) == [200] * 6
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1, caplog.text
    assert "not answering" in errors[0].getMessage()
    assert f"127.0.0.1:{redis_server.port}" in errors[0].getMessage()

    redis_server.start()  # empty: a restarted Redis without persistence
    await asyncio.sleep(limiter.RETRY_AFTER_OUTAGE + 0.2)
    assert await statuses(client, 4) == [200, 200, 200, 429]
    assert "answers again" in caplog.text


@pytest.mark.parametrize("app_config", [{}])
async def test_a_redis_that_never_answered_fails_open_from_the_start(app: Quart):
    from tests.live_server import free_port

    app.config.update({**LOGIN_LIMITED, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    limiter = app.extensions["rate_limiter"]
    await limiter.stop()
    await limiter.start()
    assert await statuses(app.test_client(), 5) == [200] * 5


# -- real Hypercorn workers ---------------------------------------------------------------------


@pytest.fixture
def start_server(app, tmp_path):
    servers: list[Server] = []

    def start(workers: int, **settings: str) -> Server:
        env = {
            **os.environ,
            "FLASKY_CONFIG": "production",
            "SECRET_KEY": "shared-limits-test-" + "x" * 32,
            "FLASKY_BASE_URL": "http://127.0.0.1",
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URL"],
            "FLASKY_RATE_LIMITS": "on",
            "RATELIMIT_LOGIN": "3/minute",
            "RATELIMIT_LOGIN_ACCOUNT": "1000/minute",
            # Wrong passwords still cost a hash; scrypt's would only slow the test.
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            **settings,
        }
        for name in ("FLASKY_ADMIN", "MAIL_SERVER", "REDIS_URL"):
            env.pop(name, None)
        env.update(settings)
        server = Server(env, tmp_path / f"server-{len(servers)}.log", workers=workers)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


async def login_attempts(server: Server, times: int) -> list[int]:
    """Wrong logins, each on a new connection, so the kernel spreads them over the workers."""
    token, cookie = await form_token_and_cookie(server.url, "/auth/login")
    codes = []
    for _ in range(times):
        async with httpx.AsyncClient(base_url=server.url) as client:
            response = await client.post(
                "/auth/login",
                data={"csrf_token": token, "email": "x@example.com", "password": "guess"},
                headers={"Cookie": cookie},
            )
        codes.append(response.status_code)
    return codes


async def test_with_redis_two_workers_give_one_limit(start_server, redis_url, redis_prefix):
    server = start_server(2, REDIS_URL=redis_url, FLASKY_REDIS_PREFIX=redis_prefix)
    await server.wait_ready()
    codes = await login_attempts(server, 12)
    assert codes.count(200) == 3, codes
    assert codes.count(429) == 9, codes
    assert "limits are per worker" not in server.log()


async def test_without_redis_each_worker_counts_alone_and_says_so_once(start_server):
    server = start_server(2)
    await server.wait_ready()
    # The kernel may hand an idle server's connections all to one worker: concurrent tries,
    # in rounds, until the second worker has answered one. Each worker counts its own 3.
    codes: list[int] = []
    for _ in range(5):
        rounds = await asyncio.gather(*(login_attempts(server, 1) for _ in range(12)))
        codes += [code for round_codes in rounds for code in round_codes]
        if codes.count(200) > 3:
            break
    assert 3 < codes.count(200) <= 6, codes
    assert server.log().count("Rate limits are per worker: 2 Hypercorn workers") == 1, server.log()
