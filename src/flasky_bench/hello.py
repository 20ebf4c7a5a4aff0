"""The floors: the cheapest answers the same server can give.

`asgi_app` is a bare ASGI callable (the server's own ceiling); `quart_app` is a bare
Quart "hello" (the framework's ceiling, the floor the issue's reference numbers use).
"""

from __future__ import annotations

from typing import Any

from quart import Quart

BODY = b"Hello, World!"


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"content-length", str(len(BODY)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": BODY})


quart_app = Quart(__name__)


@quart_app.route("/", defaults={"path": ""})
@quart_app.route("/<path:path>")
async def hello(path: str) -> str:
    return "Hello, World!"
