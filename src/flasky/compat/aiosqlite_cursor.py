"""A statement on aiosqlite in one thread hop instead of four.

aiosqlite runs each call on the sqlite3 connection in its own thread; SQLAlchemy's cursor
adapter makes four such calls per statement (open a cursor, execute, fetch all, close),
and every hop is a queue put, a thread wake-up and a future resolved back on the event
loop. Measured on the post page's one statement (600 comments, a page of 30): 0.80 ms of
CPU through the adapter, 0.53 ms with aiosqlite's calls made directly, 0.18 ms for
sqlite3 itself; most of a page view's database cost was the hops.

OneHopCursor runs the whole statement — cursor, execute, fetch, close — as one function
in aiosqlite's thread and keeps the rows, as the adapter does for a non-streaming
cursor. Server-side (streaming) cursors keep SQLAlchemy's class.

Touches SQLAlchemy's AsyncAdapt_aiosqlite_connection / _cursor (class attributes
_cursor_cls, the slots _connection, _adapt_connection, _rows, _soft_closed_memoized, the
connection's _execute_mutex) and aiosqlite's Connection._execute and _conn (SQLAlchemy
2.1.9, aiosqlite 0.22.1); see the index in flasky/compat/__init__.py.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
)
from sqlalchemy.util import EMPTY_DICT

Outcome = tuple[Any, list[Any] | None, int, int | None]


def _statement_in_thread(connection: Any, operation: str, parameters: Any, many: bool) -> Outcome:
    """In aiosqlite's thread: the statement from cursor to close."""
    cursor: sqlite3.Cursor = connection._conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else None
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's aiosqlite cursor adapter, one thread hop per statement."""

    __slots__ = ("_description", "_rowcount", "_lastrowid", "_arraysize")

    def __init__(self, adapt_connection: Any) -> None:
        # No aiosqlite cursor is opened here (that was a hop of its own).
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int | None:  # type: ignore[override]
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:
        # The sqlite3 cursor closed in the statement's own hop.
        return None

    def close(self) -> None:
        self._rows.clear()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._run(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        await self._run(operation, seq_of_parameters, many=True)

    async def _run(self, operation: Any, parameters: Any, *, many: bool) -> None:
        async with self._adapt_connection._execute_mutex:
            outcome = await self._connection._execute(
                _statement_in_thread, self._connection, operation, parameters, many
            )
        self._description, rows, self._rowcount, self._lastrowid = outcome
        if rows is not None:
            self._rows = collections.deque(rows)

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None

    def nextset(self) -> None:
        return None


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's aiosqlite connection adapter whose cursors are OneHopCursor."""

    __slots__ = ()
    _cursor_cls = OneHopCursor


def one_hop_statements(dbapi_connection: Any) -> None:
    """From the engine's "connect" event: this connection's statements take one hop."""
    if not isinstance(dbapi_connection, AsyncAdapt_aiosqlite_connection):
        raise RuntimeError(
            f"Expected SQLAlchemy's aiosqlite adapter, got {type(dbapi_connection).__name__}: "
            "SQLAlchemy's internals changed (see flasky/compat/__init__.py)."
        )
    dbapi_connection.__class__ = OneHopConnection
