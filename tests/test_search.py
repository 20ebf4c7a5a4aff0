"""Full-text search of posts and people: the /search page and /api/v1/search/*, on SQLite
(FTS5) and PostgreSQL (tsvector) alike."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import delete, event

from flasky.db import utcnow
from flasky.models import Post, User
from flasky.queries.search import highlighted, parse, search_people, search_posts
from tests.api_client import APIClient
from tests.factories import login_as, make_post, make_user

# -- helpers -------------------------------------------------------------------------------


async def posts_found(session, text: str, page: int = 1, per_page: int = 50):
    found = await search_posts(session, parse(text), page=page, per_page=per_page)
    await session.commit()  # hands SQLite's one pooled connection back to the app
    return found


async def found_ids(session, text: str) -> list[int]:
    return [hit.post.id for hit in (await posts_found(session, text)).items]


async def found_people(session, text: str) -> list[str]:
    page = await search_people(session, parse(text), page=1, per_page=50)
    await session.commit()
    return [person.user.username for person in page.items]


async def page_text(client, query: str, **params) -> str:
    response = await client.get("/search", query_string={"q": query, **params})
    assert response.status_code == 200
    return await response.get_data(as_text=True)


@pytest.fixture
async def author(session) -> User:
    return await make_user(session, username="writer", email="zebra.keeper@example.com")


# -- matching ------------------------------------------------------------------------------


async def test_posts_rank_by_relevance_then_newest(session, author):
    now = utcnow()
    once = await make_post(
        session, author, body="A note about gardens and other things entirely.", timestamp=now
    )
    thrice = await make_post(
        session,
        author,
        body="Gardens, gardens, gardens: nothing else.",
        timestamp=now - timedelta(days=2),
    )
    also_once_older = await make_post(
        session,
        author,
        body="A note about gardens and other things entirely.",
        timestamp=now - timedelta(days=1),
    )
    await make_post(session, author, body="Nothing to see here.")
    assert await found_ids(session, "garden") == [thrice.id, once.id, also_once_older.id]


async def test_phrase_needs_the_words_together(session, author):
    together = await make_post(session, author, body="the black cat sat down")
    await make_post(session, author, body="a black dog and a white cat")
    assert await found_ids(session, '"black cat"') == [together.id]
    # An unclosed quote closes at the end.
    assert await found_ids(session, '"black cat') == [together.id]


async def test_excluded_words_and_or(session, author):
    cat = await make_post(session, author, body="my cat sleeps")
    dog = await make_post(session, author, body="my dog barks")
    both = await make_post(session, author, body="my cat and my dog")
    assert await found_ids(session, "cat -dog") == [cat.id]
    assert sorted(await found_ids(session, "cat OR dog")) == sorted([cat.id, dog.id, both.id])
    assert sorted(await found_ids(session, "sleeps OR barks")) == sorted([cat.id, dog.id])
    # Every word of an alternative must match; OR splits alternatives.
    assert await found_ids(session, "cat dog") == [both.id]
    assert sorted(await found_ids(session, "cat sleeps OR barks")) == sorted([cat.id, dog.id])
    # Nothing but exclusions finds nothing (not every other post).
    assert await found_ids(session, "-dog") == []


async def test_english_stemming(session, author):
    post = await make_post(session, author, body="She runs every morning.")
    assert await found_ids(session, "running") == [post.id]
    assert await found_ids(session, "RUN") == [post.id]


async def test_accents_and_case_do_not_matter(session, author):
    post = await make_post(session, author, body="Coffee at the Café Müller in Zürich")
    for query in ("cafe", "CAFÉ", "muller", "zurich", "ZÜRICH"):
        assert await found_ids(session, query) == [post.id], query


async def test_markup_is_not_text(session, author):
    bold = await make_post(
        session, author, body="some **bold** words and a [link](http://example.org/hidden)"
    )
    assert await found_ids(session, "strong") == []
    assert await found_ids(session, "href") == []
    assert await found_ids(session, "hidden") == []  # a URL the reader does not see
    assert await found_ids(session, "bold") == [bold.id]
    assert await found_ids(session, "link") == [bold.id]


async def test_snippet_highlights_and_escapes(session, author):
    await make_post(session, author, body="Compare the `<b>` tag with the strong tag & more.")
    page = await posts_found(session, "tag")
    snippet = str(page.items[0].snippet)
    assert "<mark>tag</mark>" in snippet
    assert "&lt;b&gt;" in snippet
    assert "<b>" not in snippet
    assert "&amp; more" in snippet


def test_highlighted_escapes_everything_but_its_marks():
    assert str(highlighted("a <i>\x02x\x03</i>", html_escaped=False)) == (
        "a &lt;i&gt;<mark>x</mark>&lt;/i&gt;"
    )
    # Escaped input (PostgreSQL's) is unescaped once, then escaped: same result.
    assert str(highlighted("a &lt;i&gt;\x02x\x03&amp;amp;", html_escaped=True)) == (
        "a &lt;i&gt;<mark>x</mark>&amp;amp;"
    )
    # A stray marker never leaves an unclosed element.
    assert str(highlighted("\x02a", html_escaped=False)) == "a"


async def test_edits_and_deletes_show_at_once(session, author, client):
    post = await make_post(session, author, body="an apple a day")
    assert await found_ids(session, "apple") == [post.id]
    login_as(client, author)
    response = await client.post(f"/edit/{post.id}", form={"body": "a pear a day"})
    assert response.status_code == 302
    assert await found_ids(session, "apple") == []
    assert await found_ids(session, "pear") == [post.id]

    api = APIClient(client)
    edited = await api.request(
        "PUT",
        f"/api/v1/posts/{post.id}",
        auth=("zebra.keeper@example.com", "cat"),
        json={"body": "a plum a day"},
    )
    assert edited.status_code == 200
    assert await found_ids(session, "pear") == []
    assert await found_ids(session, "plum") == [post.id]

    await session.execute(delete(Post).where(Post.id == post.id))
    await session.commit()
    assert await found_ids(session, "plum") == []


async def test_new_posts_from_the_site_are_found(session, author, client):
    login_as(client, author)
    response = await client.post("/", form={"body": "A brand new *quokka* sighting"})
    assert response.status_code == 302
    text = await page_text(client, "quokka")
    assert "<mark>quokka</mark>" in text
    assert "1 post found" in text


# -- people --------------------------------------------------------------------------------


async def test_people_by_username_name_and_location_never_email(session):
    await make_user(
        session, username="jdoe", email="secretword@example.com", name="Jane Doé", location="Málaga"
    )
    await make_user(session, username="other", email="other@example.com", name="Will Smith")
    assert await found_people(session, "jdoe") == ["jdoe"]
    assert await found_people(session, "jane doe") == ["jdoe"]
    assert await found_people(session, "malaga") == ["jdoe"]
    assert await found_people(session, "secretword") == []
    assert await found_people(session, "example") == []
    # No stop words for names.
    assert await found_people(session, "will") == ["other"]


async def test_profile_edits_show_at_once(session, client):
    user = await make_user(session, username="mover", location="Paris")
    assert await found_people(session, "paris") == ["mover"]
    login_as(client, user)
    response = await client.post(
        "/edit-profile", form={"name": "", "location": "Lyon", "about_me": ""}
    )
    assert response.status_code == 302
    assert await found_people(session, "paris") == []
    assert await found_people(session, "lyon") == ["mover"]


async def test_search_page_lists_people_and_posts(session, author, client):
    await make_user(session, username="gardener", location="Kew")
    await make_post(session, author, body="Kew gardens in spring")
    text = await page_text(client, "kew")
    assert "People" in text
    assert 'href="/user/gardener"' in text
    assert "<mark>Kew</mark> gardens" in text
    assert re.search(r'href="/post/\d+"', text)


@pytest.mark.parametrize("query", [None, "", "   "])
async def test_empty_query_shows_the_form(client, query):
    response = await client.get("/search" if query is None else f"/search?q={query}")
    assert response.status_code == 200
    text = await response.get_data(as_text=True)
    assert 'name="q"' in text
    assert "No posts found" not in text


async def test_navbar_has_the_search_box(client):
    text = await (await client.get("/")).get_data(as_text=True)
    assert 'action="/search"' in text
    assert 'id="navbar-search"' in text


@pytest.mark.parametrize("app_config", [{"FLASKY_POSTS_PER_PAGE": 2}])
async def test_results_are_paginated_with_the_query_kept(session, author, client):
    ids = [(await make_post(session, author, body=f"pumpkin number {n}")).id for n in range(5)]
    first = await page_text(client, "pumpkin")
    assert "5 posts found" in first
    assert "/search?page=2&amp;q=pumpkin" in first or "/search?q=pumpkin&amp;page=2" in first
    seen = []
    for number in (1, 2, 3):
        page = await posts_found(session, "pumpkin", page=number, per_page=2)
        seen += [hit.post.id for hit in page.items]
        assert page.total == 5
    assert sorted(seen) == sorted(ids)
    past = await posts_found(session, "pumpkin", page=9, per_page=2)
    assert (past.items, past.total) == ([], 5)
    assert "No more posts found" in await page_text(client, "pumpkin", page=9)


@contextmanager
def queries_run(database) -> Iterator[list[str]]:
    """The statements run meanwhile, SQLite's BEGIN left out (a session outside a request
    takes the write lock first)."""
    statements: list[str] = []

    def record(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        if not statement.lstrip().upper().startswith("BEGIN"):
            statements.append(statement)

    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize("app_config", [{"FLASKY_POSTS_PER_PAGE": 2}])
async def test_one_statement_per_page_of_results(session, author, client, database):
    for n in range(3):
        await make_post(session, author, body=f"walrus tale {n}")
    with queries_run(database) as statements:
        page = await posts_found(session, "walrus", per_page=2)
    assert len(statements) == 1
    assert page.total == 3 and len(page.items) == 2
    with queries_run(database) as statements:
        await posts_found(session, "nothinglikethis", per_page=2)
    assert len(statements) == 1
    with queries_run(database) as statements:
        await posts_found(session, "-walrus", per_page=2)  # nothing to look for
    assert statements == []
    # The page: the posts, and people on the first page only.
    with queries_run(database) as first:
        await page_text(client, "walrus")
    with queries_run(database) as second:
        await page_text(client, "walrus", page=2)
    assert len(first) == 2 and len(second) == 1


# -- API -----------------------------------------------------------------------------------


async def test_api_search_posts_and_users(session, author, client):
    await make_user(session, username="penguin_fan", name="Pat")
    post = await make_post(session, author, body="Penguins **waddle** on ice")
    api = APIClient(client)
    auth = ("zebra.keeper@example.com", "cat")
    posts = await api.get("/api/v1/search/posts?q=penguin", auth=auth)
    assert posts.status_code == 200
    assert posts.json["count"] == 1
    assert posts.json["posts"][0]["url"].endswith(f"/api/v1/posts/{post.id}")
    assert "<mark>Penguins</mark>" in posts.json["posts"][0]["snippet"]
    users = await api.get("/api/v1/search/users?q=penguin+fan", auth=auth)
    assert [user["username"] for user in users.json["users"]] == ["penguin_fan"]
    assert users.json["users"][0]["post_count"] == 0
    nothing = await api.get("/api/v1/search/users?q=zebra", auth=auth)  # an email's word
    assert nothing.json == {"users": [], "prev": None, "next": None, "count": 0}
    missing = await api.get("/api/v1/search/posts", auth=auth)
    assert missing.json["count"] == 0


@pytest.mark.parametrize("app_config", [{"FLASKY_POSTS_PER_PAGE": 2}])
async def test_api_search_pages_link_with_the_query(session, author, client):
    for n in range(3):
        await make_post(session, author, body=f"otter {n}")
    api = APIClient(client)
    auth = ("zebra.keeper@example.com", "cat")
    first = await api.get("/api/v1/search/posts?q=otter", auth=auth)
    assert first.json["count"] == 3 and first.json["prev"] is None
    assert "q=otter" in first.json["next"] and "page=2" in first.json["next"]
    second = await api.get(first.json["next"].replace("http://localhost", ""), auth=auth)
    assert len(second.json["posts"]) == 1 and second.json["next"] is None


async def test_api_search_needs_authentication(client):
    response = await APIClient(client).get("/api/v1/search/posts?q=x")
    assert response.status_code == 401


# -- the query syntax ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "websearch", "fts5"),
    [
        ("cat", '"cat"', '("cat")'),
        (
            'cat "black dog" -fish',
            '"cat" "black dog" -"fish"',
            '(("cat" AND "black dog") NOT ("fish"))',
        ),
        ("a OR b c", '"a" OR "b" "c"', '("a") OR ("b" AND "c")'),
        ("e-mail", '"e mail"', '("e mail")'),
        # FTS5's own syntax is just more words (punctuation inside one makes a phrase).
        (
            'NEAR(a b) col:x * ^y "',
            '"NEAR a" "b" "col x" "y"',
            '("NEAR a" AND "b" AND "col x" AND "y")',
        ),
        ("or", '"or"', '("or")'),
    ],
)
def test_query_syntax_is_rewritten_from_words_only(text, websearch, fts5):
    query = parse(text)
    assert query.websearch() == websearch
    assert query.fts5() == fts5


@pytest.mark.parametrize(
    "text", ["", "   ", "OR", "-", "- -", '"', '""', "!!! ???", "😀", "OR OR", "-cat"]
)
def test_queries_without_a_word_to_find(text):
    assert not parse(text)


def test_long_queries_are_cut():
    query = parse("word " * 10_000)
    assert sum(len(term.words) for term in query.alternatives[0].required) == 32


@pytest.mark.parametrize("app_config", [{"FLASKY_SEARCH_MAX_RESULTS": 3}])
async def test_a_search_ranks_the_newest_matches_up_to_the_limit(session, author, client):
    posts = [await make_post(session, author, body=f"heron {n}") for n in range(5)]
    text = await page_text(client, "heron")
    assert "More than 3 posts found" in text
    listed = [
        int(id)
        for id in re.findall(r'class="post-body search-snippet"><a href="/post/(\d+)"', text)
    ]
    assert sorted(listed) == sorted(post.id for post in posts[-3:])
    api = await APIClient(client).get(
        "/api/v1/search/posts?q=heron", auth=("zebra.keeper@example.com", "cat")
    )
    assert api.json["count"] == 3


@pytest.mark.parametrize(
    ("text", "has_phrase"),
    [("cat dog", False), ('"black cat"', True), ("e-mail", True), ('cat -"black dog"', False)],
)
def test_queries_know_whether_they_hold_a_phrase(text, has_phrase):
    assert parse(text).has_phrase is has_phrase


async def test_dotted_names_and_addresses_are_words(session, author):
    await make_user(session, username="john.doe")
    post = await make_post(session, author, body="Notes from example.org/docs by v2.5 fans")
    assert await found_people(session, "john.doe") == ["john.doe"]
    assert await found_people(session, "doe") == ["john.doe"]
    assert await found_ids(session, "example") == [post.id]
    assert await found_ids(session, "example.org") == [post.id]
    assert await found_ids(session, "docs") == [post.id]
