"""Avatars without the internet: identicons drawn by the site, uploaded pictures (re-encoded,
EXIF stripped, cached for a year, removable), and Gravatar with the local fallback."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from quart.datastructures import FileStorage
from sqlalchemy import select

from flasky.avatars.identicon import identicon_svg
from flasky.avatars.images import AVATAR_SIZE, InvalidImage, make_avatar
from flasky.models import User
from tests.factories import login_as, make_user


@pytest.fixture
def app_config(tmp_path) -> dict:
    return {"FLASKY_UPLOAD_DIR": str(tmp_path / "uploads")}


def picture(fmt: str = "JPEG", size: tuple[int, int] = (640, 480), exif: bool = False) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    if exif:
        tags = Image.Exif()
        tags[0x010F] = "PhoneMaker"  # Make
        tags[0x0112] = 6  # Orientation: rotate 90 degrees to show upright
        image.save(out, fmt, exif=tags.tobytes())
    else:
        image.save(out, fmt)
    return out.getvalue()


def noise_png(side: int) -> bytes:
    import os

    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def upload(client, data: bytes, name: str = "me.jpg"):
    storage = FileStorage(io.BytesIO(data), filename=name, content_type="image/jpeg")
    return await client.post("/edit-profile/avatar", files={"picture": storage})


async def uploaded_name(session, user: User) -> str | None:
    session.expunge_all()
    name = await session.scalar(select(User.avatar_file).where(User.id == user.id))
    await session.commit()
    return name


# -- identicons ------------------------------------------------------------------------------


def test_identicon_is_deterministic_and_differs_by_hash():
    first = identicon_svg("d4c74594d841139328695756648b6bd6")
    assert first == identicon_svg("d4c74594d841139328695756648b6bd6")
    assert first != identicon_svg("0" * 31 + "1")
    assert first.startswith("<svg") and "<path" in first


async def test_identicon_is_served_and_cached_for_good(client):
    response = await client.get("/avatar/d4c74594d841139328695756648b6bd6.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "<svg" in await response.get_data(as_text=True)
    for bad in ("nothex", "D4C74594D841139328695756648B6BD6", "d4c7"):
        assert (await client.get(f"/avatar/{bad}.svg")).status_code == 404


async def test_pages_show_the_local_avatar_by_default(client, session):
    ann = await make_user(session, username="ann")
    login_as(client, ann)
    html = await (await client.get("/user/ann")).get_data(as_text=True)
    assert f'src="/avatar/{ann.avatar_hash}.svg"' in html
    assert "gravatar.com" not in html and "avatars.js" not in html


@pytest.mark.parametrize("app_config", [{"FLASKY_AVATARS": "gravatar"}])
async def test_gravatar_mode_falls_back_to_the_local_avatar_in_the_page(client, session):
    ann = await make_user(session, username="ann")
    html = await (await client.get("/user/ann")).get_data(as_text=True)
    img = re.search(r'<img class="rounded profile-thumbnail"[^>]*>', html).group(0)
    assert f"https://secure.gravatar.com/avatar/{ann.avatar_hash}?s=256&amp;d=404" in img
    assert f'data-avatar-fallback="/avatar/{ann.avatar_hash}.svg"' in img
    assert "onerror" not in html  # the strict CSP allows no inline handler
    assert "/static/js/avatars.js" in html


# -- uploads ---------------------------------------------------------------------------------


def test_make_avatar_resizes_reencodes_and_strips_exif():
    made = make_avatar(picture("JPEG", (640, 480), exif=True))
    with Image.open(io.BytesIO(made)) as image:
        assert image.format == "WEBP"
        assert image.size == (AVATAR_SIZE, AVATAR_SIZE)
        assert not image.getexif()
        assert "exif" not in image.info


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a picture at all", "not a picture"),
        (picture("GIF"), "PNG, JPEG or WebP"),
        (picture("PNG")[:200], "could not be read"),
        (b"\x89PNG" + b"0" * (2 * 1024 * 1024), "larger than 2 MB"),
    ],
    ids=["text", "gif", "truncated", "too-large"],
)
def test_make_avatar_refuses_what_it_cannot_take(data, message):
    with pytest.raises(InvalidImage, match=message):
        make_avatar(data)


async def test_upload_replace_serve_and_remove_a_picture(client, session, app):
    ann = await make_user(session, username="ann")
    login_as(client, ann)
    page = await client.get("/edit-profile/avatar")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in await page.get_data(as_text=True)

    response = await upload(client, picture("PNG"))
    assert response.status_code == 302 and response.location.endswith("/user/ann")
    first = await uploaded_name(session, ann)
    assert re.fullmatch(rf"{ann.id}-[0-9a-f]{{16}}\.webp", first)
    html = await (await client.get("/user/ann")).get_data(as_text=True)
    assert f'src="/avatars/{first}"' in html
    served = await client.get(f"/avatars/{first}")
    assert served.status_code == 200 and served.mimetype == "image/webp"
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"

    # A new picture gets a new name (a new URL, so caches never show the old one).
    await upload(client, picture("JPEG", exif=True))
    second = await uploaded_name(session, ann)
    assert second != first
    assert (await client.get(f"/avatars/{first}")).status_code == 404

    removed = await client.post("/edit-profile/avatar/remove")
    assert removed.status_code == 302
    assert await uploaded_name(session, ann) is None
    assert (await client.get(f"/avatars/{second}")).status_code == 404
    html = await (await client.get("/user/ann")).get_data(as_text=True)
    assert f'src="/avatar/{ann.avatar_hash}.svg"' in html


async def test_a_picture_up_to_2_mb_passes_the_upload_page_only(client, session, app):
    ann = await make_user(session, username="ann")
    login_as(client, ann)
    big = noise_png(700)  # about 1.4 MB: over the site's 1 MB body limit
    assert app.config["MAX_CONTENT_LENGTH"] < len(big) < 2 * 1024 * 1024
    assert (await upload(client, big, "big.png")).status_code == 302
    assert await uploaded_name(session, ann) is not None
    # Everywhere else the usual limit holds.
    response = await client.post("/edit-profile", form={"about_me": "x" * len(big)})
    assert response.status_code == 413


@pytest.mark.parametrize("data", [b"hello", picture("GIF")], ids=["text", "gif"])
async def test_a_bad_upload_is_a_form_error(client, session, data):
    ann = await make_user(session, username="ann")
    login_as(client, ann)
    response = await upload(client, data)
    assert response.status_code == 200
    assert "invalid-feedback" in await response.get_data(as_text=True)
    assert await uploaded_name(session, ann) is None


async def test_the_picture_pages_need_a_login(client):
    assert (await client.get("/edit-profile/avatar")).status_code in (302, 401)
    assert (await client.post("/edit-profile/avatar/remove")).status_code in (302, 401)
    assert (await client.get("/avatars/1-0123456789abcdef.webp")).status_code == 404
    assert (await client.get("/avatars/..%2Fsecret.webp")).status_code == 404
