import pytest

from flasky.config import ConfigError, async_database_url, load_config


async def test_app_is_testing(app):
    assert app.config["TESTING"]
    assert app.config["FLASKY_CONFIG"] == "testing"


async def test_home_page_greets_stranger(client):
    response = await client.get("/")
    assert response.status_code == 200
    assert "Hello, Stranger!" in await response.get_data(as_text=True)


async def test_bootstrap_and_favicon_are_served_locally(client):
    css = await client.get("/static/bootstrap/css/bootstrap.min.css")
    assert css.status_code == 200
    assert b"Bootstrap" in (await css.get_data())[:200]
    assert (await client.get("/static/favicon.svg")).status_code == 200


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:///data.sqlite", "sqlite+aiosqlite:///data.sqlite"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_database_urls_are_mapped_to_async_drivers(given, expected):
    assert async_database_url(given) == expected


@pytest.mark.parametrize("name", ["production", "docker", "unix"])
@pytest.mark.parametrize("key", [None, "hard to guess string"])
def test_production_refuses_missing_or_default_secret_key(monkeypatch, name, key):
    if key is None:
        monkeypatch.delenv("SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("SECRET_KEY", key)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(name)


def test_production_starts_with_a_real_secret_key(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("FLASKY_BASE_URL", "https://blog.example.com")
    assert load_config("production").SECRET_KEY == "x" * 40
