"""Flasky, async: the book's social blogging app on Quart, async SQLAlchemy and Hypercorn."""

from __future__ import annotations

from pathlib import Path

from quart import Blueprint, Quart

from flasky.config import ROOT, load_config

__all__ = ["create_app"]


def _bootstrap_blueprint() -> Blueprint:
    """Bootstrap 5's built files, served from the bootstrap-flask wheel (no CDN)."""
    import flask_bootstrap

    folder = Path(flask_bootstrap.__file__).parent / "static" / "bootstrap5"
    return Blueprint(
        "bootstrap", __name__, static_folder=str(folder), static_url_path="/static/bootstrap"
    )


def create_app(config_name: str | None = None) -> Quart:
    settings = load_config(config_name)
    app = Quart(
        "flasky",
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_object(settings)
    from flasky.json_provider import OrjsonProvider
    from flasky.security import SessionCookieInterface

    app.json = OrjsonProvider(app)  # Flask's JSON rules, encoded by orjson
    app.session_interface = SessionCookieInterface()  # its signer made once
    app.config["FLASKY_CONFIG"] = settings.NAME

    from flasky import (
        db,
        email,
        error_mail,
        hardening,
        health,
        live,
        logs,
        pipeline,
        site,
        templating,
    )

    # Services the requests use; none of these registers a request hook.
    templating.init_app(app)  # first: it picks the Jinja environment class
    logs.configure_logging(app)
    error_mail.install_error_mail()
    db.init_app(app)
    email.init_app(app)
    hardening.init_app(app)  # before any route: `<int:id>` matches database integers only
    site.init_app(app)  # absolute URLs from FLASKY_BASE_URL, not the Host header
    live.init_app(app)  # event streams of this worker and how events reach them

    # Every hook and middleware, in the order a request meets them.
    pipeline.install(app)

    # Routes.
    app.add_url_rule("/healthz", "healthz", health.healthz, methods=["GET"])
    app.register_blueprint(_bootstrap_blueprint())

    from flasky.main import main as main_blueprint

    app.register_blueprint(main_blueprint)

    from flasky.messages import messages as messages_blueprint
    from flasky.notifications import notifications as notifications_blueprint

    app.register_blueprint(messages_blueprint)
    app.register_blueprint(notifications_blueprint)

    from flasky.auth import auth as auth_blueprint

    app.register_blueprint(auth_blueprint, url_prefix="/auth")

    from flasky.avatars import avatars as avatars_blueprint
    from flasky.avatars import pictures

    pictures.init_app(app)  # the upload page's request body limit, the templates' avatar()
    app.register_blueprint(avatars_blueprint)

    from flasky.search import search as search_blueprint

    app.register_blueprint(search_blueprint)

    from flasky.api import api as api_blueprint

    pipeline.csrf.exempt(api_blueprint)  # the API never reads the login cookie
    app.register_blueprint(api_blueprint, url_prefix="/api/v1")

    from flasky.api.docs import api_docs

    app.register_blueprint(api_docs, url_prefix="/api")

    templating.run_context_processors_inline(app)  # last: it needs every blueprint
    return app
