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
    """Two statements: the count, and the requested page of `statement` (already ordered)."""
    number = requested_page()
    total = await session.scalar(
        select(func.count()).select_from(statement.order_by(None).subquery())
    )
    items = await session.scalars(statement.limit(per_page).offset((number - 1) * per_page))
    return Page(list(items), number, per_page, total or 0)
