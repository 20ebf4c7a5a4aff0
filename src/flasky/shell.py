"""`flasky shell`: an interactive shell with the app and models loaded, where `await` works.

The database is async, so the shell keeps an event loop running on a background thread:
top-level `await session.scalar(...)` (or `run(coro)`) sends the coroutine there, inside an
app context, and waits for its result. IPython is used when installed, else the plain REPL.
"""

from __future__ import annotations

import ast
import asyncio
import code
import inspect
import threading
import types
from collections.abc import Coroutine
from typing import Any

from quart import Quart
from sqlalchemy import delete, event, func, insert, or_, select, update
from sqlalchemy import inspect as inspect_mapped
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper, ORMExecuteState, lazyload, selectinload
from sqlalchemy.sql import Select

from flasky import models
from flasky.db import get_database
from flasky.models.user import create_user as create_user_in
from flasky.models.user import load_user as load_user_by_id

# Every line starting with ">>> " is run by tests/test_cli.py on a small database, so the
# examples shown here keep working.
BANNER = """Flasky shell ({config} config, database {url})
Names: app, db, session, run, select, func, insert, update, delete, load_user, create_user,
       {models}
`await` works at the prompt. Rows loaded here come with the rows they point to (a user's
role, a post's author); lists (a user's posts) load when awaited through awaitable_attrs:
>>> u = await load_user(1)                      # by id, username or email
>>> u.role, u.can(Permission.WRITE), u.is_administrator()
>>> posts = await u.awaitable_attrs.posts
>>> p = await session.scalar(select(Post).order_by(Post.timestamp.desc()))
>>> p.author.username if p else None
>>> await session.scalar(select(func.count(User.id)))
Change rows and call `await session.commit()` to keep the changes, e.g.
  u = await create_user(email="ann@example.com", username="ann", password="cat")"""

# How deep the shell follows many-to-one links (comment -> post -> author -> role).
EAGER_DEPTH = 4


def _loader_options(mapper: Mapper, depth: int, path: Any = None) -> list:
    """Load each many-to-one link of `mapper` with the row (down to `depth` links) and let
    each collection load lazily, which `awaitable_attrs` can await: the app's relationships
    refuse to load on access (lazy="raise"), which suits pages but not a reader exploring."""
    options: list = []
    for relationship in mapper.relationships:
        attribute = relationship.class_attribute
        if relationship.uselist:
            options.append(path.lazyload(attribute) if path else lazyload(attribute))
        elif depth > 0:
            loaded = path.selectinload(attribute) if path else selectinload(attribute)
            options.append(loaded)
            options += _loader_options(relationship.mapper, depth - 1, loaded)
    return options


def _with_loaders(statement: Select, options: list) -> Select:
    """The statement with those of `options` that do not clash with its own: a loader the
    statement names itself (say `joinedload(User.role)`) wins. A clash shows only when
    the statement is compiled, so each option is tried that way (cheap at a prompt)."""
    try:
        combined = statement.options(*options)
        combined.compile()
        return combined
    except InvalidRequestError:
        pass
    for option in options:
        trial = statement.options(option)
        try:
            trial.compile()
        except InvalidRequestError:
            continue
        statement = trial
    return statement


def _load_related(state: ORMExecuteState) -> None:
    if not state.is_select or state.is_column_load:
        return
    options = []
    for column in state.statement.column_descriptions:
        entity = column.get("entity")
        # Whole rows of a mapped class only: `select(func.count(User.id))` loads no object.
        if isinstance(entity, type) and column.get("expr") is entity:
            options += _loader_options(inspect_mapped(entity), EAGER_DEPTH)
    if options:
        state.statement = _with_loaders(state.statement, options)


def shell_session(app: Quart) -> AsyncSession:
    """A session of the app's database whose loads bring related rows along."""
    session = get_database(app).session()
    event.listen(session.sync_session, "do_orm_execute", _load_related)
    return session


class BackgroundLoop:
    """An event loop on a daemon thread; run() hands it a coroutine and waits."""

    def __init__(self, app: Quart) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="flasky-shell-loop", daemon=True
        )
        self.thread.start()

    async def _in_app_context(self, coro: Coroutine[Any, Any, Any]) -> Any:
        async with self.app.app_context():
            return await coro

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        future = asyncio.run_coroutine_threadsafe(self._in_app_context(coro), self.loop)
        try:
            return future.result()
        except KeyboardInterrupt:
            future.cancel()
            raise

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


class AsyncConsole(code.InteractiveConsole):
    """The standard console, compiling with top-level await (as `python -m asyncio` does)."""

    def __init__(self, namespace: dict[str, Any], loop: BackgroundLoop) -> None:
        super().__init__(namespace)
        self.compile.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        self.background = loop

    def runcode(self, code_object: types.CodeType) -> None:
        function = types.FunctionType(code_object, self.locals)
        try:
            result = function()
            if inspect.iscoroutine(result):
                self.background.run(result)
        except SystemExit:
            raise
        except BaseException:
            self.showtraceback()


def shell_namespace(app: Quart, loop: BackgroundLoop) -> dict[str, Any]:
    database = get_database(app)
    session = shell_session(app)

    async def load_user(key: int | str) -> models.User | None:
        """A user by id, username or email address, with their role."""
        if isinstance(key, int):
            return await load_user_by_id(session, key)
        User = models.User
        return await session.scalar(
            select(User).where(or_(User.username == key, User.email == key.strip().lower()))
        )

    async def create_user(**fields: Any) -> models.User:
        """Add a user as registration does (role, self-follow, hashed password); commit to keep."""
        return await create_user_in(session, **fields)

    namespace: dict[str, Any] = {
        "app": app,
        "db": database,
        "session": session,
        "run": loop.run,
        "select": select,
        "func": func,
        "insert": insert,
        "update": update,
        "delete": delete,
        "create_user": create_user,
        "load_user": load_user,
    }
    namespace.update({name: getattr(models, name) for name in models.__all__})
    return namespace


def banner(app: Quart) -> str:
    return BANNER.format(
        config=app.config["FLASKY_CONFIG"],
        url=get_database(app).url,
        models=", ".join(models.__all__),
    )


def start_shell(app: Quart, plain: bool = False) -> None:
    loop = BackgroundLoop(app)
    namespace = shell_namespace(app, loop)
    session = namespace["session"]  # IPython empties the namespace when it exits
    text = banner(app)
    try:
        if not plain and _start_ipython(namespace, text, loop):
            return
        try:
            import readline  # noqa: F401  (line editing and history in the plain console)
        except ImportError:
            pass
        AsyncConsole(namespace, loop).interact(banner=text, exitmsg="")
    finally:
        loop.run(session.close())
        loop.run(get_database(app).stop())
        loop.close()


def _start_ipython(namespace: dict[str, Any], banner: str, loop: BackgroundLoop) -> bool:
    try:
        from IPython.terminal.ipapp import TerminalIPythonApp
        from traitlets.config import Config
    except ImportError:
        return False
    config = Config()
    config.TerminalInteractiveShell.banner2 = banner + "\n"
    ipython = TerminalIPythonApp.instance(config=config, user_ns=namespace)
    ipython.initialize(argv=[])
    # IPython's `await` runs on our loop, so the session and engine stay on one loop.
    ipython.shell.autoawait = True
    ipython.shell.loop_runner = loop.run
    ipython.start()
    return True
