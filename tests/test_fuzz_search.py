"""Property-based: any text typed into the search box, on the page and in the API, gives a
page (maybe an empty result), never a server error. A NUL character is the one thing
refused (400), as anywhere in a URL."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import basic_auth, make_post, make_user
from tests.fuzzing import FUZZ, characters, huge, tricky

# Pieces of every syntax in play: web search, FTS5's (which must stay plain words here),
# tsquery's, SQL's, and text the indexes treat specially.
SYNTAX = st.sampled_from(
    [
        '"',
        "-",
        "OR",
        "or",
        "AND",
        "NOT",
        "NEAR(",
        ")",
        "(",
        "*",
        ":",
        "^",
        "+",
        "!",
        "&",
        "|",
        "<->",
        "'",
        "\\",
        "col:",
        "body_text:",
        "{",
        "}",
        "cat",
        "café",
        "Ünïcode",
        "running",
        "<b>",
        "&amp;",
        "😀",
        "\x01",
        "\x02",
        "\x03",
        "\u0301",
        "_",
        "e-mail",
        "a@b.com",
        "example.com",
        " ",
        "\t",
        "ΣΊΣΥΦΟΣ",
        "日本語",
        "٣",
        "ǅ",
        "'; DROP TABLE posts; --",
    ]
)
queries = st.one_of(
    tricky,
    st.text(characters, max_size=200),
    st.lists(SYNTAX, max_size=40).map(" ".join),
    st.lists(SYNTAX, max_size=40).map("".join),
    huge,
    st.just("word " * 2_000),  # 10,000 characters
)


@pytest.fixture
async def searchable(session) -> None:
    author = await make_user(session, username="fuzzer", email="fuzzer@example.com")
    for body in (
        "A cat and a café, running",
        "`<b>` **bold** e-mail a@b.com example.com",
        "日本語のテキスト and ΣΊΣΥΦΟΣ",
        "NEAR the OR and NOT *stars*",
    ):
        await make_post(session, author, body=body)
    await session.commit()


def expected_status(text: str) -> int:
    return 400 if "\x00" in text else 200


@FUZZ
@given(text=queries, page=st.one_of(st.none(), st.integers(-5, 2**40).map(str), tricky))
async def test_the_search_page_takes_any_text(client, searchable, text, page):
    params = {"q": text} if page is None else {"q": text, "page": page}
    response = await client.get("/search", query_string=params)
    assert response.status_code == expected_status(text + (page or ""))
    if response.status_code == 200:
        assert 'name="q"' in await response.get_data(as_text=True)


@FUZZ
@given(text=queries, endpoint=st.sampled_from(["posts", "users"]))
async def test_the_search_api_takes_any_text(client, searchable, text, endpoint):
    response = await client.get(
        f"/api/v1/search/{endpoint}",
        query_string={"q": text},
        headers=basic_auth("fuzzer@example.com", "cat"),
    )
    assert response.status_code == expected_status(text)
    assert response.content_type.startswith("application/json")
    if response.status_code == 200:
        body = await response.get_json()
        assert body["count"] >= len(body[endpoint])
