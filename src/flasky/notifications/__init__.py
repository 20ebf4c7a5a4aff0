"""Notifications: the list, "mark all read", opting out per kind, and the live event
stream that updates the pages without a reload."""

from quart import Blueprint

notifications = Blueprint("notifications", __name__)

from flasky.notifications import views  # noqa: E402,F401
