"""The search benchmark's parts: rare words in the data set, a seeded database that search
finds them in, and the report. Nothing here measures speed."""

from __future__ import annotations

import os
import re

from sqlalchemy.ext.asyncio import AsyncSession

from flasky.queries.search import parse, search_posts
from flasky_bench import search, seed

SMALL = {"users": 12, "posts": 400, "comments": 10}


def generate(**overrides):
    return seed.generate(**{**SMALL, "password_hash": "x", "user_role_id": 1, **overrides})


def test_search_words_leave_the_rest_of_the_data_set_alone():
    plain, searchable = generate(), generate(search_words=True)
    assert plain.users == searchable.users and plain.comments == searchable.comments
    rare = set(seed.rare_words())
    with_rare = 0
    for before, after in zip(plain.posts, searchable.posts, strict=True):
        assert after["body"].startswith(before["body"])
        extra = after["body"][len(before["body"]) :]
        if extra:
            with_rare += 1
            assert re.fullmatch(r" Also (\w+)\.", extra)[1] in rare
            assert extra.strip(" .").split()[-1] in after["body_text"]
    assert 0.4 < with_rare / len(plain.posts) < 0.6
    assert not rare & set(seed._WORDS)


async def test_a_seeded_database_is_searchable(tmp_path):
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'bench.sqlite'}"
    await seed.seed_database(url, **SMALL, hash_method="pbkdf2:sha256:1000", search_words=True)
    data = generate(search_words=True)
    word = next(
        post["body"].rsplit(" ", 1)[1].rstrip(".")
        for post in data.posts
        if " Also " in post["body"]
    )
    expected = {post["id"] for post in data.posts if f" Also {word}." in post["body"]}
    engine = seed.make_engine(url)
    try:
        async with AsyncSession(engine) as session:
            found = await search_posts(session, parse(word), page=1, per_page=50)
            common = await search_posts(session, parse(search.COMMON_WORD), page=1, per_page=5)
    finally:
        await engine.dispose()
    assert {hit.post.id for hit in found.items} == expected
    assert common.total > len(data.posts) // 4


def test_report_compares_the_home_page_with_and_without_search():
    def row(case: str, rps: float, p99: float) -> search.SearchResult:
        return search.SearchResult("sqlite", case, "", "", rps, 1.0, p99, 0, 0)

    text = search.markdown([row("/ alone", 100.0, 10.0), row("/ + search", 90.0, 12.0)], 10)
    assert "| sqlite | / alone |" in text
    assert "-10.0 % req/s, p99 +20.0 %" in text
