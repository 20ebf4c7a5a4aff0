"""Render every stored post and comment again with today's Markdown rules.

Rows keep the HTML they were saved with until this runs (`flasky rerender`); a post's
text for search and its word count, derived from that HTML, are renewed with it. It walks
each table in primary-key order, one committed batch at a time, so an interrupted run
loses at most the batch in progress and a second run simply does the work again. A row
whose body is edited while its batch renders keeps the HTML its edit wrote: the update
applies only where the body is still the one that was rendered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flasky.markdown import render_comment
from flasky.models import Comment, Post
from flasky.models.post import post_body_columns

BATCH_SIZE = 200
Progress = Callable[[int], None]
# What a table stores derived from a body: the HTML first, then whatever comes from it.
Derive = Callable[[str], dict[str, Any]]


@dataclass(frozen=True)
class Rerendered:
    rows: int
    changed: int


def post_columns(body: str) -> dict[str, Any]:
    columns = post_body_columns(body)
    del columns["body"]
    return columns


def comment_columns(body: str) -> dict[str, Any]:
    return {"body_html": render_comment(body)}


TABLES: dict[str, tuple[Any, Derive]] = {
    "posts": (Post, post_columns),
    "comments": (Comment, comment_columns),
}


async def count_rows(session: AsyncSession, what: str) -> int:
    model, _ = TABLES[what]
    total = await session.scalar(select(func.count()).select_from(model))
    await session.commit()
    return total or 0


def _render_batch(rows: list, derive: Derive) -> list[dict[str, Any]]:
    """Parameters of the update for the rows whose HTML comes out different."""
    updates = []
    for row in rows:
        columns = derive(row.body or "")
        if columns["body_html"] != row.body_html:
            new = {f"new_{name}": value for name, value in columns.items()}
            updates.append({"row_id": row.id, "rendered_body": row.body, **new})
    return updates


def _store(model: Any, updates: list[dict[str, Any]]) -> Any:
    table = model.__table__
    names = [key.removeprefix("new_") for key in updates[0] if key.startswith("new_")]
    return (
        update(table)
        .where(table.c.id == bindparam("row_id"), table.c.body == bindparam("rendered_body"))
        .values({name: bindparam(f"new_{name}") for name in names})
    )


async def rerender(
    session: AsyncSession,
    what: str,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> Rerendered:
    """Re-render one table ("posts" or "comments"); returns how many rows were seen and
    how many rendered differently from what was stored."""
    model, derive = TABLES[what]
    page = (
        select(model.id, model.body, model.body_html)
        .where(model.id > bindparam("after"))
        .order_by(model.id)
        .limit(batch_size)
    )
    after, seen, changed = 0, 0, 0
    while True:
        rows = (await session.execute(page, {"after": after})).all()
        # No transaction stays open while the batch renders (on SQLite it would hold
        # the write lock against every other writer).
        await session.commit()
        if not rows:
            return Rerendered(seen, changed)
        # Markdown is CPU work: off the event loop, like every render.
        updates = await asyncio.to_thread(_render_batch, rows, derive)
        if updates:
            await session.execute(_store(model, updates), updates)
            await session.commit()
            changed += len(updates)
        after = rows[-1].id
        seen += len(rows)
        if progress:
            progress(len(rows))
