"""Private messages: sending, the inbox and sent views, and blocking a sender."""

from quart import Blueprint

messages = Blueprint("messages", __name__)

from flasky.messages import views  # noqa: E402,F401
