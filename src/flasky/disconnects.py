"""Requests run to the end even when their client disconnects.

Quart cancels a request's handler as soon as the server reports `http.disconnect`.
A cancellation that lands inside a database call cannot hand the connection back
cleanly: SQLAlchemy invalidates it without a rollback, and with SQLite the abandoned
connection kept its `BEGIN IMMEDIATE` write lock, so the following requests waited out
busy_timeout and failed with "database is locked" (seen in `flasky bench run` at the end
of every load run, when the load generator closes its connections mid-request).

This middleware holds the disconnect back until the handler has finished, once the
request body is complete (the only time a handler does database work); a client that
leaves while still sending its body is reported at once, as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

Message = dict[str, Any]


class FinishAfterDisconnect:
    def __init__(self, asgi_app: Any, streaming_paths: Iterable[str] = ()) -> None:
        self.asgi_app = asgi_app
        # Long-lived responses (event streams) end when their client leaves: they hold no
        # database connection while streaming, and holding the disconnect back would keep
        # them open forever.
        self.streaming_paths = frozenset(streaming_paths)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path") in self.streaming_paths:
            await self.asgi_app(scope, receive, send)
            return
        finished = asyncio.Event()
        body_complete = False

        async def receive_holding_disconnect() -> Message:
            nonlocal body_complete
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                body_complete = True
            elif message["type"] == "http.disconnect" and body_complete:
                await finished.wait()
            return message

        try:
            await self.asgi_app(scope, receive_holding_disconnect, send)
        finally:
            finished.set()
