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
from sqlalchemy import delete, func, insert, select, update

from flasky import models
from flasky.db import get_database
from flasky.models.user import create_user, load_user

BANNER = """Flasky shell ({config} config, database {url})
Names: app, db, session, run, select, func, insert, update, delete, create_user, load_user,
       {models}
`await` works at the prompt, e.g.  await session.scalar(select(func.count(User.id)))
Call `await session.commit()` to keep changes."""


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
    namespace: dict[str, Any] = {
        "app": app,
        "db": database,
        "session": database.session(),
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


def start_shell(app: Quart, plain: bool = False) -> None:
    loop = BackgroundLoop(app)
    namespace = shell_namespace(app, loop)
    session = namespace["session"]  # IPython empties the namespace when it exits
    banner = BANNER.format(
        config=app.config["FLASKY_CONFIG"],
        url=get_database(app).url,
        models=", ".join(models.__all__),
    )
    try:
        if not plain and _start_ipython(namespace, banner, loop):
            return
        try:
            import readline  # noqa: F401  (line editing and history in the plain console)
        except ImportError:
            pass
        AsyncConsole(namespace, loop).interact(banner=banner, exitmsg="")
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
