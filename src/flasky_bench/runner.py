"""The measurement matrix: servers x targets x connection counts, run pair by pair.

All servers run at once, pinned to the same CPUs, and each (target, connections) cell is
measured on every server in turn, so a change in the machine's background load hits
every server alike instead of one whole column.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from flasky_bench.instrument import STATEMENTS_HEADER
from flasky_bench.loadgen import LoadResult, run_load
from flasky_bench.seed import BENCH_PASSWORD, Landmarks
from flasky_bench.servers import BENCH_SECRET_KEY, RunningServer, wait_until_idle

CONNECTIONS = (1, 10, 100, 1000)
# scrypt costs ~130 ms of CPU per check: at 1,000 connections every request would wait
# minutes, which measures the client's timeout, not the server.
PASSWORD_MAX_CONNECTIONS = 100
# The book's app serves one request per thread at ~20 req/s: at 1,000 connections a run
# measures its clients' timeouts. Its targets are stated at 10 and 100 connections.
BOOK_MAX_CONNECTIONS = 100


@dataclass(frozen=True)
class Target:
    name: str
    label: str
    path: str
    auth: str | None = None  # None, "token" or "password"


def targets_for(landmarks: Landmarks) -> list[Target]:
    return [
        Target("index", "/", "/"),
        Target(
            "user",
            f"/user/<most posts: {landmarks.top_author_posts}>",
            f"/user/{landmarks.top_author}",
        ),
        Target(
            "post",
            f"/post/<most comments: {landmarks.top_post_comments}>",
            f"/post/{landmarks.top_post_id}",
        ),
        Target("api-token", "/api/v1/posts/ (token)", "/api/v1/posts/", "token"),
        Target("api-password", "/api/v1/posts/ (email:password)", "/api/v1/posts/", "password"),
    ]


@dataclass
class Measurement:
    server: str
    role: str
    target: str
    label: str
    connections: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    non2xx: int
    requests: int
    duration: float
    cpu_ms_per_request: float | None
    statements: int | None
    probe_status: int | None
    response_bytes: int | None
    generator: str
    generator_cpu_share: float  # generator CPU seconds / (run seconds x generator CPUs)
    # With several rounds per cell: how many, and the lowest and highest req/s among them
    # (the figures above are the median round's).
    rounds: int = 1
    rps_low: float | None = None
    rps_high: float | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Measurement:
        values = {k: data.get(k) for k in cls.__dataclass_fields__}
        values["rounds"] = values["rounds"] or 1  # results saved before rounds existed
        return cls(**values)


@dataclass
class Probe:
    status: int | None
    statements: int | None
    size: int | None
    error: str | None = None


def basic_header(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def probe(url: str, headers: dict[str, str]) -> Probe:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            body = response.read()
            statements = response.headers.get(STATEMENTS_HEADER)
            return Probe(response.status, int(statements) if statements else None, len(body))
    except urllib.error.HTTPError as exc:
        statements = exc.headers.get(STATEMENTS_HEADER) if exc.headers else None
        return Probe(exc.code, int(statements) if statements else None, None, str(exc))
    except OSError as exc:
        return Probe(None, None, None, str(exc))


def fetch_token(server: RunningServer, landmarks: Landmarks) -> str:
    """A token from the server's own /api/v1/tokens/; for servers that share the bench's
    SECRET_KEY and token format, one signed here if that endpoint is not there (yet)."""
    request = urllib.request.Request(
        server.base_url + "/api/v1/tokens/",
        method="POST",
        data=b"",
        headers={
            "Authorization": basic_header(landmarks.bench_email, BENCH_PASSWORD),
            "Accept": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())["token"]
    except (OSError, ValueError, KeyError):
        if server.spec.command is None:
            raise
    from flasky import security

    return security.make_token(
        security.API, {"id": landmarks.bench_user_id}, 24 * 3600, secret_key=BENCH_SECRET_KEY
    )


def request_headers(target: Target, token: str | None, landmarks: Landmarks) -> dict[str, str]:
    if target.auth == "token":
        return {"Authorization": basic_header(token or ""), "Accept": "application/json"}
    if target.auth == "password":
        return {
            "Authorization": basic_header(landmarks.bench_email, BENCH_PASSWORD),
            "Accept": "application/json",
        }
    return {"Accept": "text/html"}


@dataclass
class Plan:
    connections: tuple[int, ...] = CONNECTIONS
    duration: float = 10.0
    warmup: float = 2.0
    generator: str = "auto"
    generator_cpus: set[int] | None = None
    target_names: tuple[str, ...] | None = None
    rounds: int = 1
    password_max_connections: int = PASSWORD_MAX_CONNECTIONS
    book_max_connections: int = BOOK_MAX_CONNECTIONS
    extra: dict[str, Any] = field(default_factory=dict)


def measure(
    server: RunningServer,
    target: Target,
    connections: int,
    plan: Plan,
    headers: dict[str, str],
    probed: Probe,
) -> Measurement:
    url = server.base_url + target.path
    before = server.cpu_seconds() if server.measurable else 0.0
    result: LoadResult = run_load(
        url,
        generator=plan.generator,
        connections=connections,
        duration=plan.duration,
        headers=headers,
        cpus=plan.generator_cpus,
    )
    after = server.cpu_seconds() if server.measurable else 0.0
    cpu_ms = (
        (after - before) * 1000 / result.requests if server.measurable and result.requests else None
    )
    generator_cores = len(plan.generator_cpus) if plan.generator_cpus else 1
    return Measurement(
        server=server.name,
        role=server.spec.role,
        target=target.name,
        label=target.label,
        connections=connections,
        rps=result.rps,
        p50_ms=result.p50_ms,
        p90_ms=result.p90_ms,
        p99_ms=result.p99_ms,
        max_ms=result.max_ms,
        errors=result.errors,
        non2xx=result.non2xx,
        requests=result.requests,
        duration=result.duration,
        cpu_ms_per_request=cpu_ms,
        statements=probed.statements,
        probe_status=probed.status,
        response_bytes=probed.size,
        generator=result.generator,
        generator_cpu_share=result.generator_cpu_s / (result.duration * generator_cores)
        if result.duration
        else 0.0,
    )


def run_matrix(
    servers: list[RunningServer],
    targets: list[Target],
    landmarks: Landmarks,
    plan: Plan,
    log: Callable[[str], None] = print,
) -> list[Measurement]:
    """Measure every server on every target at every connection count, interleaved."""
    floors = [s for s in servers if s.spec.role in ("floor", "context")]
    subjects = [s for s in servers if s.spec.role not in ("floor", "context")]
    if plan.target_names:
        targets = [t for t in targets if t.name in plan.target_names]
    tokens = {
        s.name: fetch_token(s, landmarks)
        for s in subjects
        if any(t.auth == "token" for t in targets)
    }
    hello = Target("hello", "bare hello", "/")

    # Probe and warm every (server, target) once: statement counts, status, JIT-ish caches.
    probes: dict[tuple[str, str], Probe] = {}
    for server in subjects:
        for target in targets:
            headers = request_headers(target, tokens.get(server.name), landmarks)
            probed = probe(server.base_url + target.path, headers)
            probes[(server.name, target.name)] = probed
            note = f" ({probed.error})" if probed.error else ""
            log(
                f"probe {server.name:>10} {target.path:<28} -> {probed.status}, "
                f"{probed.statements} statements, {probed.size} bytes{note}"
            )
            if plan.warmup > 0 and probed.status is not None and probed.status < 500:
                run_load(
                    server.base_url + target.path,
                    generator=plan.generator,
                    connections=min(10, max(plan.connections)),
                    duration=plan.warmup,
                    headers=headers,
                    cpus=plan.generator_cpus,
                )

    rounds: dict[tuple[str, str, int], list[Measurement]] = {}

    def keep(m: Measurement) -> None:
        cell = rounds.setdefault((m.server, m.target, m.connections), [])
        cell.append(m)
        log(_line(m) + (f"  (round {len(cell)})" if plan.rounds > 1 else ""))

    for connections in plan.connections:
        for round_number in range(plan.rounds):
            # Each round the other way round: no server is always measured first or last.
            order = subjects if round_number % 2 == 0 else subjects[::-1]
            for server in floors:
                wait_until_idle(servers)
                keep(measure(server, hello, connections, plan, {}, Probe(200, 0, None)))
            for target in targets:
                if target.auth == "password" and connections > plan.password_max_connections:
                    continue
                for server in order:
                    if server.spec.role == "book" and connections > plan.book_max_connections:
                        continue
                    probed = probes[(server.name, target.name)]
                    if probed.status is None:
                        if round_number == 0:
                            log(f"skip {server.name} {target.name}: {probed.error}")
                        continue
                    headers = request_headers(target, tokens.get(server.name), landmarks)
                    wait_until_idle(servers)  # the previous run's backlog is not this run's
                    keep(measure(server, target, connections, plan, headers, probed))
    return [median_round(measured) for measured in rounds.values()]


def median_round(measured: list[Measurement]) -> Measurement:
    """A cell's median round by req/s (the lower middle of an even count), whole: its
    latency and CPU figures belong to the same run as its req/s. With one round, that
    round as it was."""
    if len(measured) == 1:
        return measured[0]
    ordered = sorted(measured, key=lambda m: m.rps)
    middle = ordered[(len(ordered) - 1) // 2]
    return replace(middle, rounds=len(measured), rps_low=ordered[0].rps, rps_high=ordered[-1].rps)


def _line(m: Measurement) -> str:
    cpu = f"{m.cpu_ms_per_request:.2f}" if m.cpu_ms_per_request is not None else "-"
    return (
        f"{m.server:>10} {m.target:<13} c={m.connections:<5} {m.rps:9.1f} req/s  "
        f"p50 {m.p50_ms:8.1f} ms  "
        f"p99 {m.p99_ms:8.1f} ms  err {m.errors} non2xx {m.non2xx}  cpu {cpu} ms/req  "
        f"sql {m.statements}  gen {m.generator_cpu_share:.0%}"
    )


def save_results(path: Any, results: list[Measurement], meta: dict[str, Any]) -> None:
    with open(path, "w") as handle:
        json.dump({"meta": meta, "results": [asdict(m) for m in results]}, handle, indent=1)


def load_results(path: Any) -> tuple[list[Measurement], dict[str, Any]]:
    with open(path) as handle:
        data = json.load(handle)
    return [Measurement.from_dict(m) for m in data["results"]], data.get("meta", {})


def now_iso() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
