from quart import Blueprint

auth = Blueprint("auth", __name__)

from flasky.auth import views  # noqa: E402,F401
