"""The library internals flasky/compat/ relies on are still there, shaped as it expects.

Each test names what an upgrade of SQLAlchemy, aiosqlite, Quart, Flask, Hypercorn or
cmarkgfm would have to
keep for the fenced code to stay correct; see the index in flasky/compat/__init__.py.
"""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3

import pytest
from quart import Blueprint, Quart
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.util import greenlet_spawn
from sqlalchemy.util.queue import AsyncAdaptedQueue

from flasky.compat import quart_templating
from flasky.compat.aiosqlite_cursor import OneHopConnection, OneHopCursor, one_hop_statements
from flasky.compat.sqlalchemy_pool import FairQueue, FairQueuePool
from flasky.compat.sqlite import in_transaction, skip_empty_transaction_ends, sqlite3_connection


def test_sqlalchemy_async_queue_keeps_an_asyncio_queue_and_the_pool_its_queue_class():
    assert isinstance(AsyncAdaptedQueue(maxsize=1)._queue, asyncio.Queue)
    assert issubclass(AsyncAdaptedQueuePool._queue_class, AsyncAdaptedQueue)


async def test_the_fair_pool_hands_out_connections_through_the_fair_queue(tmp_path):
    engine = create_async_engine(
        f"sqlite+aiosqlite:///{tmp_path / 'pool.sqlite'}", poolclass=FairQueuePool, pool_size=1
    )
    try:
        async with engine.connect() as connection:
            assert (await connection.exec_driver_sql("SELECT 1")).scalar() == 1
        assert isinstance(engine.pool._pool, FairQueue)
        assert engine.pool.logger.name == "sqlalchemy.pool.impl.FairQueuePool"
    finally:
        await engine.dispose()


async def test_fair_queue_times_out_as_sqlalchemys_queue_does():
    from sqlalchemy.util.queue import Empty

    queue = FairQueue(maxsize=1)
    with pytest.raises(Empty):
        await greenlet_spawn(queue.get, True, 0.05)


async def test_the_sqlite3_connection_is_reached_through_the_adapter_and_aiosqlite(tmp_path):
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'chain.sqlite'}")
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            dbapi_connection = raw.dbapi_connection
            assert isinstance(sqlite3_connection(dbapi_connection), sqlite3.Connection)
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
            assert in_transaction(dbapi_connection) is True
            await connection.exec_driver_sql("ROLLBACK")
            assert in_transaction(dbapi_connection) is False
    finally:
        await engine.dispose()


async def test_a_statement_on_aiosqlite_takes_one_thread_hop_and_behaves_as_before(tmp_path):
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'hops.sqlite'}")
    event.listen(engine.sync_engine, "connect", lambda dbapi, record: one_hop_statements(dbapi))
    try:
        async with engine.connect() as connection:
            raw = (await connection.get_raw_connection()).dbapi_connection
            assert type(raw) is OneHopConnection
            assert isinstance(raw.cursor(), OneHopCursor)
            hops = 0
            driver = raw._connection  # aiosqlite's; every call it queues goes through _execute
            in_thread = driver._execute

            async def counted(fn, *args, **kwargs):
                nonlocal hops
                hops += 1
                return await in_thread(fn, *args, **kwargs)

            driver._execute = counted
            await connection.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
            inserted = await connection.execute(text("INSERT INTO t (v) VALUES ('a')"))
            assert inserted.lastrowid == 1
            await connection.execute(
                text("INSERT INTO t (v) VALUES (:v)"), [{"v": "b"}, {"v": "c"}]
            )
            hops = 0
            rows = (await connection.execute(text("SELECT id, v FROM t ORDER BY id"))).all()
            assert hops == 1
            assert [tuple(row) for row in rows] == [(1, "a"), (2, "b"), (3, "c")]
            result = await connection.execute(text("SELECT v FROM t ORDER BY id"))
            assert result.keys() == ["v"] and result.fetchmany(2) == [("a",), ("b",)]
            assert result.fetchone() == ("c",) and result.fetchone() is None
            updated = await connection.execute(text("UPDATE t SET v = 'z' WHERE id > 1"))
            assert updated.rowcount == 2
            # A driver error still reaches SQLAlchemy as a DBAPI error.
            from sqlalchemy.exc import OperationalError

            with pytest.raises(OperationalError, match="no such table"):
                await connection.exec_driver_sql("SELECT * FROM missing")
            # Streaming results keep SQLAlchemy's own server-side cursor.
            streamed = await connection.stream(text("SELECT v FROM t ORDER BY id"))
            assert [row.v async for row in streamed] == ["a", "z", "z"]
    finally:
        await engine.dispose()


