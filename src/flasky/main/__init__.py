from quart import Blueprint

main = Blueprint("main", __name__)

from flasky.main import profiles, views  # noqa: E402,F401
