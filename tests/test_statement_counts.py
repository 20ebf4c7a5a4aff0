"""Bounded queries: a page runs the same number of SQL statements whether
it shows one item or a full page — no query per post, author or comment."""

from __future__ import annotations

import pytest

from tests.factories import login_as, make_comment, make_post, make_user

PER_PAGE = 5

pytestmark = pytest.mark.parametrize(
    "app_config",
    [
        {
            "FLASKY_POSTS_PER_PAGE": PER_PAGE,
            "FLASKY_COMMENTS_PER_PAGE": PER_PAGE,
            "FLASKY_FOLLOWERS_PER_PAGE": PER_PAGE,
            # last_seen written on every request, so each logged-in view costs the same.
            "FLASKY_LAST_SEEN_INTERVAL": 0,
        }
    ],
)

# Upper bounds for an anonymous reader (the book's app ran 41 / 27 / 29 statements on
# /, /user/<name> and /post/<id>), counting SQLite's BEGIN IMMEDIATE (PostgreSQL's BEGIN
# is not a cursor statement). A logged-in reader adds loading their user and role, the
# last_seen write, and on SQLite the BEGIN after that write's commit.
ANONYMOUS_LIMITS = {"home": 4, "profile": 5, "post": 4, "followers": 4, "moderate": 3}
LOGGED_IN_EXTRA = 4


async def statements(database, client, url: str) -> int:
    before = database.statement_count
    response = await client.get(url)
    assert response.status_code == 200, url
    return database.statement_count - before


async def add_items(session, ann, first_post, count: int) -> None:
    """`count` more of everything each page lists: ann's posts, posts by other authors
    (newest, so the home page shows only theirs), a comment on each by yet another user,
    comments from different users on ann's first post, followers of ann."""
    for n in range(count):
        await make_post(session, ann, body=f"ann's post {n}")
    for _ in range(count):
        author = await make_user(session)
        post = await make_post(session, author, body=f"post by {author.username}")
        await make_comment(session, await make_user(session), post)
        await make_comment(session, await make_user(session), first_post)
        await author.follow(session, ann)
        await session.commit()


@pytest.mark.parametrize("viewer", ["anonymous", "User", "Moderator", "owner"])
async def test_statement_count_does_not_grow_with_the_page(app, database, session, client, viewer):
    ann = await make_user(session, username="ann")
    first_post = await make_post(session, ann, body="ann's first post")
    if viewer == "owner":
        login_as(client, ann)
    elif viewer != "anonymous":
        login_as(client, await make_user(session, role=viewer))
    pages = {
        "home": "/",
        "profile": "/user/ann",
        "post": f"/post/{first_post.id}",
        "followers": "/followers/ann",
    }
    if viewer == "Moderator":
        pages["moderate"] = "/moderate"

    async def measure() -> dict[str, int]:
        return {name: await statements(database, client, url) for name, url in pages.items()}

    await add_items(session, ann, first_post, 1)  # one item on each list
    one = await measure()
    await add_items(session, ann, first_post, PER_PAGE)  # now every list fills a page
    full = await measure()

    home = await (await client.get("/")).get_data(as_text=True)
    assert home.count('<li class="post"') == PER_PAGE
    # Per-post figures (comments, words) come in the page's own statement.
    assert home.count('class="post-reading-time"') == PER_PAGE
    assert "3 words &middot; 1 min read" in home  # "post by userN"
    post_page = await (await client.get(pages["post"])).get_data(as_text=True)
    assert post_page.count('<li class="comment') == PER_PAGE

    assert one == full
    extra = 0 if viewer == "anonymous" else LOGGED_IN_EXTRA
    for name, count in full.items():
        assert count <= ANONYMOUS_LIMITS[name] + extra, f"{pages[name]}: {count} statements"


async def test_post_page_reads_the_post_and_its_comments_in_one_statement(
    database, session, client
):
    ann = await make_user(session, username="ann")
    post = await make_post(session, ann, body="the post")
    for n in range(PER_PAGE + 2):  # two pages of comments
        await make_comment(session, await make_user(session), post, body=f"comment {n}")
    await session.commit()

    first = await statements(database, client, f"/post/{post.id}")
    second = await statements(database, client, f"/post/{post.id}?page=2")
    past_the_end = await statements(database, client, f"/post/{post.id}?page=9")
    assert (first, second, past_the_end) == (1, 1, 1)

    html = await (await client.get(f"/post/{post.id}?page=2")).get_data(as_text=True)
    assert "the post" in html
    assert html.count('<li class="comment') == 2
    assert f"comment {PER_PAGE + 1}" in html and "comment 0<" not in html
    empty = await (await client.get(f"/post/{post.id}?page=9")).get_data(as_text=True)
    assert "the post" in empty and '<li class="comment' not in empty
    # The last page needs the count first, then that page.
    last = await (await client.get(f"/post/{post.id}?page=-1")).get_data(as_text=True)
    assert last.count('<li class="comment') == 2
    assert (await client.get("/post/999999")).status_code == 404


async def test_profile_page_reads_the_user_figures_and_posts_in_one_statement(
    database, session, client
):
    ann = await make_user(session, username="ann", location="Lisbon")
    for n in range(PER_PAGE + 2):  # two pages of posts
        await make_post(session, ann, body=f"ann's post {n}")
    first = await statements(database, client, "/user/ann")
    second = await statements(database, client, "/user/ann?page=2")
    past_the_end = await statements(database, client, "/user/ann?page=9")
    assert (first, second, past_the_end) == (1, 1, 1)

    html = await (await client.get("/user/ann?page=2")).get_data(as_text=True)
    assert "Lisbon" in html and f"{PER_PAGE + 2} blog posts" in html
    assert html.count('<li class="post"') == 2
    assert "post 1</" in html and "post 0</" in html and "post 2</" not in html
    empty = await (await client.get("/user/ann?page=9")).get_data(as_text=True)
    assert "Lisbon" in empty and '<li class="post"' not in empty
    assert (await client.get("/user/nobody")).status_code == 404
