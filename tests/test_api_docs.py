"""/api/docs serves Swagger UI from this site, under the site's strict CSP."""

from __future__ import annotations

import re


async def test_api_docs_page_uses_only_the_sites_own_files(client):
    response = await client.get("/api/docs")
    assert response.status_code == 200
    html = await response.get_data(as_text=True)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert 'data-spec-url="/api/v1/openapi.json"' in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(source.startswith("/") for source in sources), sources
    assert "<script>" not in html  # no inline script
    for source in sources:
        if source.endswith((".js", ".css")):
            assert (await client.get(source)).status_code == 200, source
