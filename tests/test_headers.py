"""Security headers and cookie flags (issue 8, point 1)."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

import pytest
from quart import flash

from flasky import create_app
from flasky.config import ROOT
from flasky.db import get_database
from flasky.headers import CONTENT_SECURITY_POLICY
from flasky.login import log_in
from flasky.models import Role
from tests.conftest import reset_schema
from tests.factories import make_user

TEMPLATES = ROOT / "templates"


def policy(response) -> dict[str, str]:
    directives = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, _, value = part.strip().partition(" ")
        directives[name] = value
    return directives


@pytest.mark.parametrize("path", ["/", "/auth/login", "/no-such-page"])
async def test_html_pages_carry_the_security_headers(client, path):
    response = await client.get(path)
    assert response.content_type.startswith("text/html")
    csp = policy(response)
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["form-action"] == "'self'"
    assert csp["base-uri"] == "'none'"
    assert csp["object-src"] == "'none'"
    # Avatars and the images in posts load over https only.
    assert csp["img-src"].split() == ["'self'", "https:", "data:"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


async def test_json_and_static_responses_are_not_sniffed(client):
    for path in ["/api/v1/no-such-thing", "/static/js/moment.js"]:
        response = await client.get(path, headers={"Accept": "application/json"})
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


async def test_no_hsts_over_plain_http_or_outside_production(client):
    assert "Strict-Transport-Security" not in (await client.get("/")).headers
    assert "Strict-Transport-Security" not in (await client.get("/", scheme="https")).headers


def _inline_code(text: str) -> list[str]:
    """Things the policy would block: inline <script>, on* handlers, style attributes,
    <style> blocks and javascript: URLs."""
    found = []
    for match in re.finditer(r"<script\b([^>]*)>", text, re.I):
        if "src=" not in match.group(1):
            found.append(match.group(0))
    found += re.findall(r"<[^>]*\son[a-z]+\s*=[^>]*>", text, re.I)
    found += re.findall(r"<[^>]*\sstyle\s*=[^>]*>", text, re.I)
    found += re.findall(r"<style\b[^>]*>", text, re.I)
    found += re.findall(r"javascript:", text, re.I)
    return found


# Mail templates are read in a mail client, not under the site's policy.
PAGE_TEMPLATES = sorted(
    p.relative_to(TEMPLATES).as_posix()
    for p in TEMPLATES.rglob("*.html")
    if p.relative_to(TEMPLATES).parts[0] != "mail"
)


@pytest.mark.parametrize("template", PAGE_TEMPLATES)
def test_templates_need_no_inline_script_or_style(template):
    assert _inline_code((TEMPLATES / template).read_text()) == []


async def test_session_and_login_cookies_are_httponly_and_lax(app, client, session):
    user = await make_user(session, username="cookie")

    @app.route("/_test/sign-in")
    async def _sign_in():
        await log_in(user, remember=True)
        await flash("signed in")
        return "ok"

    response = await client.get("/_test/sign-in")
    cookies = _set_cookies(response)
    assert set(cookies) >= {app.config["QUART_AUTH_COOKIE_NAME"], app.config["SESSION_COOKIE_NAME"]}
    for morsel in cookies.values():
        assert morsel["httponly"]
        assert morsel["samesite"].lower() == "lax"


def _set_cookies(response) -> dict:
    cookies = {}
    for header in response.headers.getlist("Set-Cookie"):
        parsed = SimpleCookie()
        parsed.load(header)
        cookies.update(parsed)
    return cookies


@pytest.fixture
async def production_app(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "a-long-random-production-secret-for-tests")
    monkeypatch.setenv("FLASKY_BASE_URL", "http://localhost")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'prod.sqlite'}")
    monkeypatch.setenv("MAIL_BACKEND", "memory")
    monkeypatch.delenv("LOG_TO", raising=False)
    app = create_app("production")
    database = get_database(app)
    await reset_schema(database)
    async with database.session() as session:
        await Role.insert_roles(session)
    async with app.test_app():
        async with app.app_context():
            yield app
    await database.stop()


async def test_production_cookies_are_secure_and_https_gets_hsts(production_app):
    app = production_app
    async with get_database(app).session() as session:
        user = await make_user(session, username="secure")

    @app.route("/_test/sign-in")
    async def _sign_in():
        await log_in(user, remember=False)
        await flash("signed in")
        return "ok"

    client = app.test_client()
    response = await client.get("/_test/sign-in", scheme="https")
    cookies = _set_cookies(response)
    assert set(cookies) >= {app.config["QUART_AUTH_COOKIE_NAME"], app.config["SESSION_COOKIE_NAME"]}
    for morsel in cookies.values():
        assert morsel["secure"]
        assert morsel["httponly"]
        assert morsel["samesite"].lower() == "lax"
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
