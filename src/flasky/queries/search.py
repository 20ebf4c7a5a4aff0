"""Full-text search of posts and people, through the index of flasky/models/search_index.py.

A page of posts found is ONE statement: the newest matches (at most a bound, see
CANDIDATES) ranked by relevance then newest, the page's rows each with its highlighted
snippet and comment count, and the number of matches ranked. Snippets are cut for the
page's rows alone: a snippet reads the post's text, and doing it before the LIMIT
would read a thousand posts for twenty.

PostgreSQL: websearch_to_tsquery + ts_rank_cd + ts_headline. SQLite: FTS5 MATCH +
bm25() + snippet(). The user's text reaches either engine only as rewritten by
search_syntax, as a bound value.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from markupsafe import Markup, escape
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Row,
    Select,
    String,
    bindparam,
    column,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.ext.asyncio import AsyncSession

from flasky.models import Post, User
from flasky.models.search_index import (
    MATCH_END,
    MATCH_START,
    PEOPLE_CONFIG,
    PEOPLE_FTS,
    PG_ESCAPES,
    POSTS_CONFIG,
    POSTS_FTS,
    SEARCH_VECTOR,
)
from flasky.queries.pagination import MAX_OFFSET, PAGE_LIMIT, PAGE_OFFSET, TOTAL, Listing, Page
from flasky.queries.posts import POST_COLUMNS, PostItem
from flasky.queries.records import read_rows, read_scalar
from flasky.queries.search_syntax import SearchQuery, parse
from flasky.queries.users import AUTHOR_COLUMNS, post_count_of

__all__ = ["FoundPost", "SearchQuery", "parse", "search_people", "search_posts"]

QUERY = bindparam("query", type_=String)
# How many matches a search ranks and lists, by default (FLASKY_SEARCH_MAX_RESULTS).
MAX_RESULTS = 1000
# Words of context around the matches in a snippet.
SNIPPET_WORDS = 24
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class FoundPost:
    """A post in search results: the post as lists show it, and its snippet (safe HTML,
    the matched words in <mark>)."""

    post: PostItem
    snippet: Markup


_MARKED = re.compile(f"{MATCH_START}([^{MATCH_START}{MATCH_END}]*){MATCH_END}")


def highlighted(snippet: str | None, *, html_escaped: bool) -> Markup:
    """A snippet with its match markers as <mark> and everything else escaped: a post
    that contains `<b>` shows it as text. PostgreSQL's snippets come from escaped text
    (see search_index.PG_ESCAPES), so they are unescaped before escaping once, which also
    holds if a fragment boundary ever cut an entity."""
    text = snippet or ""
    if html_escaped:
        text = html.unescape(text)
    marked = _MARKED.sub(r"<mark>\1</mark>", str(escape(text)))
    return Markup(marked.replace(MATCH_START, "").replace(MATCH_END, ""))


def _found_posts(rows: Sequence[Row], html_escaped: bool) -> list[FoundPost]:
    return [
        FoundPost(post, highlighted(row._mapping["snippet"], html_escaped=html_escaped))
        for post, row in zip(PostItem.from_rows(rows), rows, strict=True)
    ]


# -- statements, built once per database kind ---------------------------------------------


def _pg_query(config: str) -> ColumnElement:
    # A scalar subquery: PostgreSQL parses the query once per statement (an InitPlan), not
    # once per row as a function call on a bound value would be in a generic plan.
    return select(
        func.websearch_to_tsquery(literal_column(f"'{config}'::regconfig"), QUERY)
    ).scalar_subquery()


def _pg_matches(vector: ColumnElement, query: ColumnElement) -> ColumnElement:
    # A query left with only negations ("the -cat": "the" is a stop word) would list
    # every post without "cat", reading the whole table: it matches nothing instead.
    return vector.op("@@")(query) & (func.querytree(query) != "T")


def _pg_escaped(expression: ColumnElement) -> ColumnElement:
    for char, entity in PG_ESCAPES:
        expression = func.replace(expression, char, entity)
    return expression


HEADLINE_OPTIONS = (
    f"StartSel={MATCH_START}, StopSel={MATCH_END}, MaxWords={SNIPPET_WORDS}, MinWords=12, "
    f'ShortWord=2, MaxFragments=2, FragmentDelimiter=" {ELLIPSIS} "'
)


# The newest matches a search ranks: ranking reads each candidate's index entry (bm25's
# document length, ts_rank_cd's tsvector), so a word found in half of 100,000 posts would
# cost 50,000 reads per page. Ranked among the newest this many, a search costs the same
# whatever the word; the page says when there were more.
CANDIDATES = bindparam("candidates", type_=BigInteger)


@cache
def _post_statements(dialect: str, phrase: bool = False) -> tuple[Select, Select]:
    """(a page of found posts with snippets and the total, the total alone); `phrase`: the
    query has a phrase (PostgreSQL plans it differently)."""
    if dialect == "postgresql":
        query = _pg_query(POSTS_CONFIG)
        vector = literal_column(f"posts.{SEARCH_VECTOR}")
        candidates = (
            select(Post.id, func.ts_rank_cd(vector, query, 1).label("rank"))
            .where(_pg_matches(vector, query))
            # PostgreSQL estimates a phrase as often as its words together (26,000 of
            # 100,000 posts where 1,000 held it), walks the primary key newest first to
            # collect candidates, and checks every post (~350 ms). "+ 0" keeps it off
            # that index: the GIN index finds the posts with the words, then the phrase is
            # checked on those only. A plain word's estimate is good: the walk stays.
            .order_by(((Post.id + literal_column("0")) if phrase else Post.id).desc())
            .limit(CANDIDATES)
        )
        snippet = func.ts_headline(
            literal_column(f"'{POSTS_CONFIG}'::regconfig"),
            _pg_escaped(func.coalesce(Post.body_text, "")),
            query,
            HEADLINE_OPTIONS,
        )
        best_first = literal_column("rank").desc()
    else:
        fts = table(POSTS_FTS, column("rowid", Integer))
        fts_column = literal_column(POSTS_FTS)
        matches = fts_column.op("MATCH")(QUERY)
        # FTS5 walks its index in rowid order, so the LIMIT stops it early: bm25 runs for
        # the candidates only.
        candidates = (
            select(fts.c.rowid.label("id"), func.bm25(fts_column).label("rank"))
            .where(matches)
            .order_by(fts.c.rowid.desc())
            .limit(CANDIDATES)
        )
        # snippet() needs a full-text query positioned on the row: one per page row,
        # found by rowid.
        snippet = (
            select(func.snippet(fts_column, 0, MATCH_START, MATCH_END, ELLIPSIS, SNIPPET_WORDS))
            .where(matches, fts.c.rowid == Post.id)
            .correlate(Post)
            .scalar_subquery()
        )
        best_first = literal_column("rank")  # bm25: lower is better
    found = candidates.cte("candidates").prefix_with("MATERIALIZED")
    total = select(func.count()).select_from(found)
    ranked = (
        select(found.c.id, found.c.rank)
        .join(Post, Post.id == found.c.id)
        .order_by(best_first, Post.timestamp.desc(), Post.id.desc())
        .limit(PAGE_LIMIT)
        .offset(PAGE_OFFSET)
        .subquery("ranked")
    )
    page = (
        select(
            *POST_COLUMNS,
            *AUTHOR_COLUMNS,
            snippet.label("snippet"),
            total.scalar_subquery().label(TOTAL),
        )
        .select_from(ranked.join(Post, Post.id == ranked.c.id))
        .join(User, User.id == Post.author_id)
        .order_by(
            ranked.c.rank.desc() if dialect == "postgresql" else ranked.c.rank,
            Post.timestamp.desc(),
            Post.id.desc(),
        )
    )
    return page, total


@cache
def _people_listing(dialect: str) -> Listing:
    """Users whose username, name or location match, best first, then by username; each
    with their post count."""
    post_count = post_count_of(User.id).label("post_count")
    if dialect == "postgresql":
        query = _pg_query(PEOPLE_CONFIG)
        vector = literal_column(f"users.{SEARCH_VECTOR}")
        matches = _pg_matches(vector, query)
        stmt = (
            select(User, post_count)
            .where(matches)
            .order_by(func.ts_rank_cd(vector, query).desc(), User.username)
        )
        count = select(func.count()).select_from(User).where(matches)
    else:
        fts = table(PEOPLE_FTS, column("rowid", Integer))
        fts_column = literal_column(PEOPLE_FTS)
        matches = fts_column.op("MATCH")(QUERY)
        stmt = (
            select(User, post_count)
            .select_from(fts.join(User, User.id == fts.c.rowid))
            .where(matches)
            .order_by(func.bm25(fts_column), User.username)
        )
        count = select(func.count()).select_from(fts).where(matches)
    return Listing(stmt, count)


def _dialect(session: AsyncSession) -> str:
    assert session.bind is not None
    return session.bind.dialect.name


def _query_value(query: SearchQuery, dialect: str) -> str:
    return query.websearch() if dialect == "postgresql" else query.fts5()


async def search_posts(
    session: AsyncSession,
    query: SearchQuery,
    *,
    page: int,
    per_page: int,
    candidates: int = MAX_RESULTS,
) -> Page[FoundPost]:
    """A page of the posts matching `query`, most relevant first, then newest; among
    the newest `candidates` matches (the total is at most that)."""
    if not query or (page - 1) * per_page > MAX_OFFSET:
        return Page([], page, per_page, 0)
    dialect = _dialect(session)
    page_stmt, total_stmt = _post_statements(dialect, dialect == "postgresql" and query.has_phrase)
    params = {"query": _query_value(query, dialect), "candidates": candidates}
    window = {**params, "page_limit": per_page, "page_offset": (page - 1) * per_page}
    rows = await read_rows(session, page_stmt, window)
    if rows:
        escaped = dialect == "postgresql"
        found = _found_posts(rows, escaped)
        return Page(found, page, per_page, rows[0]._mapping[TOTAL])
    # Nothing on the first page means nothing at all; past it, the total is counted.
    total = 0 if page == 1 else (await read_scalar(session, total_stmt, params)) or 0
    return Page([], page, per_page, total)


@dataclass(frozen=True, slots=True)
class FoundPerson:
    user: User
    post_count: int


async def search_people(
    session: AsyncSession, query: SearchQuery, *, page: int, per_page: int
) -> Page[FoundPerson]:
    """A page of the users whose username, name or location match `query` (never their
    email), in one statement unless the page is empty."""
    if not query or (page - 1) * per_page > MAX_OFFSET:
        return Page([], page, per_page, 0)
    dialect = _dialect(session)
    listing = _people_listing(dialect)
    params = {"query": _query_value(query, dialect)}
    window = listing.bounds(params, page, per_page)
    rows = (await session.execute(listing.window_with_total, window)).all()  # User entities
    if rows:
        people = [FoundPerson(row._mapping["User"], row._mapping["post_count"]) for row in rows]
        return Page(people, page, per_page, rows[0]._mapping[TOTAL])
    total = 0 if page == 1 else (await read_scalar(session, listing.count_stmt, params)) or 0
    return Page([], page, per_page, total)
