"""/users/<id>: a user, their posts, and the posts of the people they follow."""

from __future__ import annotations

from typing import Any

from werkzeug.exceptions import NotFound

from flasky.api import api
from flasky.api.representations import page_json, post_json, user_json
from flasky.db import get_session
from flasky.models import User
from flasky.queries import posts, users
from flasky.queries.pagination import Page, per_page, requested_page
from flasky.queries.posts import PostItem
from flasky.queries.users import AuthorCard

NOT_FOUND = "User not found"


async def get_user_or_404(id: int) -> User:
    # session.get: the signed-in user is already in the session, and costs no statement.
    user = await get_session().get(User, id)
    if user is None:
        raise NotFound(NOT_FOUND)
    return user


@api.route("/users/<int:id>")
async def get_user(id: int) -> Any:
    found = await users.user_with_post_count(get_session(), id)
    if found is None:
        raise NotFound(NOT_FOUND)
    return user_json(*found)


def _posts_json(page: Page[PostItem], endpoint: str, user_id: int) -> dict[str, Any]:
    return page_json(page, "posts", [post_json(post) for post in page.items], endpoint, id=user_id)


@api.route("/users/<int:id>/posts/")
async def get_user_posts(id: int) -> Any:
    user = await get_user_or_404(id)
    page = await posts.user_posts_page(
        get_session(),
        AuthorCard.of(user),
        page=requested_page(),
        per_page=per_page("FLASKY_POSTS_PER_PAGE"),
    )
    return _posts_json(page, "api.get_user_posts", user.id)


@api.route("/users/<int:id>/timeline/")
async def get_user_followed_posts(id: int) -> Any:
    user = await get_user_or_404(id)
    page = await posts.followed_posts_page(
        get_session(), user.id, page=requested_page(), per_page=per_page("FLASKY_POSTS_PER_PAGE")
    )
    return _posts_json(page, "api.get_user_followed_posts", user.id)