def test_one_hop_refuses_a_connection_it_does_not_know():
    with pytest.raises(RuntimeError, match="internals changed"):
        one_hop_statements(object())


def test_an_unknown_connection_chain_fails_loudly_instead_of_skipping_commits():
    class Unrecognised:
        pass

    with pytest.raises(RuntimeError, match="internals changed"):
        in_transaction(Unrecognised())


def test_empty_transaction_ends_are_skipped_and_real_ones_reach_the_driver():
    calls: list[str] = []

    class Dialect:
        def do_commit(self, dbapi_connection):
            calls.append("commit")

        def do_rollback(self, dbapi_connection):
            calls.append("rollback")

    dialect = Dialect()
    skip_empty_transaction_ends(dialect)  # type: ignore[arg-type]
    connection = sqlite3.connect(":memory:", isolation_level=None)
    try:
        dialect.do_commit(connection)
        dialect.do_rollback(connection)
        assert calls == []
        connection.execute("BEGIN")
        dialect.do_commit(connection)
        dialect.do_rollback(connection)
        assert calls == ["commit", "rollback"]
    finally:
        connection.close()


async def test_quarts_request_context_variable_gives_the_url_adapter():
    from quart.globals import _cv_request

    assert isinstance(_cv_request, contextvars.ContextVar)
    app = Quart(__name__)
    app.add_url_rule("/x", "x", lambda: "x")
    assert quart_templating.current_url_adapter() is None
    async with app.test_request_context("/x"):
        adapter = quart_templating.current_url_adapter()
        assert adapter is not None and adapter.build("x") == "/x"


def test_quart_blueprints_still_carry_flasks_default_context_processor():
    # While they do, templating drops it (a thread hop per render for nothing); once Flask
    # or Quart stops adding it, FLASK_DEFAULT_CONTEXT_PROCESSOR and its removal can go.
    processor = quart_templating.FLASK_DEFAULT_CONTEXT_PROCESSOR
    assert processor is not None
    app = Quart(__name__)
    app.register_blueprint(Blueprint("probe", __name__))
    assert processor in app.template_context_processors["probe"]


def test_hypercorns_worker_entry_points_take_config_sockets_and_the_stop_event():
    import inspect

    from hypercorn.asyncio.run import asyncio_worker, uvloop_worker

    from flasky.compat.hypercorn_workers import worker_entry_point

    assert worker_entry_point("asyncio") is asyncio_worker
    assert worker_entry_point("uvloop") is uvloop_worker
    assert worker_entry_point("trio") is None
    for worker in (asyncio_worker, uvloop_worker):
        assert list(inspect.signature(worker).parameters) == [
            "config",
            "sockets",
            "shutdown_event",
        ]


def test_cmarkgfms_compiled_module_exports_what_the_leak_free_renderer_calls():
    from cmarkgfm import _cmark

    from flasky.compat import cmark

    for name in (
        "cmark_parser_new",
        "cmark_parser_attach_syntax_extension",
        "cmark_parser_feed",
        "cmark_parser_finish",
        "cmark_parser_get_syntax_extensions",
        "cmark_render_html",
        "cmark_parser_free",
        "cmark_gfm_core_extensions_ensure_registered",
        "cmark_find_syntax_extension",
    ):
        assert hasattr(_cmark.lib, name), name
    # The freeing functions are read from the shared object itself, not cmarkgfm's cdef.
    assert cmark._release.cmark_node_free
    assert cmark._allocator.free != _cmark.ffi.NULL
    assert cmark.to_html("~~gone~~", raw_html=False) == "<p><del>gone</del></p>\n"
    assert "<table>" in cmark.to_html("| a |\n|---|\n| b |", raw_html=False)
    assert cmark.OMITTED in cmark.to_html("<b>raw</b>", raw_html=False)
    assert "<b>raw</b>" in cmark.to_html("<b>raw</b>", raw_html=True)
