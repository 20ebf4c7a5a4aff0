"""/users/<id>: a user, their posts, and the posts of the people they follow."""

from __future__ import annotations

from functools import cache
from typing import Any

from quart import current_app
from sqlalchemy import bindparam, select
from werkzeug.exceptions import NotFound

from flasky.api import api
from flasky.api.pagination import paginate
from flasky.api.posts import NEWEST_FIRST
from flasky.api.queries import valid_id
from flasky.api.representations import absolute_url_for, user_json
from flasky.db import get_session
from flasky.main.queries import POST_COLUMNS, POST_COMMENT_COUNT, Listing, posts_by_user
from flasky.models import Follow, Post, User
from flasky.models.post import post_json_shape


async def get_user_or_404(id: int) -> User:
    user = await get_session().get(User, id) if valid_id(id) else None
    if user is None:
        raise NotFound("User not found")
    return user


@api.route("/users/<int:id>")
async def get_user(id: int) -> Any:
    return await user_json(get_session(), await get_user_or_404(id))


# Both lists read columns with each post's comment count as a correlated subquery, as the
# main post list does: one statement a page, no ORM instances; built once, run with the id.
# A user's posts are the profile page's list (main.queries.posts_by_user).


@cache
def _posts_followed_by() -> Listing:
    # Everyone the user follows, themself included through the self-follow.
    return Listing(
        select(*POST_COLUMNS, POST_COMMENT_COUNT)
        .join(Follow, Follow.followed_id == Post.author_id)
        .where(Follow.follower_id == bindparam("user_id"))
        .order_by(*NEWEST_FIRST)
    )


async def _posts_page(listing: Listing, user: User, endpoint: str) -> dict[str, Any]:
    per_page = current_app.config["FLASKY_POSTS_PER_PAGE"]
    page = await paginate(get_session(), listing, per_page, {"user_id": user.id})
    return {
        "posts": [post_json_shape(absolute_url_for, *row) for row in page.items],
        **page.links(endpoint, id=user.id),
    }


@api.route("/users/<int:id>/posts/")
async def get_user_posts(id: int) -> Any:
    return await _posts_page(posts_by_user(), await get_user_or_404(id), "api.get_user_posts")


@api.route("/users/<int:id>/timeline/")
async def get_user_followed_posts(id: int) -> Any:
    user = await get_user_or_404(id)
    return await _posts_page(_posts_followed_by(), user, "api.get_user_followed_posts")
