"""Pages of results as the book's API shapes them: items, prev/next absolute URLs, count."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from quart import request, url_for
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")

# Larger page numbers are clamped: the OFFSET must stay inside a 64-bit integer on every
# database, and such a page is empty anyway.
MAX_PAGE = 2**31 - 1


def requested_page() -> int:
    """`?page=N`; missing, malformed or below 1 means 1, as in the book's API."""
    page = request.args.get("page", 1, type=int)
    return min(max(page, 1), MAX_PAGE)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    number: int
    per_page: int
    total: int

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number * self.per_page < self.total

    def links(self, endpoint: str, **values: Any) -> dict[str, Any]:
        """The `prev`, `next` and `count` members of a paginated response."""
        return {
            "prev": url_for(endpoint, page=self.number - 1, _external=True, **values)
            if self.has_prev
            else None,
            "next": url_for(endpoint, page=self.number + 1, _external=True, **values)
            if self.has_next
            else None,
            "count": self.total,
        }


async def paginate(session: AsyncSession, statement: Select, per_page: int) -> Page:
    """The requested page of `statement` (already ordered) with the total riding along as
    an uncorrelated subquery column: one statement, not two (each costs ~0.3 ms of CPU
    through the async driver). Only a page with no rows counts separately. Items are
    the entities of a one-entity statement, else tuples of the selected columns."""
    number = requested_page()
    count = select(func.count()).select_from(statement.order_by(None).subquery())
    window = statement.add_columns(count.scalar_subquery().correlate(None))
    rows = (await session.execute(window.limit(per_page).offset((number - 1) * per_page))).all()
    if rows:
        single = len(statement.column_descriptions) == 1
        items = [row[0] if single else tuple(row[:-1]) for row in rows]
        return Page(items, number, per_page, rows[0][-1])
    return Page([], number, per_page, (await session.scalar(count)) or 0)
