"""Is the database's schema the one this code was written for?

Served on a database that was never deployed, or whose newest migration is still pending,
the pages would fail one query at a time with 500s while /healthz said all was well. Each
worker reads the database's Alembic revision when it starts (and /healthz on every
check); while it is behind the code, every page answers 503 with a page that says so and
/healthz answers 503 `{"status": "schema behind", ...}`, so a load balancer keeps traffic
away until `flasky deploy` has run. Then the next check (at most every
FLASKY_SCHEMA_RECHECK seconds, run in the background) lets the pages through again.

Behind means: no revision and no tables (never deployed), or a revision this code knows
that is not its newest. A revision the code does not know is newer than the code (a
migration applied before the new code is rolled out): served as usual. A database whose
tables were made without Alembic (no revision, tables present, as the test suite and the
benchmark's seed do) cannot be judged and is served as usual.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass
from typing import Any

from quart import Quart, Response, current_app, request
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncConnection

log = logging.getLogger("flasky.schema")


@dataclass
class SchemaState:
    behind: bool = False
    revision: str | None = None
    head: str | None = None
    checked_at: float = float("-inf")
    task: asyncio.Task[Any] | None = None


def _state(app: Quart) -> SchemaState:
    return app.extensions.setdefault("schema_state", SchemaState())


def _revision_and_tables(connection: Any) -> tuple[str | None, bool]:
    from alembic.runtime.migration import MigrationContext

    revision = MigrationContext.configure(connection).get_current_revision()
    return revision, inspect(connection).has_table("users")


@functools.cache
def _known_revisions() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    from flasky.migrations import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    return frozenset(revision.revision for revision in script.walk_revisions())


def is_behind(revision: str | None, has_tables: bool, head: str | None) -> bool:
    if revision is None:
        return not has_tables
    return revision != head and revision in _known_revisions()


async def read_schema(app: Quart, connection: AsyncConnection) -> SchemaState:
    """Read the revision on `connection` and record what it means for this app."""
    from flasky.migrations import head_revision

    state = _state(app)
    revision, has_tables = await connection.run_sync(_revision_and_tables)
    state.head = state.head or head_revision()
    behind = is_behind(revision, has_tables, state.head)
    if behind != state.behind:
        if behind:
            log.error(
                "The database schema is at %s, the code needs %s: answering 503 until "
                "`flasky deploy` has run.",
                revision or "no revision",
                state.head,
            )
        else:
            log.warning("The database schema is now at %s: serving again.", revision)
    state.behind, state.revision, state.checked_at = behind, revision, time.monotonic()
    return state


async def check_schema(app: Quart) -> None:
    """One check on a connection of the app's pool; a database that does not answer leaves
    the state as it was (the outage is answered elsewhere)."""
    from flasky.db import get_database

    timeout = float(app.config.get("FLASKY_HEALTH_TIMEOUT", 2.0))
    try:
        async with asyncio.timeout(timeout):
            async with get_database(app).start().connect() as connection:
                await read_schema(app, connection)
    except Exception as error:  # any failure: no verdict this time; say why
        _state(app).checked_at = time.monotonic()
        log.info("Schema check skipped: %s: %s", type(error).__name__, error)


def check_in_background(app: Quart) -> None:
    state = _state(app)
    if state.task is None or state.task.done():
        state.task = asyncio.get_running_loop().create_task(check_schema(app))


async def check_at_startup() -> None:
    # Awaited: the first request must already know, and must not share the pool with it.
    await check_schema(current_app._get_current_object())  # type: ignore[attr-defined]


async def stop_checking() -> None:
    task = _state(current_app).task
    if task is not None and not task.done():
        task.cancel()


async def refuse_while_schema_behind() -> Response | None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    state = _state(app)
    if not state.behind:
        return None
    recheck = float(app.config.get("FLASKY_SCHEMA_RECHECK", 5.0))
    if time.monotonic() - state.checked_at >= recheck:
        check_in_background(app)
    if request.endpoint and request.endpoint.endswith("static"):
        return None
    from flasky.errors import error_response

    response = await error_response(
        503,
        "The site is being upgraded: its database is not ready for this version yet. "
        "Please try again in a few minutes.",
    )
    response.headers["Retry-After"] = "30"
    return response
