"""Bench-only instruments, installed only by the bench's entry points (never by create_app).

- `X-Flasky-Statements`: SQL statements the request ran (the bench probes each page once).
- `X-Bench-Worker`, `X-Bench-Committed`: the worker process that served the request and
  the wall-clock time (`time.time()`) its last commit returned, so the streams benchmark
  can time a delivery from the commit and tell which worker wrote an event.
- `FLASKY_BENCH_DB_LATENCY_MS`: a pause before every statement, standing in for a database
  on another host. Cursor events are synchronous, but on the async engine they run inside
  SQLAlchemy's greenlet, where `await_` hands the sleep to the event loop: the connection
  stays checked out (as it would during a network round trip) and other requests run. In
  the threaded server the same hook is a `time.sleep` that holds the thread.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

STATEMENTS_HEADER = "X-Flasky-Statements"
LATENCY_ENV = "FLASKY_BENCH_DB_LATENCY_MS"
WORKER_HEADER = "X-Bench-Worker"
COMMITTED_HEADER = "X-Bench-Committed"
_COMMITTED = "bench_committed"


def db_latency_seconds() -> float:
    value = os.environ.get(LATENCY_ENV, "").strip()
    return float(value) / 1000.0 if value else 0.0


def install_async_latency(seconds: float) -> None:
    """Every async engine of this process waits `seconds` before each statement."""
    if seconds <= 0:
        return
    from sqlalchemy.util import await_

    @event.listens_for(Engine, "before_cursor_execute")
    def _pause(*args: Any) -> None:
        await_(asyncio.sleep(seconds))


def install_sync_latency(seconds: float) -> None:
    if seconds <= 0:
        return

    @event.listens_for(Engine, "before_cursor_execute")
    def _pause(*args: Any) -> None:
        time.sleep(seconds)


def install_commit_clock() -> None:
    """Every ORM session of this process notes when its commits return (session.info)."""
    from sqlalchemy.orm import Session

    @event.listens_for(Session, "after_commit")
    def _note(session: Session) -> None:
        session.info[_COMMITTED] = time.time()


def committed_at(info: dict[str, Any]) -> float | None:
    return info.get(_COMMITTED)
