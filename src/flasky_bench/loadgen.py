"""Load generators: wrk (Debian's package) when installed, else an asyncio generator here.

Both keep every connection busy (closed loop: send, read the whole response, send again)
for a fixed time and report the same numbers, including their own CPU time, so a run
shows whether the generator had headroom (its CPU share well under 100 % of its cores).
"""

from __future__ import annotations

import asyncio
import json
import math
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

REQUEST_TIMEOUT = 30.0


@dataclass
class LoadResult:
    requests: int
    duration: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # connect, read, write failures and timeouts
    non2xx: int
    generator_cpu_s: float
    generator: str
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.duration if self.duration else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rps"] = self.rps
        return data


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (q in 0..100)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), math.ceil(q / 100.0 * len(sorted_values))))
    return sorted_values[rank - 1]


def _pin(cpus: set[int] | None) -> Any:
    if not cpus:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


# --------------------------------------------------------------------------- wrk


WRK_SCRIPT = r"""
-- Written by flasky_bench: count non-2xx responses per thread, print one JSON line.
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) non2xx = 0 end
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("non2xx") end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"non2xx":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout, n,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    url: str,
    *,
    connections: int,
    duration: float,
    headers: dict[str, str] | None = None,
    cpus: set[int] | None = None,
    threads: int | None = None,
) -> LoadResult:
    threads = max(1, min(threads or len(cpus or {0}), connections))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        f"--timeout={int(REQUEST_TIMEOUT)}s",
        "-s",
        script.name,
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    try:
        with tempfile.TemporaryFile("w+") as errors:
            process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=errors, text=True, preexec_fn=_pin(cpus)
            )
            killer = threading.Timer(duration + REQUEST_TIMEOUT + 30, process.kill)
            killer.start()
            try:
                stdout = process.stdout.read() if process.stdout else ""
                # wait4 gives wrk's own CPU time (the proof of the generator's headroom).
                _, status, usage = os.wait4(process.pid, 0)
            finally:
                killer.cancel()
            process.returncode = os.waitstatus_to_exitcode(status)
            errors.seek(0)
            stderr = errors.read()
    finally:
        os.unlink(script.name)
    line = next((ln for ln in stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}): {stderr.strip() or stdout.strip()}")
    data = json.loads(line[len("BENCH_JSON ") :])
    return LoadResult(
        requests=data["requests"],
        duration=data["duration_us"] / 1e6,
        p50_ms=data["p50"] / 1000.0,
        p90_ms=data["p90"] / 1000.0,
        p99_ms=data["p99"] / 1000.0,
        max_ms=data["max"] / 1000.0,
        errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
        non2xx=data["non2xx"],
        generator_cpu_s=usage.ru_utime + usage.ru_stime,
        generator="wrk",
        detail={k: data[k] for k in ("connect", "read", "write", "timeout")},
    )


# --------------------------------------------------------------------------- asyncio


class _Counters:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.non2xx = 0


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one HTTP/1.1 response; return (status, keep_alive)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = None
    chunked = False
    keep_alive = True
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == b"connection" and b"close" in value.lower():
            keep_alive = False
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length is not None:
        await reader.readexactly(length)
    else:
        await reader.read()
        keep_alive = False
    return status, keep_alive


async def _connection_loop(
    host: str, port: int, request: bytes, deadline: float, counters: _Counters
) -> None:
    reader = writer = None
    while time.monotonic() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(host, port), REQUEST_TIMEOUT
                )
            assert reader is not None
            start = time.perf_counter()
            writer.write(request)
            status, keep_alive = await asyncio.wait_for(_read_response(reader), REQUEST_TIMEOUT)
            counters.latencies.append(time.perf_counter() - start)
            if not 200 <= status <= 299:
                counters.non2xx += 1
            if not keep_alive:
                writer.close()
                writer = None
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            counters.errors += 1
            if writer is not None:
                writer.close()
            writer = None
            await asyncio.sleep(0.01)
    if writer is not None:
        writer.close()


def _build_request(url: str, headers: dict[str, str]) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 80
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    lines = [f"GET {path} HTTP/1.1", f"Host: {parts.netloc}", "User-Agent: flasky-bench"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return host, port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _generator_process(
    url: str, headers: dict[str, str], connections: int, duration: float, start_at: float, conn: Any
) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    host, port, request = _build_request(url, headers)
    counters = _Counters()

    async def main() -> float:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        began = time.monotonic()
        deadline = began + duration
        await asyncio.gather(
            *(_connection_loop(host, port, request, deadline, counters) for _ in range(connections))
        )
        return time.monotonic() - began

    elapsed = asyncio.run(main())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    conn.send(
        {
            "latencies": counters.latencies,
            "errors": counters.errors,
            "non2xx": counters.non2xx,
            "elapsed": elapsed,
            "cpu": usage.ru_utime + usage.ru_stime,
        }
    )
    conn.close()


def run_asyncio(
    url: str,
    *,
    connections: int,
    duration: float,
    headers: dict[str, str] | None = None,
    cpus: set[int] | None = None,
    processes: int | None = None,
) -> LoadResult:
    """Closed-loop generator: `processes` (one per generator CPU) share the connections."""
    cpu_list = sorted(cpus) if cpus else [None]
    processes = max(1, min(processes or len(cpu_list), connections))
    context = multiprocessing.get_context("fork")
    start_at = time.time() + 0.3
    workers = []
    for index in range(processes):
        share = connections // processes + (1 if index < connections % processes else 0)
        parent, child = context.Pipe(duplex=False)
        process = context.Process(
            target=_generator_process,
            args=(url, headers or {}, share, duration, start_at, child),
            daemon=True,
        )
        process.start()
        cpu = cpu_list[index % len(cpu_list)]
        if cpu is not None:
            os.sched_setaffinity(process.pid, {cpu})
        workers.append((process, parent))
    reports = []
    for process, parent in workers:
        if not parent.poll(duration + REQUEST_TIMEOUT + 30):
            process.kill()
            raise RuntimeError("the asyncio load generator did not report back")
        reports.append(parent.recv())
        process.join()
    latencies = sorted(x for r in reports for x in r["latencies"])
    elapsed = statistics.fmean(r["elapsed"] for r in reports)
    return LoadResult(
        requests=len(latencies),
        duration=elapsed,
        p50_ms=percentile(latencies, 50) * 1000,
        p90_ms=percentile(latencies, 90) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        max_ms=(latencies[-1] * 1000) if latencies else 0.0,
        errors=sum(r["errors"] for r in reports),
        non2xx=sum(r["non2xx"] for r in reports),
        generator_cpu_s=sum(r["cpu"] for r in reports),
        generator=f"asyncio x{processes}",
    )


def run_load(url: str, *, generator: str = "auto", **kwargs: Any) -> LoadResult:
    if generator == "auto":
        generator = "wrk" if wrk_available() else "asyncio"
    if generator == "wrk":
        return run_wrk(url, **kwargs)
    kwargs.pop("threads", None)
    return run_asyncio(url, **kwargs)
