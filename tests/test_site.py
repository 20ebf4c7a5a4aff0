"""The site's address (FLASKY_BASE_URL) builds every absolute URL, and production answers
only for its own host names (FLASKY_ALLOWED_HOSTS adds aliases)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from flasky.cli import cli
from flasky.config import ConfigError, load_config
from tests.factories import basic_auth, login_as, make_post, make_user
from tests.test_auth import link_in

SITE = "https://blog.example.com"
EVIL = {"Host": "evil.example"}
PRODUCTION_HOSTS = {
    "FLASKY_BASE_URL": SITE,
    "FLASKY_HOST_CHECK": True,
    "FLASKY_ALLOWED_HOSTS": "localhost, www.blog.example.com",
}


@pytest.mark.parametrize("app_config", [{"FLASKY_BASE_URL": SITE}])
async def test_a_reset_requested_with_a_forged_host_mails_a_link_to_the_real_site(
    client, session, outbox
):
    await make_user(session, email="victim@example.com")
    response = await client.post("/auth/reset", form={"email": "victim@example.com"}, headers=EVIL)
    assert response.status_code == 302
    link = link_in(outbox[0], "/auth/reset")
    assert link.startswith(f"{SITE}/auth/reset/")
    assert "evil.example" not in outbox[0].as_string()


@pytest.mark.parametrize("app_config", [{"FLASKY_BASE_URL": SITE}])
async def test_api_urls_and_locations_come_from_the_site_address(client, session):
    user = await make_user(session, email="api@example.com", password="cat")
    post = await make_post(session, user)
    headers = {**basic_auth("api@example.com", "cat"), **EVIL}
    listing = await (await client.get("/api/v1/posts/", headers=headers)).get_json()
    assert listing["posts"][0]["url"] == f"{SITE}/api/v1/posts/{post.id}"
    assert listing["posts"][0]["author_url"] == f"{SITE}/api/v1/users/{user.id}"
    created = await client.post("/api/v1/posts/", json={"body": "new"}, headers=headers)
    assert created.status_code == 201
    assert created.headers["Location"].startswith(f"{SITE}/api/v1/posts/")


@pytest.mark.parametrize("app_config", [{"FLASKY_BASE_URL": SITE, "SSL_REDIRECT": True}])
async def test_the_https_redirect_goes_to_the_site_address(client):
    response = await client.get("/user/x?page=2", headers=EVIL)
    assert response.status_code == 301
    assert response.headers["Location"] == f"{SITE}/user/x?page=2"


@pytest.mark.parametrize("app_config", [PRODUCTION_HOSTS])
@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/"), ("POST", "/auth/reset"), ("GET", "/healthz")]
)
async def test_production_refuses_unknown_hosts_before_any_view(client, outbox, method, path):
    response = await client.open(path, method=method, headers=EVIL, form={"email": "a@b.c"})
    assert response.status_code == 400
    assert "does not answer for that host" in await response.get_data(as_text=True)
    assert outbox == []


@pytest.mark.parametrize("app_config", [PRODUCTION_HOSTS])
@pytest.mark.parametrize(
    "host", ["blog.example.com", "BLOG.example.com", "www.blog.example.com", "localhost:8000"]
)
async def test_the_site_host_and_its_aliases_are_served(client, host):
    response = await client.get("/healthz", headers={"Host": host})
    assert response.status_code == 200


@pytest.mark.parametrize("app_config", [PRODUCTION_HOSTS])
async def test_a_signed_in_page_on_an_unknown_host_is_refused_too(client, session):
    login_as(client, await make_user(session))
    assert (await client.get("/edit-profile", headers=EVIL)).status_code == 400


async def test_development_and_testing_accept_any_host(client):
    response = await client.get("/", headers=EVIL)
    assert response.status_code == 200


def test_production_refuses_to_start_without_a_site_address(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    monkeypatch.delenv("FLASKY_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="FLASKY_BASE_URL is missing"):
        load_config("production")
    monkeypatch.setenv("FLASKY_BASE_URL", f"{SITE}/")
    assert load_config("production").FLASKY_BASE_URL == SITE


@pytest.mark.parametrize(
    "url", ["blog.example.com", "ftp://blog.example.com", f"{SITE}/blog", f"{SITE}?x=1"]
)
def test_a_site_address_that_is_not_one_is_a_config_error(monkeypatch, url):
    monkeypatch.setenv("FLASKY_BASE_URL", url)
    with pytest.raises(ConfigError, match="not a site address"):
        load_config("development")


def test_production_without_a_site_address_is_a_one_line_error():
    env = {"FLASKY_CONFIG": "production", "SECRET_KEY": "k" * 40, "FLASKY_BASE_URL": ""}
    result = CliRunner().invoke(cli, ["deploy"], env=env)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: FLASKY_BASE_URL is missing")
