"""Where avatars come from, and where uploaded pictures are kept.

Uploaded pictures live on disk under FLASKY_UPLOAD_DIR/avatars, named after the user and
the picture's content hash: a new picture gets a new URL, so each URL can be cached for a
year. Several workers share the directory; several machines need it on shared storage.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape
from quart import Quart, current_app
from quart.wrappers import Request

from flasky.avatars.images import MAX_UPLOAD_BYTES
from flasky.compat.quart_templating import current_url_adapter
from flasky.memo import BoundedTable
from flasky.models.user import email_hash, gravatar_url
from flasky.templating import url_for

CACHE_FOR_A_YEAR = "public, max-age=31536000, immutable"
UPLOADED_NAME = re.compile(r"\d+-[0-9a-f]{16}\.webp")
DIGEST = re.compile(r"[0-9a-f]{32}")
UPLOAD_PATH = "/edit-profile/avatar"
# The picture plus the form's other fields and multipart headers.
UPLOAD_BODY_LIMIT = MAX_UPLOAD_BYTES + 64 * 1024


def upload_dir(app: Quart | None = None) -> Path:
    return Path((app or current_app).config["FLASKY_UPLOAD_DIR"]) / "avatars"


def uploaded_name(user_id: int, picture: bytes) -> str:
    return f"{user_id}-{hashlib.sha256(picture).hexdigest()[:16]}.webp"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.part")
    partial.write_bytes(data)
    os.replace(partial, path)  # readers see the whole file or none


async def store(user_id: int, picture: bytes) -> str:
    name = uploaded_name(user_id, picture)
    await asyncio.to_thread(_write, upload_dir() / name, picture)
    return name


async def discard(name: str | None) -> None:
    if name and UPLOADED_NAME.fullmatch(name):
        await asyncio.to_thread((upload_dir() / name).unlink, missing_ok=True)


def _digest(user: Any) -> str:
    return user.avatar_hash or email_hash(user.email or "")


def identicon_url(user: Any) -> str:
    return url_for("avatars.identicon", digest=_digest(user))


def avatar_url(user: Any) -> str:
    """The site's own picture of a user: their upload, else their identicon."""
    if user.avatar_file:
        return url_for("avatars.uploaded", filename=user.avatar_file)
    return identicon_url(user)


class AvatarTags:
    """Templates' `avatar(user, size, css)`: the <img> of a user's avatar (any object with
    avatar_file, avatar_hash and email).

    With FLASKY_AVATARS=gravatar, users without an upload get Gravatar's picture and the
    identicon as the fallback that static/js/avatars.js swaps in when Gravatar cannot be
    reached (Gravatar's own `d=` default cannot point to a private host).

    A list shows the same few authors on every page, so each tag is built once and then
    looked up by everything it depends on: the user's picture fields, the size and class,
    the avatar mode and the mount point the URLs are built under (building one costs two
    URL lookups, escaping and a format: a tenth of a post row's render). The table is
    cleared when full, so it stays bounded whatever the number of users.
    """

    def __init__(self, app: Quart, max_entries: int = 4096) -> None:
        self.app = app
        self.tags: BoundedTable[Markup] = BoundedTable(max_entries)

    def __call__(self, user: Any, size: int, css: str = "rounded") -> Markup:
        adapter = current_url_adapter()
        key = (
            None if adapter is None else adapter.script_name,
            self.app.config["FLASKY_AVATARS"],
            user.avatar_file,
            user.avatar_hash,
            user.email,
            size,
            css,
        )
        try:
            return self.tags[key]
        except KeyError:
            pass
        return self.tags.store(key, self.build(user, size, css))

    def build(self, user: Any, size: int, css: str) -> Markup:
        fallback = ""
        if not user.avatar_file and self.app.config["FLASKY_AVATARS"] == "gravatar":
            src = gravatar_url(user.avatar_hash, user.email, size, "404")
            fallback = Markup(' data-avatar-fallback="{}"').format(identicon_url(user))
        else:
            src = avatar_url(user)
        return Markup(
            f'<img class="{escape(css)}" src="{escape(src)}"{fallback} alt="" '
            f'width="{int(size)}" height="{int(size)}">'
        )


class UploadRequest(Request):
    """Quart's request with a larger body limit on the picture upload's own path only;
    every other request keeps MAX_CONTENT_LENGTH (the limit is fixed when the request is
    made, before any hook or view could raise it)."""

    def __init__(self, method: str, scheme: str, path: str, *args: Any, **kwargs: Any) -> None:
        upload = method == "POST" and path == UPLOAD_PATH
        if upload:
            limit = max(kwargs.get("max_content_length") or 0, UPLOAD_BODY_LIMIT)
            kwargs["max_content_length"] = limit  # the body as it arrives
        super().__init__(method, scheme, path, *args, **kwargs)
        if upload:
            self.max_content_length = limit  # the form parser's, else MAX_CONTENT_LENGTH


def init_app(app: Quart) -> None:
    app.request_class = UploadRequest
    app.jinja_env.globals["avatar"] = AvatarTags(app)
