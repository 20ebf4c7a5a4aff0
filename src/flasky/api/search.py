"""/search/posts and /search/users: the site's search, as paginated lists."""

from __future__ import annotations

from typing import Any

from quart import current_app, request

from flasky.api import api
from flasky.api.pagination import Page, requested_page
from flasky.api.representations import absolute_url_for
from flasky.db import get_session
from flasky.models.post import post_json_shape
from flasky.queries import search


def _query() -> tuple[str, search.SearchQuery]:
    text = request.args.get("q", "")
    return text, search.parse(text)


@api.route("/search/posts")
async def search_posts() -> Any:
    text, query = _query()
    per_page = current_app.config["FLASKY_POSTS_PER_PAGE"]
    found = await search.search_posts(
        get_session(),
        query,
        page=requested_page(),
        per_page=per_page,
        candidates=max(1, current_app.config["FLASKY_SEARCH_MAX_RESULTS"]),
    )
    posts = [
        {
            **post_json_shape(
                absolute_url_for,
                post.id,
                post.body,
                post.body_html,
                post.timestamp,
                post.author_id,
                post.comment_count,
            ),
            "snippet": str(post.snippet),
        }
        for post in found.items
    ]
    page = Page(posts, found.page, per_page, found.total)
    return {"posts": posts, **page.links("api.search_posts", q=text)}


@api.route("/search/users")
async def search_users() -> Any:
    text, query = _query()
    per_page = current_app.config["FLASKY_FOLLOWERS_PER_PAGE"]
    found = await search.search_people(
        get_session(), query, page=requested_page(), per_page=per_page
    )
    users = [person.user.to_json(absolute_url_for, person.post_count) for person in found.items]
    page = Page(users, found.page, per_page, found.total)
    return {"users": users, **page.links("api.search_users", q=text)}
