"""/api/docs: Swagger UI from the site's own files, working under the strict CSP."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_api_docs_load_under_the_csp(page, server):
    other_hosts: list[str] = []
    page.on(
        "request",
        lambda request: (
            other_hosts.append(request.url) if not request.url.startswith(server.url) else None
        ),
    )
    response = page.goto("/api/docs")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # Generous: Swagger UI is a large script, and a loaded machine takes its time.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Flasky API", timeout=30_000)
    operation = page.locator("#operations-default-delete_post, [id$='delete_post']").first
    expect(operation).to_be_visible(timeout=30_000)
    operation.click()
    expect(page.get_by_text("Delete a post and its comments").first).to_be_visible()
    # No CSP violation or script error, and nothing fetched from another host (no CDN).
    assert page.script_errors == []
    assert other_hosts == []
