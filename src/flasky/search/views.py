"""The search page: the form, then the posts found, and on the first page the people."""

from __future__ import annotations

from quart import current_app, render_template, request

from flasky.db import get_session
from flasky.queries.search import parse, search_people, search_posts
from flasky.search import search

# Page numbers past this are empty anyway; the clamp keeps OFFSET inside an integer.
MAX_PAGE = 2**31 - 1
# People shown above the posts; the API pages through all of them.
PEOPLE_SHOWN = 10


@search.route("/search")
async def results() -> str:
    text = request.args.get("q", "")
    page = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    posts = people = None
    if text.strip():
        query = parse(text)
        session = get_session()
        per_page = max(1, int(current_app.config["FLASKY_POSTS_PER_PAGE"]))
        posts = await search_posts(
            session, query, page=page, per_page=per_page, candidates=max_results()
        )
        # Only with the first page of posts: later pages stay one statement.
        if page == 1:
            people = await search_people(session, query, page=1, per_page=PEOPLE_SHOWN)
    return await render_template(
        "search/results.html", q=text, posts=posts, people=people, max_results=max_results()
    )


def max_results() -> int:
    return max(1, int(current_app.config["FLASKY_SEARCH_MAX_RESULTS"]))
