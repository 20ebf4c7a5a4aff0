"""SQLite transactions without empty BEGIN/COMMIT round trips.

Touches the engine dialect's `do_commit` / `do_rollback` (replaced per engine) and the
`_connection` attributes that lead from SQLAlchemy's aiosqlite adapter through aiosqlite to
the `sqlite3.Connection` (SQLAlchemy 2.1.9, aiosqlite 0.22.1); see the index in
flasky/compat/__init__.py.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy.engine import Dialect


def sqlite3_connection(dbapi_connection: Any) -> sqlite3.Connection:
    """The sqlite3 connection under SQLAlchemy's adapter and aiosqlite's wrapper."""
    connection = dbapi_connection
    while connection is not None and not isinstance(connection, sqlite3.Connection):
        connection = getattr(connection, "_connection", None)
    if connection is None:
        # Answering "no transaction" here would turn every COMMIT into a no-op.
        raise RuntimeError(
            f"No sqlite3 connection found under {type(dbapi_connection).__name__}: "
            "SQLAlchemy's or aiosqlite's internals changed (see flasky/compat/__init__.py)."
        )
    return connection


def in_transaction(dbapi_connection: Any) -> bool:
    """Whether SQLite has a transaction open on this connection (a memory read, no thread
    hop through aiosqlite)."""
    return sqlite3_connection(dbapi_connection).in_transaction


def skip_empty_transaction_ends(dialect: Dialect) -> None:
    """Ending a transaction that never began is a no-op in SQLite: skip its round trip."""
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(dbapi_connection: Any) -> None:
        if in_transaction(dbapi_connection):
            commit(dbapi_connection)

    def do_rollback(dbapi_connection: Any) -> None:
        if in_transaction(dbapi_connection):
            rollback(dbapi_connection)

    dialect.do_commit = do_commit  # type: ignore[method-assign]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign]
