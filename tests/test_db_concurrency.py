"""Concurrent writes: every write is stored, none fails with
"database is locked" — through the app, through two engines, through two processes and
through a real multi-worker Hypercorn. On SQLite this is what WAL + busy_timeout +
BEGIN IMMEDIATE + one pooled connection per process must deliver; PostgreSQL runs the same.

Each write reads, yields to the other tasks, then inserts: the read-then-write pattern that
fails at once (SQLITE_BUSY, no busy wait) when SQLite transactions start deferred.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from quart import Quart, request
from sqlalchemy import func, select

from flasky import create_app
from flasky.db import get_database, get_session
from flasky.models import Post
from tests.factories import make_user

WRITES = 50

# Shared by the in-process route and the subprocess scripts below.
WRITE_ROUTE = """
async def concurrent_write():
    data = await request.form  # a form post, as the site's own pages send
    session = get_session()
    before = await session.scalar(select(func.count(Post.id)))
    await asyncio.sleep(0)  # let the other requests in between the read and the write
    session.add(Post(body=data["body"], author_id=int(data["author_id"])))
    await session.commit()
    return {"before": before, "pid": os.getpid()}, 201
"""


def add_write_route(app: Quart) -> None:
    namespace = {
        "asyncio": asyncio,
        "os": os,
        "request": request,
        "get_session": get_session,
        "select": select,
        "func": func,
        "Post": Post,
    }
    exec(WRITE_ROUTE, namespace)  # noqa: S102  (the same source the Hypercorn app serves)
    app.add_url_rule(
        "/_test/concurrent-write", view_func=namespace["concurrent_write"], methods=["POST"]
    )


async def stored_bodies(app: Quart) -> list[str]:
    async with get_database(app).session() as session:
        return list(await session.scalars(select(Post.body).order_by(Post.body)))


def expected(prefix: str, n: int = WRITES) -> list[str]:
    return sorted(f"{prefix}-{i}" for i in range(n))


async def test_concurrent_requests_all_stored(app, client, session, caplog):
    add_write_route(app)
    author = await make_user(session)
    await session.close()  # keep the arranging session off SQLite's single connection

    responses = await asyncio.gather(
        *(
            client.post(
                "/_test/concurrent-write", form={"body": f"w-{i}", "author_id": str(author.id)}
            )
            for i in range(WRITES)
        )
    )
    assert [r.status_code for r in responses] == [201] * WRITES
    assert await stored_bodies(app) == expected("w")
    if get_database(app).is_sqlite:
        # BEGIN IMMEDIATE serialises whole transactions: each one saw all the earlier writes.
        befores = sorted([(await r.get_json())["before"] for r in responses])
        assert befores == list(range(WRITES))
    assert "database is locked" not in caplog.text


async def test_two_engines_on_one_database(app, session):
    author = await make_user(session)
    await session.close()
    url = app.config["SQLALCHEMY_DATABASE_URL"]
    others = []
    for _ in range(2):
        other = create_app("testing")
        other.config["SQLALCHEMY_DATABASE_URL"] = url
        others.append(get_database(other))

    async def write(database, tag: str, i: int) -> None:
        async with database.session() as s:
            await s.scalar(select(func.count(Post.id)))
            await asyncio.sleep(0)
            s.add(Post(body=f"{tag}-{i}", author_id=author.id))
            await s.commit()

    try:
        await asyncio.gather(
            *(
                write(db, tag, i)
                for i in range(WRITES)
                for db, tag in zip(others, "ab", strict=True)
            )
        )
    finally:
        for database in others:
            await database.stop()
    assert await stored_bodies(app) == sorted(expected("a") + expected("b"))


WRITER_SCRIPT = """
import asyncio, sys
from sqlalchemy import func, select
from flasky import create_app
from flasky.db import get_database
from flasky.models import Post

url, tag, author_id, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

