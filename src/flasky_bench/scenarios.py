"""The scenarios where async should matter, each for the app and for the
threaded comparison server, served and pinned as in the main matrix:

(a) idle: 1,000 keep-alive connections opened and left idle while 10 clients load `/`;
(b) slow I/O: every SQL statement waits FLASKY_BENCH_DB_LATENCY_MS (flasky_bench.instrument)
    while 100 clients load `/`, against the thread pool's bound threads / (statements x delay);
(c) password load: 16 clients hit the API with email:password (a scrypt check each) while
    4 clients load `/`, against `/` alone.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click

from flasky_bench.loadgen import LoadResult, run_load
from flasky_bench.runner import basic_header
from flasky_bench.seed import BENCH_PASSWORD, Landmarks
from flasky_bench.servers import (
    RunningServer,
    ServerSpec,
    app_env,
    cpu_list,
    generator_cpus,
    gunicorn_command,
    hypercorn_command,
    wait_until_idle,
)

IDLE_CONNECTIONS = 1000
DB_LATENCY_MS = 20


@dataclass
class ScenarioResult:
    scenario: str
    server: str
    phase: str  # "baseline" or "under load"
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    non2xx: int
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScenarioResult:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})


def _result(
    scenario: str, server: str, phase: str, load: LoadResult, note: str = "", **extra: Any
) -> ScenarioResult:
    return ScenarioResult(
        scenario,
        server,
        phase,
        load.rps,
        load.p50_ms,
        load.p99_ms,
        load.errors,
        load.non2xx,
        note,
        extra,
    )


def load_html(url: str, plan: dict[str, Any], *, connections: int) -> LoadResult:
    """Load a page as a browser asks for it, for the plan's duration on its generator CPUs."""
    return run_load(
        url,
        connections=connections,
        duration=plan["duration"],
        cpus=plan["generator_cpus"],
        generator=plan["generator"],
        headers={"Accept": "text/html"},
    )


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


# -- idle connections --------------------------------------------------------------------------


def _hold_idle(host: str, port: int, count: int, seconds: float, conn: Any) -> None:
    """Open `count` connections, make one small request on each, then keep them idle."""

    async def main() -> tuple[int, int]:
        writers = []
        opened = 0
        for _ in range(count):
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
                writer.write(b"GET /robots.txt HTTP/1.1\r\nHost: bench\r\n\r\n")
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                writers.append((reader, writer))
                opened += 1
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                pass
        conn.send(("open", opened))
        await asyncio.sleep(seconds)
        # Still open? A closed connection reads EOF at once.
        alive = 0
        for reader, writer in writers:
            try:
                data = await asyncio.wait_for(reader.read(1), 0.001)
                alive += 0 if data == b"" else 1
            except TimeoutError:
                alive += 1
            writer.close()
        return opened, alive

    opened, alive = asyncio.run(main())
    conn.send(("done", opened, alive))


def idle_connections(
    server: RunningServer, plan: dict[str, Any], log: Callable[[str], None]
) -> list[ScenarioResult]:
    url = server.base_url + "/"
    cpus = plan["generator_cpus"]
    duration = plan["duration"]
    baseline = load_html(url, plan, connections=10)
    rss_before = rss_mb(server.pids())
    wait_until_idle([server])
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe(duplex=False)
    host, port = "127.0.0.1", int(server.base_url.rsplit(":", 1)[1])
    holder = context.Process(
        target=_hold_idle, args=(host, port, IDLE_CONNECTIONS, duration + 5, child), daemon=True
    )
    holder.start()
    if cpus:
        os.sched_setaffinity(holder.pid, cpus)
    opened = parent.recv()[1] if parent.poll(120) else 0
    under = load_html(url, plan, connections=10)
    rss_after = rss_mb(server.pids())
    done = parent.recv() if parent.poll(duration + 60) else ("done", opened, 0)
    holder.join(5)
    note = f"{done[1]} idle connections opened, {done[2]} still open at the end"
    log(
        f"idle {server.name}: {baseline.rps:.0f} -> {under.rps:.0f} req/s, "
        f"p99 {baseline.p99_ms:.0f} -> {under.p99_ms:.0f} ms; {note}"
    )
    return [
        _result("idle", server.name, "baseline", baseline, rss_mb=round(rss_before, 1)),
        _result(
            "idle",
            server.name,
            f"+{IDLE_CONNECTIONS} idle",
            under,
            note,
            rss_mb=round(rss_after, 1),
            idle_opened=done[1],
            idle_alive=done[2],
        ),
    ]


