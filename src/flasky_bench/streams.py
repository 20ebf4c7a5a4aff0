"""The streams scenario: how many Server-Sent Events streams one pinned worker holds, what
each costs in memory and in page throughput, how fast one event fans out to all of them,
and how fast a message crosses from one worker to a stream on another.

Subscribers are real ones: each is its own user, authenticated with an API token (a row of
the sessions table, inserted in bulk with the rest), streaming `/api/v1/events?post=P`
as a reader of post P does. The event that fans out is the one a post's readers all
receive: a comment on P, posted through the API by another user; its body carries a
nonce the subscribers look for. The clock starts when the server's commit returned
(`X-Bench-Committed`, a bench-only header) and stops when a subscriber's socket read it.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import secrets
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flasky_bench.instrument import COMMITTED_HEADER, WORKER_HEADER
from flasky_bench.loadgen import percentile, run_load
from flasky_bench.scenarios import rss_mb
from flasky_bench.servers import (
    RunningServer,
    ServerSpec,
    app_env,
    gunicorn_command,
    hypercorn_command,
    wait_until_idle,
)
from flasky_bench.stream_users import stream_tokens
from flasky_bench.subscribers import raise_open_files, serve

STREAM_USER_PREFIX = "streamer"
TOKEN_LIFETIME = 86400


def post_json(base_url: str, path: str, token: str, body: dict) -> tuple[int, Any]:
    """(status, headers: case-insensitive, as the server may send names in lower case)."""
    request = urllib.request.Request(
        base_url + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        return response.status, response.headers


class Crowd:
    """The subscriber process, pinned to the load generator's CPUs."""

    def __init__(self, base_url: str, cpus: set[int] | None) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        host, port = base_url.rsplit("/", 1)[1].rsplit(":", 1)
        self.process = context.Process(target=serve, args=(host, int(port), child, cpus))
        self.process.start()

    def ask(self, *message: Any, timeout: float = 600) -> Any:
        self.conn.send(message)
        if not self.conn.poll(timeout):
            raise RuntimeError(f"the subscriber process did not answer {message[0]!r}")
        return self.conn.recv()

    def stop(self) -> None:
        try:
            self.ask("stop", timeout=30)
        finally:
            self.process.join(10)
            if self.process.is_alive():
                self.process.kill()


def latency_figures(committed: float, firsts: list[float | None], hits: list[int]) -> dict:
    delays = sorted((first - committed) * 1000 for first in firsts if first is not None)
    return {
        "expected": len(firsts),
        "received": len(delays),
        "exactly_once": sum(1 for n in hits if n == 1),
        "delays_ms": delays,
    }


def fan_out(crowd: Crowd, server: RunningServer, sender: str, post_id: int, rounds: int) -> dict:
    """`rounds` comments on the post, each waited for at every streaming subscriber."""
    delays: list[float] = []
    expected = received = once = 0
    for number in range(rounds):
        nonce = f"fanout-{secrets.token_hex(6)}"
        crowd.ask("arm", nonce.encode(), None)
        _, headers = post_json(
            server.base_url,
            f"/api/v1/posts/{post_id}/comments/",
            sender,
            {"body": f"Round {number} of the streams benchmark: {nonce}"},
        )
        figures = latency_figures(
            float(headers[COMMITTED_HEADER]), *_collected(crowd.ask("collect", 60.0, 0.3))
        )
        expected += figures["expected"]
        received += figures["received"]
        once += figures["exactly_once"]
        delays += figures["delays_ms"]
        time.sleep(0.2)
    delays.sort()
    return {
        "rounds": rounds,
        "expected": expected,
        "received": received,
        "exactly_once": once,
        "p50_ms": percentile(delays, 50),
        "p99_ms": percentile(delays, 99),
        "max_ms": delays[-1] if delays else 0.0,
        "delays_ms": spread(delays),
    }


def spread(ordered: list[float], points: int = 1000) -> list[float]:
    """Every delay (sorted), or `points` evenly spaced quantiles of them: enough for the
    plot, and the results file stays small at 10,000 streams."""
    if len(ordered) > points:
        ordered = [ordered[round(i * (len(ordered) - 1) / (points - 1))] for i in range(points)]
    return [round(d, 3) for d in ordered]


def _collected(answer: dict) -> tuple[list[float | None], list[int]]:
    return answer["firsts"], answer["hits"]


def _page_load(server: RunningServer, plan: dict) -> Any:
    return run_load(
        server.base_url + "/",
        connections=10,
        duration=plan["duration"],
        cpus=plan["generator_cpus"],
        generator=plan["generator"],
        headers={"Accept": "text/html"},
    )