async def main():
    app = create_app("testing")
    app.config["SQLALCHEMY_DATABASE_URL"] = url
    database = get_database(app)

    async def write(i):
        async with database.session() as session:
            await session.scalar(select(func.count(Post.id)))
            await asyncio.sleep(0.001)
            session.add(Post(body=f"{tag}-{i}", author_id=author_id))
            await session.commit()

    async with database.running():
        await asyncio.gather(*(write(i) for i in range(count)))

asyncio.run(main())
"""


async def test_two_processes_writing_at_once(app, session, tmp_path):
    author = await make_user(session)
    await session.close()
    script = tmp_path / "writer.py"
    script.write_text(WRITER_SCRIPT)
    url = app.config["SQLALCHEMY_DATABASE_URL"]
    writers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            url,
            tag,
            str(author.id),
            str(WRITES),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        for tag in ("p", "q")
    ]
    outputs = [await asyncio.wait_for(w.communicate(), timeout=120) for w in writers]
    for writer, (output, _) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, output.decode()
    assert await stored_bodies(app) == sorted(expected("p") + expected("q"))


SERVED_APP = """
import asyncio, os
from quart import request
from sqlalchemy import func, select
from flasky import create_app
from flasky.db import get_session
from flasky.models import Post

app = create_app("testing")
app.config["SQLALCHEMY_DATABASE_URL"] = os.environ["CONCURRENCY_DATABASE_URL"]
{route}
app.add_url_rule("/_test/concurrent-write", view_func=concurrent_write, methods=["POST"])
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(port: int, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/_test/concurrent-write",
        data=urllib.parse.urlencode(body).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {"error": error.read().decode(errors="replace")[:200]}


def _wait_until_serving(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, "hypercorn exited"
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail("hypercorn did not start")


def _serve_and_post(
    tmp_path, env: dict, port: int, workers: int, author_id: int
) -> tuple[list, str]:
    """Start Hypercorn, fire WRITES concurrent POSTs (one thread each), stop it."""
    command = [sys.executable, "-m", "hypercorn", "--workers", str(workers)]
    command += ["--bind", f"127.0.0.1:{port}", "served_app:app"]
    server = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        _wait_until_serving(port, server)
        with ThreadPoolExecutor(max_workers=WRITES) as pool:
            bodies = [{"body": f"h-{i}", "author_id": author_id} for i in range(WRITES)]
            results = list(pool.map(lambda body: _post(port, body), bodies))
    finally:
        server.terminate()
        try:
            log, _ = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            log, _ = server.communicate()
    return results, log


@pytest.mark.parametrize("workers", [2])
async def test_hypercorn_workers_store_every_write(app, session, tmp_path, workers):
    author = await make_user(session)
    await session.close()
    (tmp_path / "served_app.py").write_text(SERVED_APP.format(route=textwrap.dedent(WRITE_ROUTE)))
    port = _free_port()
    env = dict(
        os.environ,
        CONCURRENCY_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URL"],
        PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
    )
    results, log = await asyncio.to_thread(_serve_and_post, tmp_path, env, port, workers, author.id)
    assert [status for status, _ in results] == [201] * WRITES, results
    assert await stored_bodies(app) == expected("h")
    assert "database is locked" not in log
    if get_database(app).is_sqlite:
        assert sorted(body["before"] for _, body in results) == list(range(WRITES))


def test_sqlite_engine_settings(tmp_path):
    """The settings the tests above rely on, read back from a real connection."""

    async def settings() -> tuple:
        app = create_app("testing")
        app.config["SQLALCHEMY_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'p.sqlite'}"
        database = get_database(app)
        async with database.running(), database.session() as session:
            connection = await session.connection()
            values = [
                (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "busy_timeout", "foreign_keys")
            ]
            return (*values, database.engine.pool.size(), app.config["SQLITE_BUSY_TIMEOUT_MS"])

    journal, busy, foreign_keys, pool_size, configured_busy = asyncio.run(settings())
    assert (journal, busy, foreign_keys, pool_size) == ("wal", configured_busy, 1, 1)
