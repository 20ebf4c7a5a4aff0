"""Search: /search?q=... finds posts (ranked, with highlighted snippets) and people."""

from quart import Blueprint

search = Blueprint("search", __name__)

from flasky.search import views  # noqa: E402,F401