def capacity(
    server: RunningServer,
    plan: dict,
    tokens: list[tuple[int, str]],
    post_id: int,
    sender: str | None,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Streams opened in steps (plan["steps"]); at each step a fan-out (when `sender`);
    at the last, memory and page throughput while they are held."""
    wait_until_idle([server])
    idle = _page_load(server, plan)
    wait_until_idle([server])
    rss_before = rss_mb(server.pids())
    crowd = Crowd(server.base_url, plan["generator_cpus"])
    result: dict[str, Any] = {
        "server": server.name,
        "idle_rps": idle.rps,
        "idle_p99_ms": idle.p99_ms,
        "fan_out": {},
    }
    try:
        opened = 0
        streaming = 0
        for step in plan["steps"]:
            batch = tokens[opened:step]
            paths = [(f"/api/v1/events?post={post_id}", token) for _, token in batch]
            answer = crowd.ask("open", paths, plan["open_timeout"](len(batch)))
            opened = step
            streaming = len(_streaming(crowd))
            log(
                f"streams {server.name}: {streaming} of {step} streaming "
                f"({answer['waiting']} waiting, {answer['refused']} refused, "
                f"{answer['errors']} failed to connect)"
            )
            if sender is not None and streaming:
                figures = fan_out(crowd, server, sender, post_id, plan["rounds"])
                result["fan_out"][str(step)] = figures
                log(
                    f"fan-out to {streaming}: p50 {figures['p50_ms']:.1f} ms, p99 "
                    f"{figures['p99_ms']:.1f} ms, {figures['received']} of "
                    f"{figures['expected']} received, {figures['exactly_once']} exactly once"
                )
        wait_until_idle([server], timeout=30)
        rss_after = rss_mb(server.pids())
        # The subscribers leave as the run ends: a page request still waiting for a thread
        # held by a stream is then served, instead of lasting to the client's timeout.
        closing: list[int] = []
        leave = threading.Timer(plan["duration"] + 0.2, lambda: closing.append(crowd.ask("close")))
        leave.start()
        held = _page_load(server, plan)
        leave.join()
        still = closing[0]
    finally:
        crowd.stop()
    result.update(
        attempted=opened,
        streaming=streaming,
        still_open=still,
        rss_before_mb=round(rss_before, 1),
        rss_after_mb=round(rss_after, 1),
        kb_per_stream=(rss_after - rss_before) * 1024 / streaming if streaming else None,
        held_rps=held.rps,
        held_p99_ms=held.p99_ms,
        held_errors=held.errors + held.non2xx,
    )
    log(
        f"streams {server.name}: {streaming} held, {result['kb_per_stream'] or 0:.1f} KB each; "
        f"page {idle.rps:.0f} -> {held.rps:.0f} req/s while held"
    )
    return result


def _streaming(crowd: Crowd) -> list[float | None]:
    crowd.ask("arm", b"\0", None)
    return crowd.ask("collect", 0.0, 0.0)["firsts"]


def cross_worker(
    server: RunningServer,
    plan: dict,
    tokens: list[tuple[int, str]],
    sender: str,
    sends: int,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """One stream per recipient over two workers; messages sent one at a time, each on a
    new connection (so either worker may take it), timed from commit to receipt."""
    crowd = Crowd(server.base_url, plan["generator_cpus"])
    try:
        paths = [("/api/v1/events", token) for _, token in tokens]
        answer = crowd.ask("open", paths, plan["open_timeout"](len(paths)))
        stream_workers = answer["workers"]
        same: list[float] = []
        cross: list[float] = []
        lost = duplicates = strays = 0
        for number in range(sends):
            index = number % len(tokens)
            recipient = tokens[index][0]
            nonce = f"message-{secrets.token_hex(6)}"
            crowd.ask("arm", nonce.encode(), [index])
            _, headers = post_json(
                server.base_url, f"/api/v1/users/{recipient}/messages/", sender, {"body": nonce}
            )
            committed = float(headers[COMMITTED_HEADER])
            answer = crowd.ask("collect", 5.0, 0.05)
            strays += answer["elsewhere"]
            first, hits = answer["firsts"][0], answer["hits"][0]
            if first is None:
                lost += 1
                continue
            duplicates += hits > 1
            delay = (first - committed) * 1000
            (same if headers[WORKER_HEADER] == stream_workers[index] else cross).append(delay)
            time.sleep(0.02)
        crowd.ask("close")
    finally:
        crowd.stop()
    same.sort()
    cross.sort()
    result = {
        "streams": len(tokens),
        "stream_workers": len(set(stream_workers)),
        "sends": sends,
        "lost": lost,
        "duplicates": duplicates,
        "strays": strays,
        "same_worker": len(same),
        "cross_worker": len(cross),
        "same_p50_ms": percentile(same, 50),
        "same_p99_ms": percentile(same, 99),
        "cross_p50_ms": percentile(cross, 50),
        "cross_p99_ms": percentile(cross, 99),
        "cross_delays_ms": spread(cross),
    }
    log(
        f"cross-worker: {len(cross)} of {sends} sends crossed, p50 {result['cross_p50_ms']:.1f} "
        f"ms, p99 {result['cross_p99_ms']:.1f} ms ({lost} lost, {duplicates} twice)"
    )
    return result


def run_streams(options: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    """The whole scenario; the options are those of `flasky bench streams`."""
    from flasky.config import ROOT
    from flasky_bench.servers import cpu_list, generator_cpus

    raise_open_files()
    steps = sorted({int(n) for n in str(options["subscribers"]).split(",") if n.strip()})
    cpus = cpu_list(options["cpu"])
    rate = options["open_rate"]
    plan = {
        "duration": options["duration"],
        "generator": options["generator"],
        "generator_cpus": generator_cpus(cpus),
        "rounds": options["rounds"],
        "steps": steps,
        "open_timeout": lambda n: 10.0 + n / rate,
    }
    log_dir = ROOT / "bench-results" / "logs"
    database_url = options["database_url"]
    tokens, sender, post_id = asyncio.run(stream_tokens(database_url, steps[-1]))
    results: dict[str, Any] = {
        "steps": steps,
        "database": describe_database(database_url),
        "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "server_cpus": options["cpu"] or "not pinned",
    }
    # Each subscriber is its own user, so the per-user cap never binds; it is raised all
    # the same, so that a cap could not be what limits the count.
    env = {"FLASKY_MAX_STREAMS_PER_USER": str(steps[-1])}
    app = ServerSpec(
        "flasky",
        hypercorn_command("flasky_bench.asgi:app", workers=1, worker_class=options["worker_class"]),
        env=app_env(database_url, env),
    )
    servers = [(app, tokens, sender, plan)]
    if options["threaded"]:
        threads = options["threads"]
        twin = ServerSpec(
            "threaded",
            gunicorn_command("flasky_bench.threaded:create_app()", workers=1, threads=threads),
            env=app_env(database_url, {"FLASKY_BENCH_THREADS": str(threads)}),
        )
        # gthread answers `threads` streams; the rest wait until the timeout.
        twin_steps = [min(steps[-1], options["threaded_subscribers"])]
        twin_plan = dict(plan, steps=twin_steps, open_timeout=lambda n: options["threaded_wait"])
        servers.append((twin, tokens, None, twin_plan))
    results["capacity"] = []
    for spec, server_tokens, server_sender, server_plan in servers:
        server = RunningServer(spec, cpus, log_dir)
        try:
            server.start()
            results["capacity"].append(
                capacity(server, server_plan, server_tokens, post_id, server_sender, log)
            )
        finally:
            server.stop()
    results["threads"] = options["threads"]
    postgresql_url = options["postgresql_url"]
    if postgresql_url:
        from flasky_bench.seed import ensure_database

        asyncio.run(ensure_database(postgresql_url))
        count = options["cross_streams"]
        pg_tokens, pg_sender, _ = asyncio.run(stream_tokens(postgresql_url, count))
        spec = ServerSpec(
            "flasky x2",
            hypercorn_command(
                "flasky_bench.asgi:app", workers=2, worker_class=options["worker_class"]
            ),
            env=app_env(postgresql_url),
        )
        server = RunningServer(spec, cpus, log_dir)
        try:
            server.start()
            wait_until_idle([server])
            results["cross"] = cross_worker(
                server, plan, pg_tokens, pg_sender, options["sends"], log
            )
            results["cross"]["database"] = describe_database(postgresql_url)
        finally:
            server.stop()
    return results


def describe_database(url: str) -> str:
    """The database without its credentials, or a SQLite file by its name only."""
    if url.startswith("sqlite"):
        return f"SQLite ({Path(url.split(':///', 1)[-1]).name})"
    return "PostgreSQL " + url.split("@")[-1]


def write(results: dict[str, Any], output: Path) -> None:
    """results-streams.json and the streams plot beside it; docs/benchmarks.md's section
    when `output` is the docs directory."""
    from flasky_bench import streams_report

    output.mkdir(parents=True, exist_ok=True)
    bench_dir = output / "bench" if (output / "benchmarks.md").exists() else output
    bench_dir.mkdir(parents=True, exist_ok=True)
    (bench_dir / "results-streams.json").write_text(json.dumps(results, indent=1))
    plot = streams_report.plot(results, bench_dir)
    relative = plot.relative_to(output).as_posix() if plot else None
    text = streams_report.markdown(results, relative)
    document = output / "benchmarks.md"
    if document.exists():
        from flasky_bench.report import write_into

        write_into(document, text, "", "streams")
    else:
        (output / "streams.md").write_text(text + "\n")
