"""The search page: the form, then the posts found, and on the first page the people."""

from __future__ import annotations

from quart import current_app, render_template, request

from flasky.db import get_session
from flasky.queries.pagination import per_page, requested_page
from flasky.queries.search import parse, search_people, search_posts
from flasky.search import search

# People shown above the posts; the API pages through all of them.
PEOPLE_SHOWN = 10


def max_results() -> int:
    return max(1, int(current_app.config["FLASKY_SEARCH_MAX_RESULTS"]))


@search.route("/search")
async def results() -> str:
    text = request.args.get("q", "")
    page = requested_page()
    found = people = None
    if text.strip():
        query = parse(text)
        session = get_session()
        found = await search_posts(
            session,
            query,
            page=page,
            per_page=per_page("FLASKY_POSTS_PER_PAGE"),
            candidates=max_results(),
        )
        # Only with the first page of posts: later pages stay one statement.
        if page == 1:
            people = await search_people(session, query, page=1, per_page=PEOPLE_SHOWN)
    return await render_template(
        "search/results.html",
        q=text,
        found=found,
        posts=[hit.post for hit in found.items] if found else [],
        snippets={hit.post.id: hit.snippet for hit in found.items} if found else {},
        people=people,
        max_results=max_results(),
    )
