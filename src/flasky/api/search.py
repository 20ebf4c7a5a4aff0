"""/search/posts and /search/users: the site's search, as paginated lists."""

from __future__ import annotations

from typing import Any

from quart import current_app, request

from flasky.api import api
from flasky.api.representations import page_json, post_json, user_json
from flasky.db import get_session
from flasky.queries import search
from flasky.queries.pagination import per_page, requested_page


def _query() -> tuple[str, search.SearchQuery]:
    text = request.args.get("q", "")
    return text, search.parse(text)


@api.route("/search/posts")
async def search_posts() -> Any:
    text, query = _query()
    found = await search.search_posts(
        get_session(),
        query,
        page=requested_page(),
        per_page=per_page("FLASKY_POSTS_PER_PAGE"),
        candidates=max(1, int(current_app.config["FLASKY_SEARCH_MAX_RESULTS"])),
    )
    posts = [{**post_json(hit.post), "snippet": str(hit.snippet)} for hit in found.items]
    return page_json(found, "posts", posts, "api.search_posts", q=text)


@api.route("/search/users")
async def search_users() -> Any:
    text, query = _query()
    found = await search.search_people(
        get_session(),
        query,
        page=requested_page(),
        per_page=per_page("FLASKY_FOLLOWERS_PER_PAGE"),
    )
    users = [user_json(person.user, person.post_count) for person in found.items]
    return page_json(found, "users", users, "api.search_users", q=text)
