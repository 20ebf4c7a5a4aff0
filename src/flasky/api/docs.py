"""/api/docs: interactive API documentation (Swagger UI) of /api/v1/openapi.json.

Swagger UI's files come from the flask-swagger-ui wheel, used for its bundled `dist/` only
(as Bootstrap comes from bootstrap-flask): served by this site, no CDN. The page starts
Swagger UI from static/js/api-docs.js, so it runs under the site's strict CSP (no inline
script)."""

from __future__ import annotations

from pathlib import Path

from quart import Blueprint, render_template


def _swagger_ui_files() -> str:
    import flask_swagger_ui

    return str(Path(flask_swagger_ui.__file__).parent / "dist")


api_docs = Blueprint(
    "api_docs",
    __name__,
    static_folder=_swagger_ui_files(),
    static_url_path="/docs/swagger-ui",
)


@api_docs.route("/docs")
async def docs() -> str:
    return await render_template("api/docs.html")
