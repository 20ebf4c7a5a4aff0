"""`flasky serve`, the production command: it refuses to start, with a one-line reason and a
non-zero status, when the configuration, the database or its schema is not ready; it
serves with several workers and stops with status 0; a worker that cannot start makes the
whole server exit non-zero. docker/boot.sh ends in it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from flasky.config import ROOT
from flasky.migrations import alembic_config
from tests.live_server import Server, free_port

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

FLASKY = [sys.executable, "-m", "flasky.cli"]


def production_env(**settings: str) -> dict[str, str]:
    env = {
        **os.environ,
        "FLASKY_CONFIG": "production",
        "SECRET_KEY": "serve-test-" + "x" * 32,
        "FLASKY_BASE_URL": "http://127.0.0.1",
        "FLASKY_RATE_LIMITS": "off",
        "MAIL_BACKEND": "log",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("FLASKY_ADMIN", "MAIL_SERVER", "REDIS_URL"):
        env.pop(name, None)
    env.update(settings)
    return env


def serve_and_fail(env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [*FLASKY, "serve", "--bind", f"127.0.0.1:{free_port()}", "--workers", "2"]
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_serve_refuses_to_start_without_a_secret_key():
    result = serve_and_fail(production_env(SECRET_KEY=""))
    assert one_line_error(result).startswith("Error: SECRET_KEY is missing")


def test_serve_refuses_to_start_when_the_database_does_not_answer():
    unreachable = f"postgresql://postgres@127.0.0.1:{free_port()}/flasky"
    result = serve_and_fail(production_env(DATABASE_URL=unreachable, DB_CONNECT_TIMEOUT="2"))
    line = one_line_error(result)
    assert line.startswith("Error: Cannot reach the database postgresql+asyncpg://"), line


def test_serve_refuses_to_start_on_a_schema_behind_the_code(tmp_path):
    result = serve_and_fail(production_env(DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite'}"))
    line = one_line_error(result)
    assert "schema is at no revision" in line and "run `flasky deploy` first" in line, line


@pytest.fixture
def deployed_url(app) -> str:
    """The test database, its schema (made by the app fixture) stamped as the newest."""
    from alembic import command

    url = app.config["SQLALCHEMY_DATABASE_URL"]
    command.stamp(alembic_config(url), "head")
    return url


def serve_with_two_workers(database_url: str, tmp_path: Path) -> Server:
    """`flasky serve --workers 2` on a free port (started; wait_ready() before use)."""
    port = free_port()
    command = [*FLASKY, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    return Server(
        production_env(DATABASE_URL=database_url), tmp_path / "serve.log", 2, command, port
    )


async def test_serve_with_two_workers_serves_and_stops_with_status_0(deployed_url, tmp_path):
    server = serve_with_two_workers(deployed_url, tmp_path)
    try:
        await server.wait_ready()
        async with httpx.AsyncClient(base_url=server.url) as client:
            assert (await client.get("/")).status_code == 200
        server.process.send_signal(signal.SIGTERM)
        assert await server.wait_exit(within=40) == 0, server.log()
    finally:
        server.stop()
    assert "with 2 workers" in server.log()


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [
        int(pid)
        for pid in children
        if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()  # not its resource tracker
    ]


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie has exited; only its parent's wait is missing


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads Linux's /proc")
async def test_workers_stop_when_their_master_is_killed(deployed_url, tmp_path):
    server = serve_with_two_workers(deployed_url, tmp_path)
    try:
        await server.wait_ready()
        workers = worker_pids(server.process.pid)
        assert len(workers) == 2, workers
        server.process.kill()  # SIGKILL: the master can stop nobody
        server.process.wait()
        deadline = time.monotonic() + 20
        while any(map(running, workers)) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        assert not any(map(running, workers)), server.log()
        assert server.log().count("is gone, stopping") >= 1
    finally:
        server.stop()


BROKEN_WORKERS = textwrap.dedent(
    """
    import sys
    from hypercorn.config import Config
    from flasky.serving import run_workers

    config = Config()
    config.bind = [sys.argv[1]]
    config.workers = 2
    config.worker_class = "asyncio"
    config.application_path = "tests.no_such_module:app"
    sys.exit(run_workers(config))
    """
)


def test_a_worker_that_cannot_start_makes_the_server_exit_non_zero():
    result = subprocess.run(
        [sys.executable, "-c", BROKEN_WORKERS, f"127.0.0.1:{free_port()}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert "No module named 'tests.no_such_module'" in result.stderr


def test_boot_script_exits_non_zero_when_the_app_cannot_start(tmp_path):
    env = production_env(
        SECRET_KEY="",
        DATABASE_URL=f"sqlite:///{tmp_path / 'boot.sqlite'}",
        FLASKY_DEPLOY_ATTEMPTS="1",
        HYPERCORN_BIND=f"127.0.0.1:{free_port()}",
        PATH=f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    result = subprocess.run(
        ["sh", str(ROOT / "docker" / "boot.sh")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is missing" in result.stderr


async def test_boot_script_deploys_then_serves_and_stops_with_status_0(tmp_path):
    port = free_port()
    env = production_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'boot.sqlite'}",
        HYPERCORN_BIND=f"127.0.0.1:{port}",
        HYPERCORN_WORKERS="2",
        PATH=f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    command = ["sh", str(ROOT / "docker" / "boot.sh")]
    server = Server(env, tmp_path / "boot.log", 2, command, port)
    try:
        await server.wait_ready()
        server.process.send_signal(signal.SIGTERM)
        assert await server.wait_exit(within=40) == 0, server.log()
    finally:
        server.stop()
