from quart import Blueprint

api = Blueprint("api", __name__)

from flasky.api import views  # noqa: E402,F401
