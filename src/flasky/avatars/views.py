"""The identicon and uploaded-picture files, and the page where users change their picture."""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Response, abort, flash, redirect, render_template, send_from_directory, url_for
from quart_wtf import QuartForm
from quart_wtf.file import FileField, FileRequired
from wtforms import SubmitField

from flasky.avatars import avatars
from flasky.avatars.identicon import identicon_svg
from flasky.avatars.images import InvalidImage, make_avatar
from flasky.avatars.pictures import (
    CACHE_FOR_A_YEAR,
    DIGEST,
    UPLOAD_PATH,
    UPLOADED_NAME,
    discard,
    store,
    upload_dir,
)
from flasky.db import get_session
from flasky.login import current_user, login_required
from flasky.models import User


class PictureForm(QuartForm):
    picture = FileField("Picture (PNG, JPEG or WebP, up to 2 MB)", [FileRequired()])
    submit = SubmitField("Upload")


class RemovePictureForm(QuartForm):
    submit = SubmitField("Remove picture")


@avatars.route("/avatar/<digest>.svg")
async def identicon(digest: str) -> Response:
    if not DIGEST.fullmatch(digest):
        abort(404)
    response = Response(identicon_svg(digest), mimetype="image/svg+xml")
    # The picture depends on the digest alone: cache it for good.
    response.headers["Cache-Control"] = CACHE_FOR_A_YEAR
    return response


@avatars.route("/avatars/<filename>")
async def uploaded(filename: str) -> Response:
    if not UPLOADED_NAME.fullmatch(filename):
        abort(404)
    response = await send_from_directory(upload_dir(), filename, mimetype="image/webp")
    # The name carries the content's hash: a new picture is a new URL.
    response.headers["Cache-Control"] = CACHE_FOR_A_YEAR
    return response


def _read_upload(storage: Any) -> bytes:
    storage.stream.seek(0)
    return make_avatar(storage.stream.read())


@avatars.route(UPLOAD_PATH, methods=["GET", "POST"])
@login_required
async def change_picture() -> Any:
    me: User = current_user()  # type: ignore[assignment]
    form = await PictureForm.create_form()
    if await form.validate_on_submit():
        try:
            # Decoding and re-encoding a picture is CPU work: off the event loop.
            picture = await asyncio.to_thread(_read_upload, form.picture.data)
        except InvalidImage as error:
            form.picture.errors = [*form.picture.errors, str(error)]
        else:
            previous = me.avatar_file
            me.avatar_file = await store(me.id, picture)
            await get_session().commit()
            if previous != me.avatar_file:
                await discard(previous)
            await flash("Your picture has been updated.")
            return redirect(url_for("main.user", username=me.username))
    remove = await RemovePictureForm.create_form() if me.avatar_file else None
    return await render_template("avatars/change.html", form=form, remove=remove, user=me)


@avatars.route(UPLOAD_PATH + "/remove", methods=["POST"])
@login_required
async def remove_picture() -> Response:
    me: User = current_user()  # type: ignore[assignment]
    previous = me.avatar_file
    if previous:
        me.avatar_file = None
        await get_session().commit()
        await discard(previous)
        await flash("Your picture has been removed.")
    return redirect(url_for("main.user", username=me.username))
