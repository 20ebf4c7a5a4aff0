"""Where Flasky reaches into a library's internals, fenced: everyday code imports from here.

Each piece is kept because a measurement justified it. pyproject.toml caps every library
named below under its next minor (or major) version (cmarkgfm, whose versions are dates,
under the next year), so an upgrade is a deliberate change
that runs the tests named here.

sqlalchemy_pool: FairQueuePool, connections handed out first come, first served.
  Touches   AsyncAdaptedQueue._queue (the asyncio.Queue inside SQLAlchemy's async pool
            queue), QueuePool._queue_class, sqlalchemy.util.await_only, the pool's
            _sqla_logger_namespace, and asyncio.Lock._waiters (whether anyone is queued
            for a connection, so one free can be taken without the turnstile).
  Why       SQLAlchemy's queue lets a newcomer take a returned connection before the
            waiter woken for it; under load p99 latency ran at ~1.7x what the throughput
            implies. The namespace keeps the pool's log records under sqlalchemy.pool.
  Checked   SQLAlchemy 2.1.9.
  Tests     tests/test_compat.py, tests/test_db_locking.py (the longest waiter is served
            first), tests/test_cli.py::test_deploy_as_console_script_with_production_config.

sqlite: SQLite transactions without empty COMMIT/ROLLBACK round trips.
  Touches   the engine dialect's do_commit / do_rollback (replaced on that engine only),
            and the _connection attributes from SQLAlchemy's aiosqlite adapter through
            aiosqlite to the sqlite3.Connection, whose in_transaction flag is read.
  Why       a page view on SQLite then costs no BEGIN and no ROLLBACK (two aiosqlite thread
            hops each) and never holds the write lock.
  Checked   SQLAlchemy 2.1.9, aiosqlite 0.22.1.
  Tests     tests/test_compat.py, tests/test_db_locking.py.

aiosqlite_cursor: a statement on aiosqlite in one thread hop instead of four.
  Touches   SQLAlchemy's AsyncAdapt_aiosqlite_connection (its class is swapped per
            connection for a subclass whose _cursor_cls is OneHopCursor) and the cursor
            adapter's slots (_connection, _adapt_connection, _rows,
            _soft_closed_memoized) and _execute_mutex; aiosqlite's Connection._execute
            (run a function in its thread) and _conn (the sqlite3 connection there).
  Why       SQLAlchemy's adapter opens a cursor, executes, fetches and closes as four
            hops; one hop made the post page's statement 0.80 -> 0.53 ms of CPU.
  Checked   SQLAlchemy 2.1.9, aiosqlite 0.22.1.
  Tests     tests/test_compat.py (hops per statement, rows, counts, errors, streaming).

quart_templating: what the templating speed-ups read.
  Touches   quart.globals._cv_request (the request context variable) and
            flask.templating._default_template_ctx_processor.
  Why       the memoized url_for keys on the request's URL adapter without the proxy's
            lookups; Flask's default context processor, which every Quart blueprint
            inherits, returns nothing under Quart yet cost a thread hop per render.
  Checked   Quart 0.22.0, Flask 3.1.3.
  Tests     tests/test_compat.py, tests/test_templating.py.

hypercorn_workers: the worker entry points `flasky serve`'s master starts.
  Touches   hypercorn.asyncio.run.asyncio_worker / uvloop_worker(config, sockets,
            shutdown_event), which Hypercorn's own master (hypercorn.run.run) spawns.
  Why       Hypercorn's master exits 0 when its workers fail to start; flasky serve runs
            the same workers under a master whose exit status says what happened.
  Checked   Hypercorn 0.18.0.
  Tests     tests/test_serve.py, tests/test_shutdown.py.

cmark: Markdown through cmark-gfm without the leak of cmarkgfm's Python wrappers.
  Touches   cmarkgfm._cmark (its compiled cffi module): the parser and renderer functions
            behind cmarkgfm's wrappers, plus cmark_node_free and
            cmark_get_default_mem_allocator, looked up in the same shared object.
  Why       cmarkgfm's wrappers never free the rendered HTML nor the parsed document:
            ~2 MB per 40 KB body stayed allocated for the life of the worker.
  Checked   cmarkgfm 2025.10.22 (cmark 0.29.0.gfm.13).
  Tests     tests/test_compat.py, tests/test_markdown.py::test_rendering_does_not_leak.

Rate limiting (flasky/ratelimit.py) uses the `limits` library's public API only.
"""