# -- slow I/O ------------------------------------------------------------------------------------


def slow_io(
    server: RunningServer,
    plan: dict[str, Any],
    log: Callable[[str], None],
    statements: int | None,
    bound_note: str,
) -> list[ScenarioResult]:
    url = server.base_url + "/"
    load = load_html(url, plan, connections=100)
    log(f"slow-io {server.name}: {load.rps:.0f} req/s, p99 {load.p99_ms:.0f} ms ({bound_note})")
    return [
        _result(
            "slow-io",
            server.name,
            f"{DB_LATENCY_MS} ms per statement, 100 connections",
            load,
            bound_note,
            statements=statements,
        )
    ]


# -- password load -----------------------------------------------------------------------------


def password_load(
    server: RunningServer, plan: dict[str, Any], landmarks: Landmarks, log: Callable[[str], None]
) -> list[ScenarioResult]:
    page = server.base_url + "/"
    cpus, duration = plan["generator_cpus"], plan["duration"]
    baseline = load_html(page, plan, connections=4)
    wait_until_idle([server])
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe(duplex=False)

    def background(conn: Any) -> None:
        result = run_load(
            server.base_url + "/api/v1/posts/",
            connections=16,
            duration=duration + 2,
            cpus=cpus,
            generator=plan["generator"],
            headers={
                "Authorization": basic_header(landmarks.bench_email, BENCH_PASSWORD),
                "Accept": "application/json",
            },
        )
        conn.send(result)

    worker = context.Process(target=background, args=(child,), daemon=True)
    worker.start()
    time.sleep(1.0)
    under = load_html(page, plan, connections=4)
    api: LoadResult | None = parent.recv() if parent.poll(duration + 90) else None
    worker.join(5)
    note = (
        f"password API meanwhile: {api.rps:.1f} req/s, p99 {api.p99_ms:.0f} ms, "
        f"{api.errors + api.non2xx} errors"
        if api
        else "password load did not report"
    )
    log(
        f"password {server.name}: page {baseline.rps:.0f} -> {under.rps:.0f} req/s, p99 "
        f"{baseline.p99_ms:.0f} -> {under.p99_ms:.0f} ms; {note}"
    )
    return [
        _result("password", server.name, "baseline", baseline),
        _result(
            "password",
            server.name,
            "+16 password clients",
            under,
            note,
            api_rps=api.rps if api else None,
        ),
    ]


# -- orchestration -------------------------------------------------------------------------------


def _servers(
    options: dict[str, Any],
    database_url: str,
    *,
    keep_alive: int = 5,
    extra_env: dict[str, str] | None = None,
    app_pool: int | None = None,
) -> list[RunningServer]:
    from flasky.config import ROOT

    cpus = cpu_list(options["cpu"])
    env = dict(extra_env or {})
    app_extra = dict(env)
    if app_pool:
        app_extra.update(DB_POOL_SIZE=str(app_pool), DB_MAX_OVERFLOW="0")
    threads = options["threads"]
    log_dir = ROOT / "bench-results" / "logs"
    specs = [
        ServerSpec(
            "flasky",
            hypercorn_command(
                "flasky_bench.asgi:app",
                workers=options["workers"],
                worker_class=options["worker_class"],
                keep_alive=keep_alive,
            ),
            env=app_env(database_url, app_extra),
            role="app",
        ),
    ]
    import importlib.util

    if importlib.util.find_spec("gunicorn"):
        specs.append(
            ServerSpec(
                "threaded",
                gunicorn_command(
                    "flasky_bench.threaded:create_app()",
                    workers=options["workers"],
                    threads=threads,
                    keep_alive=keep_alive,
                ),
                env=app_env(database_url, dict(env, FLASKY_BENCH_THREADS=str(threads))),
                role="compare",
            )
        )
    return [RunningServer(spec, cpus, log_dir) for spec in specs]


