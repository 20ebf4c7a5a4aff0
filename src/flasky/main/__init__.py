from quart import Blueprint

main = Blueprint("main", __name__)

from flasky.main import views  # noqa: E402,F401
