"""/posts/: list, read, write and edit posts."""

from __future__ import annotations

from typing import Any

from quart import current_app
from sqlalchemy import select
from werkzeug.exceptions import Forbidden, NotFound

from flasky.api import api
from flasky.api.authentication import api_user, permission_required
from flasky.api.inputs import build_from_json, json_body
from flasky.api.pagination import paginate
from flasky.api.queries import valid_id
from flasky.api.representations import absolute_url_for, post_json
from flasky.db import get_session
from flasky.live import record
from flasky.main.queries import POST_COLUMNS, POST_COMMENT_COUNT, Listing
from flasky.models import Permission, Post
from flasky.models.post import post_json_shape

# Newest first, as on the site; the id breaks ties so pages never overlap.
NEWEST_FIRST = (Post.timestamp.desc(), Post.id.desc())


async def get_post_or_404(id: int) -> Post:
    post = await get_session().get(Post, id) if valid_id(id) else None
    if post is None:
        raise NotFound("Post not found")
    return post


# The list reads columns, each post's comment count as a correlated subquery and the total
# as an uncorrelated one: one statement, and no ORM instances to build (as the site's lists).
LISTED = Listing(select(*POST_COLUMNS, POST_COMMENT_COUNT).order_by(*NEWEST_FIRST))


@api.route("/posts/")
async def get_posts() -> Any:
    page = await paginate(get_session(), LISTED, current_app.config["FLASKY_POSTS_PER_PAGE"])
    posts = [post_json_shape(absolute_url_for, *row) for row in page.items]
    return {"posts": posts, **page.links("api.get_posts")}


@api.route("/posts/<int:id>")
async def get_post(id: int) -> Any:
    return await post_json(get_session(), await get_post_or_404(id))


@api.route("/posts/", methods=["POST"])
@permission_required(Permission.WRITE)
async def new_post() -> Any:
    post = await build_from_json(Post.from_json, await json_body())
    post.author_id = api_user().id
    session = get_session()
    session.add(post)
    await record.post(session, post, api_user())
    await session.commit()
    location = absolute_url_for("api.get_post", id=post.id)
    return post.to_json(absolute_url_for, 0), 201, {"Location": location}


@api.route("/posts/<int:id>", methods=["PUT"])
@permission_required(Permission.WRITE)
async def edit_post(id: int) -> Any:
    post = await get_post_or_404(id)
    user = api_user()
    if user.id != post.author_id and not user.can(Permission.ADMIN):
        raise Forbidden("Insufficient permissions")
    edited = await build_from_json(Post.from_json, await json_body())
    post.body, post.body_html = edited.body, edited.body_html
    session = get_session()
    await session.commit()
    return await post_json(session, post)
