"""One page of a list, for the pages and the API alike: the page type, the list query
(`Listing`) and `paginate`, which runs a page in one statement.

Statements are built once per process and run with bound values: constructing a Select
and deriving its cache key cost ~0.3 ms of a page's CPU, more than SQLite took to run it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, TypeVar

from quart import current_app, request
from sqlalchemy import BigInteger, Row, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flasky.queries.records import plain_columns, read_rows, read_scalar

T = TypeVar("T")
U = TypeVar("U")

LAST_PAGE = -1
# Larger page numbers are clamped: such a page is empty anyway, and its OFFSET must stay
# inside a 64-bit integer on every database.
MAX_PAGE = 2**31 - 1
# Past this OFFSET a page is certainly empty: it is counted, never queried.
MAX_OFFSET = 2**31
# The label of the total that rides along with a page's rows.
TOTAL = "listing_total"

PAGE_LIMIT = bindparam("page_limit", type_=BigInteger)
PAGE_OFFSET = bindparam("page_offset", type_=BigInteger)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items plus what a pagination widget or link needs."""

    items: list[T]
    page: int
    per_page: int
    total: int

    def map(self, convert: Callable[[T], U]) -> Page[U]:
        return self.with_items([convert(item) for item in self.items])

    def with_items(self, items: list[U]) -> Page[U]:
        """The same page holding `items` (the records its rows became)."""
        return Page(items, self.page, self.per_page, self.total)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None

    def iter_pages(self) -> Iterator[int | None]:
        """Page numbers to show, with None where a run of numbers is left out."""
        return page_numbers(self.page, self.pages)


def page_numbers(
    page: int,
    pages: int,
    left_edge: int = 2,
    left_current: int = 2,
    right_current: int = 4,
    right_edge: int = 2,
) -> Iterator[int | None]:
    """The numbers a pagination widget shows for `page` of `pages`: both ends and the
    neighbourhood of the current page, with None where a run of numbers is left out."""
    last = 0
    for number in range(1, pages + 1):
        if (
            number <= left_edge
            or page - left_current <= number <= page + right_current
            or number > pages - right_edge
        ):
            if last + 1 != number:
                yield None
            yield number
            last = number


def requested_page(*, allow_last: bool = False) -> int:
    """`?page=N` of this request made usable: missing, malformed or below 1 means 1
    (or -1, the last page, where a list allows it); huge numbers are clamped."""
    value = request.args.get("page", 1, type=int)
    if allow_last and value == LAST_PAGE:
        return LAST_PAGE
    return min(max(1, value), MAX_PAGE)


def per_page(setting: str) -> int:
    """How many items a list shows per page, from its setting (at least one)."""
    return max(1, int(current_app.config[setting]))


class Listing:
    """A list query: its rows (ordered, without LIMIT/OFFSET) and its count, from which
    the windowed statements are derived on first use and then reused."""

    def __init__(self, stmt: Select, count_stmt: Select | None = None) -> None:
        self.stmt = stmt
        if count_stmt is None:  # count the rows themselves
            count_stmt = select(func.count()).select_from(stmt.order_by(None).subquery())
        self.count_stmt = count_stmt

    @staticmethod
    def bounds(params: dict[str, Any], page: int, per_page: int) -> dict[str, Any]:
        """`params` plus the values of the windows' LIMIT and OFFSET for a page."""
        return {**params, "page_limit": per_page, "page_offset": (page - 1) * per_page}

    @cached_property
    def plain_columns(self) -> bool:
        return plain_columns(self.stmt)

    @cached_property
    def window(self) -> Select:
        return self.stmt.limit(PAGE_LIMIT).offset(PAGE_OFFSET)

    @cached_property
    def window_with_total(self) -> Select:
        """The window plus the total as an uncorrelated column (evaluated once)."""
        everything = self.count_stmt.scalar_subquery().correlate(None).label(TOTAL)
        return self.stmt.add_columns(everything).limit(PAGE_LIMIT).offset(PAGE_OFFSET)


async def paginate(
    session: AsyncSession,
    listing: Listing,
    params: dict[str, Any],
    *,
    page: int,
    per_page: int,
    total: int | None = None,
) -> Page[Row]:
    """One page of `listing`'s rows (its bound values in `params`), counted unless the
    caller already knows the total. Callers turn the rows into records by column name.

    `page=-1` means the last page; a page past the end is an empty page, and is not
    queried at all (a huge page number must not become an OFFSET the database rejects).
    For a numbered page the count rides along as an uncorrelated subquery column, so it
    is one statement (each costs ~0.4 ms of CPU through the async driver); only the last
    page, or a page found empty, counts first.
    """
    if total is None and page != LAST_PAGE and (page - 1) * per_page <= MAX_OFFSET:
        window = listing.bounds(params, page, per_page)
        rows = await _rows(session, listing, listing.window_with_total, window)
        if rows:
            return Page(rows, page, per_page, rows[0]._mapping[TOTAL])
    if total is None:
        total = (await read_scalar(session, listing.count_stmt, params)) or 0
    pages = max(1, -(-total // per_page))
    if page == LAST_PAGE:
        page = pages
    if page > pages:
        return Page([], page, per_page, total)
    window = listing.bounds(params, page, per_page)
    return Page(await _rows(session, listing, listing.window, window), page, per_page, total)


async def _rows(session: AsyncSession, listing: Listing, stmt: Select, params: dict) -> list[Row]:
    if listing.plain_columns:
        return await read_rows(session, stmt, params)
    return list((await session.execute(stmt, params)).all())
