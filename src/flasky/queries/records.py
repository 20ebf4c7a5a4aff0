"""Records from rows, by column label.

A list's statement labels its columns with the names of its record's fields; a record is
built from the labels, never from positions, so a column added anywhere in a select
cannot shift another figure. The labels are looked up once per result rather than per
row: a RowMapping lookup per field made building a page of 20 posts ~70 % dearer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Boolean,
    CompoundSelect,
    Executable,
    Row,
    Select,
    Subquery,
    cast,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession


def columns_by_label(rows: Sequence[Row], labels: Sequence[str]) -> Callable[[Row], tuple]:
    """A function giving the columns `labels`, in that order, of any row of this result
    (all its rows share their labels). A label the statement lacks raises ValueError."""
    fields = rows[0]._fields
    positions = [fields.index(label) for label in labels]
    start = positions[0]
    if positions == list(range(start, start + len(positions))):
        # The usual case, labels in the record's order: one slice, as cheap as by position.
        return itemgetter(slice(start, start + len(positions)))
    return itemgetter(*positions) if len(positions) > 1 else lambda row: (row[start],)


def plain_columns(statement: Select) -> bool:
    """Whether a select's rows are plain columns, which read_rows can run, rather than
    ORM entities (`select(User, ...)`), which need the session's execute."""
    return not any(isinstance(column["type"], type) for column in statement.column_descriptions)


async def read_rows(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any]
) -> list[Row]:
    """The rows of a statement of plain, labelled columns (no ORM entities), run on the
    session's connection and transaction. The session's own execute would put the rows
    through the ORM's result machinery for nothing: ~0.15 ms of CPU a statement on
    SQLite (0.70 -> 0.55 ms for a page of 20 posts). Pending ORM changes are flushed
    first, as the session would (autoflush), so a read sees this request's writes."""
    if session.new or session.dirty or session.deleted:
        await session.flush()
    connection = await session.connection()
    return list((await connection.execute(statement, params)).all())


async def read_scalar(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any]
) -> Any:
    """The first column of the first row (None when there is none), as read_rows runs it."""
    rows = await read_rows(session, statement, params)
    return rows[0][0] if rows else None


# -- one thing and a page of another, in one statement ------------------------------------
# A page that shows one thing and a list of another (a post and its comments, a profile and
# its posts) reads them as one UNION ALL: the one row, then the list's rows. Not a join of
# the one to the list: that repeats the one's columns on every row and makes the database
# materialise the window and sort the result again (0.22 ms on SQLite for a post and 30
# comments, where the two halves cost 0.13 ms).
#
# Columns of the same label in both halves share a slot: a post and a comment both have
# an id, a body, a timestamp and an author card, so the post page's rows are 14 columns
# wide rather than 22. Every cell is a call into the driver (and on Python's sqlite3 a
# release and re-take of the GIL): the narrower rows cost ~15 % less to fetch.

ONE_ROW = "one_row"


def one_row_and_window(one: Select, window: Subquery) -> CompoundSelect:
    """`one`'s row and the window's rows, with `one`'s columns first and then the window's
    columns `one` lacks; a column a half lacks is a typed NULL in its rows, so every
    column reads as its type. A label in both halves is one column: the two must be of
    the same type (ValueError otherwise: label them apart). The one row is told from the
    window's by its true ONE_ROW column."""
    ones = {column.key: column for column in one.selected_columns}
    windows = {column.key: column for column in window.c}
    for label in ones.keys() & windows.keys():
        if type(ones[label].type) is not type(windows[label].type):
            raise ValueError(
                f"{label!r} is {ones[label].type!r} in the one row and "
                f"{windows[label].type!r} in the window: label them apart"
            )
    only_window = [label for label in windows if label not in ones]
    one_row = one.add_columns(
        *(cast(null(), windows[label].type).label(label) for label in only_window),
        true().label(ONE_ROW),
    )
    window_rows = select(
        *(windows[label] if label in windows else cast(null(), ones[label].type) for label in ones),
        *(windows[label] for label in only_window),
        cast(null(), Boolean),
    )
    return union_all(one_row, window_rows)


def split_one_and_window(
    rows: Sequence[Row], order: Sequence[str], *, descending: bool = False
) -> tuple[Row | None, list[Row]]:
    """The rows of a one_row_and_window statement: the one row (None when there is none)
    and the window's rows ordered by their columns `order`. The rows of a UNION ALL come
    in no promised order, so the window is ordered here."""
    if not rows:
        return None, []
    labels = rows[0]._fields
    marker = labels.index(ONE_ROW)
    ones = [row for row in rows if row[marker]]
    window = sorted(
        (row for row in rows if not row[marker]),
        key=itemgetter(*(labels.index(label) for label in order)),
        reverse=descending,
    )
    return (ones[0] if ones else None), window
