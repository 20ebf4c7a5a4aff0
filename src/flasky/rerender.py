"""Render every stored post and comment again with today's Markdown rules.

Rows keep the HTML they were saved with until this runs (`flasky rerender`). It walks
each table in primary-key order, one committed batch at a time, so an interrupted run
loses at most the batch in progress and a second run simply does the work again. A row
whose body is edited while its batch renders keeps the HTML its edit wrote: the update
applies only where the body is still the one that was rendered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flasky.markdown import render_comment, render_post
from flasky.models import Comment, Post

BATCH_SIZE = 200
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Rerendered:
    rows: int
    changed: int


TABLES = {"posts": (Post, render_post), "comments": (Comment, render_comment)}


async def count_rows(session: AsyncSession, what: str) -> int:
    model, _ = TABLES[what]
    total = await session.scalar(select(func.count()).select_from(model))
    await session.commit()
    return total or 0


def _render_batch(rows: list, render: Callable[[str], str]) -> list[dict]:
    return [
        {"row_id": row.id, "rendered_body": row.body, "new_html": html}
        for row in rows
        if (html := render(row.body or "")) != row.body_html
    ]


async def rerender(
    session: AsyncSession,
    what: str,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> Rerendered:
    """Re-render one table ("posts" or "comments"); returns how many rows were seen and
    how many rendered differently from what was stored."""
    model, render = TABLES[what]
    table = model.__table__
    page = (
        select(model.id, model.body, model.body_html)
        .where(model.id > bindparam("after"))
        .order_by(model.id)
        .limit(batch_size)
    )
    store = (
        update(table)
        .where(table.c.id == bindparam("row_id"), table.c.body == bindparam("rendered_body"))
        .values(body_html=bindparam("new_html"))
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
        updates = await asyncio.to_thread(_render_batch, rows, render)
        if updates:
            await session.execute(store, updates)
            await session.commit()
            changed += len(updates)
        after = rows[-1].id
        seen += len(rows)
        if progress:
            progress(len(rows))