def _run_with(
    servers: list[RunningServer], work: Callable[[RunningServer], list[ScenarioResult]]
) -> list[ScenarioResult]:
    results: list[ScenarioResult] = []
    try:
        for server in servers:
            server.start()
        for server in servers:
            wait_until_idle(servers)
            results += work(server)
    finally:
        for server in servers:
            server.stop()
    return results


def _statements(server: RunningServer) -> int | None:
    from flasky_bench.runner import probe

    return probe(server.base_url + "/", {"Accept": "text/html"}).statements


def run_all(
    options: dict[str, Any], landmarks: Landmarks, log: Callable[[str], None] = click.echo
) -> list[ScenarioResult]:
    plan = {
        "duration": options["duration"],
        "generator": options["generator"],
        "generator_cpus": generator_cpus(cpu_list(options["cpu"])),
    }
    database_url = options["database_url"]
    results: list[ScenarioResult] = []

    log("scenario (a): idle keep-alive connections")
    results += _run_with(
        _servers(options, database_url, keep_alive=300), lambda s: idle_connections(s, plan, log)
    )

    log("scenario (c): password checks beside page views")
    results += _run_with(
        _servers(options, database_url), lambda s: password_load(s, plan, landmarks, log)
    )

    slow_url = options.get("slow_io_database_url") or database_url
    log(f"scenario (b): {DB_LATENCY_MS} ms per SQL statement on {slow_url.split('@')[-1]}")
    if slow_url != database_url:
        from flasky_bench.seed import ensure_database, find_landmarks, seed_database

        asyncio.run(ensure_database(slow_url))  # a PostgreSQL database named but not created
        try:
            asyncio.run(find_landmarks(slow_url))
        except Exception:  # noqa: BLE001 - not seeded yet
            asyncio.run(seed_database(slow_url))
    threads = options["threads"]
    pool = options.get("slow_io_pool", 40)
    latency = {"FLASKY_BENCH_DB_LATENCY_MS": str(DB_LATENCY_MS)}

    def slow(server: RunningServer) -> list[ScenarioResult]:
        statements = _statements(server)
        n = statements or 1
        if server.name == "threaded":
            what, width = "thread-pool bound", threads
        elif slow_url.startswith("sqlite"):
            what, width = "SQLite, one connection per process: bound", 1
        else:
            what, width = "connection-pool bound", pool
        rate = width * 1000 / (n * DB_LATENCY_MS)
        bound = f"{what} {width} / ({n} x {DB_LATENCY_MS} ms) = {rate:.0f} req/s"
        return slow_io(server, plan, log, statements, bound)

    results += _run_with(_servers(options, slow_url, extra_env=latency, app_pool=pool), slow)
    return results


def markdown(results: list[ScenarioResult]) -> str:
    if not results:
        return ""
    titles = {
        "idle": f"(a) {IDLE_CONNECTIONS} idle keep-alive connections held while 10 clients "
        "load `/`",
        "password": "(c) 16 clients checking passwords on the API while 4 clients load `/`",
        "slow-io": f"(b) slow I/O: {DB_LATENCY_MS} ms before every SQL statement, "
        "100 clients load `/`",
    }
    parts = ["### Scenarios where async should matter"]
    for scenario in ("idle", "password", "slow-io"):
        rows = [r for r in results if r.scenario == scenario]
        if not rows:
            continue
        parts += [
            "",
            f"#### {titles[scenario]}",
            "",
            "| server | phase | req/s | p50 ms | p99 ms | errors | non-2xx | notes |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            notes = r.note
            if r.extra.get("rss_mb") is not None:
                notes = (notes + "; " if notes else "") + f"server RSS {r.extra['rss_mb']} MB"
            parts.append(
                f"| {r.server} | {r.phase} | {r.rps:,.1f} | {r.p50_ms:,.1f} | {r.p99_ms:,.1f} | "
                f"{r.errors} | {r.non2xx} | {notes} |"
            )
    return "\n".join(parts)
