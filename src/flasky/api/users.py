"""/users/<id>: a user, their posts, and the posts of the people they follow."""

from __future__ import annotations

from typing import Any

from quart import current_app
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from flasky.api import api
from flasky.api.pagination import paginate
from flasky.api.posts import NEWEST_FIRST
from flasky.api.queries import valid_id
from flasky.api.representations import posts_json, user_json
from flasky.db import get_session
from flasky.models import Post, User


async def get_user_or_404(id: int) -> User:
    user = await get_session().get(User, id) if valid_id(id) else None
    if user is None:
        raise NotFound("User not found")
    return user


@api.route("/users/<int:id>")
async def get_user(id: int) -> Any:
    return await user_json(get_session(), await get_user_or_404(id))


@api.route("/users/<int:id>/posts/")
async def get_user_posts(id: int) -> Any:
    user = await get_user_or_404(id)
    session = get_session()
    statement = select(Post).where(Post.author_id == user.id).order_by(*NEWEST_FIRST)
    page = await paginate(session, statement, current_app.config["FLASKY_POSTS_PER_PAGE"])
    return {
        "posts": await posts_json(session, page.items),
        **page.links("api.get_user_posts", id=user.id),
    }


@api.route("/users/<int:id>/timeline/")
async def get_user_followed_posts(id: int) -> Any:
    user = await get_user_or_404(id)
    session = get_session()
    statement = user.followed_posts.order_by(*NEWEST_FIRST)
    page = await paginate(session, statement, current_app.config["FLASKY_POSTS_PER_PAGE"])
    return {
        "posts": await posts_json(session, page.items),
        **page.links("api.get_user_followed_posts", id=user.id),
    }
