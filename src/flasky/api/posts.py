"""/posts/: list, read, write and edit posts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from werkzeug.exceptions import Forbidden, NotFound

from flasky.api import api
from flasky.api.authentication import api_user, permission_required
from flasky.api.inputs import build_from_json, json_body
from flasky.api.representations import absolute_url_for, page_json, post_json
from flasky.db import get_session
from flasky.live import record
from flasky.models import Permission, Post
from flasky.models.role import may_delete
from flasky.queries import posts
from flasky.queries.pagination import per_page, requested_page
from flasky.queries.posts import PostItem


async def get_post_or_404(id: int) -> PostItem:
    post = await posts.post_by_id(get_session(), id)
    if post is None:
        raise NotFound("Post not found")
    return post


@api.route("/posts/")
async def get_posts() -> Any:
    page = await posts.all_posts_page(
        get_session(), page=requested_page(), per_page=per_page("FLASKY_POSTS_PER_PAGE")
    )
    return page_json(page, "posts", [post_json(post) for post in page.items], "api.get_posts")


@api.route("/posts/<int:id>")
async def get_post(id: int) -> Any:
    return post_json(await get_post_or_404(id))


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
    return post_json(await get_post_or_404(post.id)), 201, {"Location": location}


@api.route("/posts/<int:id>", methods=["DELETE"])
async def delete_post(id: int) -> Any:
    session = get_session()
    post = await session.get(Post, id)
    if post is None:
        raise NotFound("Post not found")
    if not may_delete(api_user(), post.author_id):
        raise Forbidden("Insufficient permissions")
    # One statement; its comments go with it (ON DELETE CASCADE).
    await session.execute(delete(Post).where(Post.id == id))
    await session.commit()
    return "", 204


@api.route("/posts/<int:id>", methods=["PUT"])
@permission_required(Permission.WRITE)
async def edit_post(id: int) -> Any:
    session = get_session()
    post = await session.get(Post, id)
    if post is None:
        raise NotFound("Post not found")
    me = api_user()
    if me.id != post.author_id and not me.can(Permission.ADMIN):
        raise Forbidden("Insufficient permissions")
    edited = await build_from_json(Post.from_json, await json_body())
    post.take_body(edited)
    await session.commit()
    return post_json(await get_post_or_404(id))
