"""A client that disconnects must not cancel its request inside a database call
(flasky.disconnects, found by the benchmark: the abandoned SQLite connection kept its
write lock and the next requests failed with "database is locked")."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

from flasky.disconnects import FinishAfterDisconnect
from tests.factories import make_comment, make_post, make_user


def http_scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost"), (b"accept", b"text/html")],
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 80),
        "extensions": {},
    }


def client_that_leaves(body_complete: bool = True) -> Any:
    messages = [{"type": "http.request", "body": b"", "more_body": not body_complete}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        return {"type": "http.disconnect"}

    return receive


async def test_page_is_finished_although_the_client_left(app, session):
    author = await make_user(session, username="writer")
    post = await make_post(session, author, body="hello")
    for _ in range(3):
        await make_comment(session, author, post)
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    for _ in range(5):
        await served_alone(app(http_scope(f"/post/{post.id}"), client_that_leaves(), send))
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert [m["status"] for m in starts] == [200] * 5


def served_alone(request: Any) -> asyncio.Task:
    """As a server runs a request: in a task of its own, outside the test's app context
    (so the request's own context is pushed and torn down, closing its session)."""
    return asyncio.get_running_loop().create_task(request, context=contextvars.Context())


async def test_disconnect_is_held_until_the_handler_is_done():
    events: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        await receive()  # the body
        waiting = asyncio.ensure_future(receive())
        await asyncio.sleep(0.01)
        events.append(f"handler done, disconnect seen: {waiting.done()}")
        await asyncio.sleep(0)
        waiting.cancel()

    await FinishAfterDisconnect(inner)(http_scope("/"), client_that_leaves(), lambda m: None)
    assert events == ["handler done, disconnect seen: False"]


async def test_disconnect_while_the_body_is_sent_is_reported_at_once():
    async def inner(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["more_body"] is True
        assert (await asyncio.wait_for(receive(), timeout=1))["type"] == "http.disconnect"

    await FinishAfterDisconnect(inner)(http_scope("/"), client_that_leaves(False), lambda m: None)


async def test_other_scopes_pass_through():
    seen = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    await FinishAfterDisconnect(inner)({"type": "lifespan"}, None, None)
    assert seen == ["lifespan"]
