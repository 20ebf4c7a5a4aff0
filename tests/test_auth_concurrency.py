"""Password hashing never blocks the event loop.

Several logins are checked at once with the real, slow scrypt. At the moment the first
hash starts, a `GET /` is fired. With hashing in worker threads (the app's way) the page
is answered while that hash is still running, before any login finishes; with hashing
forced onto the event loop (its thread pool patched to run inline) the same GET cannot
even start until the hash is done. Only orderings are compared, no absolute times.

On SQLite the first test also proves the login view gives back the database connection
(the process has only one) before hashing: holding it, GET / would wait for the pool.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from dataclasses import dataclass, field

import pytest

from flasky import security
from tests.factories import make_user
from tests.test_auth import log_in

LOGINS = 4


@pytest.fixture
def app_config() -> dict:
    return {"PASSWORD_HASH_METHOD": "scrypt"}


@dataclass
class Timeline:
    hashes: list[tuple[float, float]] = field(default_factory=list)
    get_done: float | None = None
    logins_done: list[float] = field(default_factory=list)
    get_task: asyncio.Task | None = None
    get_scheduled: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


async def run_logins_and_a_page_view(client, monkeypatch) -> Timeline:
    timeline = Timeline()
    loop = asyncio.get_running_loop()
    real_check = security.check_password

    async def view_home_page() -> None:
        response = await client.get("/")
        assert response.status_code == 200
        timeline.get_done = time.perf_counter()

    def start_home_page_view() -> None:
        timeline.get_task = loop.create_task(view_home_page())

    def timed_check(password_hash: str, password: str) -> bool:
        # Runs in a worker thread, or on the loop itself when hashing is forced inline.
        started = time.perf_counter()
        with timeline.lock:
            first, timeline.get_scheduled = not timeline.get_scheduled, True
        if first:
            loop.call_soon_threadsafe(start_home_page_view)
        result = real_check(password_hash, password)
        with timeline.lock:
            timeline.hashes.append((started, time.perf_counter()))
        return result

    # Warm up: the first render of a page compiles its templates, which is not what we time.
    assert (await client.get("/")).status_code == 200
    monkeypatch.setattr(security, "check_password", timed_check)

    async def one_login() -> None:
        response = await log_in(client, "ann@example.com")
        assert response.status_code == 302
        timeline.logins_done.append(time.perf_counter())

    await asyncio.gather(*(one_login() for _ in range(LOGINS)))
    assert timeline.get_task is not None
    await timeline.get_task
    assert len(timeline.hashes) == LOGINS
    return timeline


def first_hash(timeline: Timeline) -> tuple[float, float]:
    return min(timeline.hashes)


async def test_page_is_answered_while_passwords_are_hashed_in_threads(client, session, monkeypatch):
    await make_user(session, username="ann", email="ann@example.com")
    timeline = await run_logins_and_a_page_view(client, monkeypatch)

    _first_start, first_end = first_hash(timeline)
    assert timeline.get_done < first_end, "GET / waited for a password hash"
    assert timeline.get_done < min(timeline.logins_done)


async def test_hashing_on_the_event_loop_would_make_the_page_wait(client, session, monkeypatch):
    """The control experiment: the same scenario with the hash run inline."""
    await make_user(session, username="ann", email="ann@example.com")

    async def run_inline(func, /, *args, **kwargs):
        return func(*args, **kwargs)

    class InlineExecutor(concurrent.futures.Executor):
        def submit(self, fn, /, *args, **kwargs):
            future = concurrent.futures.Future()
            future.set_result(fn(*args, **kwargs))
            return future

    monkeypatch.setattr(asyncio, "to_thread", run_inline)
    # Password hashing runs on security.hashing_pool(), not asyncio.to_thread's pool.
    monkeypatch.setattr(security, "hashing_pool", InlineExecutor)
    timeline = await run_logins_and_a_page_view(client, monkeypatch)

    _first_start, first_end = first_hash(timeline)
    # Scheduled when the first hash began, the page could only be served after it ended.
    assert timeline.get_done > first_end


async def test_scrypt_is_in_use(app, session):
    user = await make_user(session, username="ann", email="ann@example.com")
    assert user.password_hash.startswith("scrypt:")
