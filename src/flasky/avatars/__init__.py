"""Avatars that work without the internet: a picture the user uploaded, else an identicon
drawn by this site from the email hash, or with FLASKY_AVATARS=gravatar the Gravatar
image with the identicon as the page's fallback (static/js/avatars.js)."""

from quart import Blueprint

avatars = Blueprint("avatars", __name__)

from flasky.avatars import views  # noqa: E402,F401
