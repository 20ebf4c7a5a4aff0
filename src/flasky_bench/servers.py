"""Servers under test: started as subprocesses (optionally pinned to CPUs), or given as a URL.

CPU time is read from /proc/<pid>/stat for the server's whole process tree (Hypercorn's
and gunicorn's arbiters and workers), before and after each load run.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BENCH_SECRET_KEY = "flasky-bench-secret-key-not-for-production"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: split after the last ')'.
        fields = stat[stat.rindex(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def process_tree(pid: int) -> list[int]:
    children = _children_map()
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the given live processes (fields 14 and 15 of /proc/<pid>/stat)."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def cpu_list(text: str | None) -> set[int] | None:
    """'1' or '0,1' or '0-1' -> a set of CPU numbers; None or '' -> no pinning."""
    if not text:
        return None
    cpus: set[int] = set()
    for part in str(text).split(","):
        if "-" in part:
            low, high = part.split("-")
            cpus.update(range(int(low), int(high) + 1))
        elif part.strip():
            cpus.add(int(part))
    return cpus


def generator_cpus(server_cpus: set[int] | None) -> set[int] | None:
    """The CPUs the server does not use (all of them when it is not pinned)."""
    available = os.sched_getaffinity(0)
    if not server_cpus:
        return None
    rest = set(available) - server_cpus
    return rest or None


@dataclass
class ServerSpec:
    """A server to measure. `command` may hold `{port}`; without a command, `url` is used."""

    name: str
    command: list[str] | None = None
    url: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    role: str = "app"  # "app", "floor", "context" (extra hello) or "compare"


class RunningServer:
    def __init__(self, spec: ServerSpec, cpus: set[int] | None, log_dir: Path) -> None:
        self.spec = spec
        self.cpus = cpus
        self.log_dir = log_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.base_url = spec.url.rstrip("/") if spec.url else ""
        self.port: int | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def measurable(self) -> bool:
        return self.process is not None

    def start(self, timeout: float = 60.0) -> None:
        if self.spec.command is None:
            wait_until_up(self.base_url, timeout)
            return
        self.port = free_port()
        command = [part.replace("{port}", str(self.port)) for part in self.spec.command]
        env = dict(os.environ)
        env.update(self.spec.env)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{self.name}.log", "ab")  # noqa: SIM115 - lives with the process
        cpus = self.cpus
        self.process = subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as one
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
        )
        self.base_url = f"http://127.0.0.1:{self.port}"
        try:
            wait_until_up(self.base_url, timeout, self.process)
        except Exception:
            self.stop()
            raise

    def pids(self) -> list[int]:
        return process_tree(self.process.pid) if self.process else []

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pids())

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        except ProcessLookupError:
            pass


def wait_until_idle(
    servers: list[RunningServer], *, window: float = 0.25, timeout: float = 60.0
) -> float:
    """Wait until the servers have stopped working off the last load run; the seconds waited.

    When a load generator stops, the requests it had in flight are still being served
    (this app finishes a request whose client left, so that a disconnect never cuts a
    transaction short), and all servers share the pinned CPU. A run started on top of
    that backlog counted it in its first requests' latency: at 100 connections, ~100
    requests of a ~3,500-request run took up to twice the steady-state latency, which
    alone set p99 at ~1.5-1.7x c/throughput where the steady state gave ~1.2x. Idle
    means at most one clock tick of CPU across all servers in `window` seconds.
    """
    measurable = [server for server in servers if server.measurable]
    started = time.monotonic()
    if not measurable:
        return 0.0
    last = sum(server.cpu_seconds() for server in measurable)
    while time.monotonic() - started < timeout:
        time.sleep(window)
        now = sum(server.cpu_seconds() for server in measurable)
        if now - last <= 1.0 / CLOCK_TICKS:
            break
        last = now
    return time.monotonic() - started


def wait_until_up(
    base_url: str, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"server exited with {process.returncode} before answering {base_url}"
            )
        try:
            with urllib.request.urlopen(base_url + "/", timeout=5) as response:
                response.read()
            return
        except urllib.error.HTTPError:
            return  # it answers; the status is the probe's business
        except OSError as exc:
            last_error = exc
            time.sleep(0.2)
    raise RuntimeError(f"no answer from {base_url} within {timeout:.0f}s: {last_error}")


def hypercorn_command(
    app: str, *, workers: int, worker_class: str, keep_alive: int = 5
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "hypercorn",
        "--bind",
        "127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        worker_class,
        "--backlog",
        "2048",
        "--keep-alive",
        str(keep_alive),
        app,
    ]


def gunicorn_command(app: str, *, workers: int, threads: int, keep_alive: int = 5) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        "127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        # gthread's default of 1,000 open connections per worker would refuse the
        # 1,000-connection runs' last few; the limit here is the threads, not the sockets.
        "--worker-connections",
        "4000",
        "--backlog",
        "2048",
        "--keep-alive",
        str(keep_alive),
        "--log-level",
        "warning",
        app,
    ]


def app_env(database_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the served app: production config, rate limits off (SPEC §3)."""
    env = {
        "FLASKY_CONFIG": "production",
        "SECRET_KEY": BENCH_SECRET_KEY,
        # Any port of the loopback address: each server of a run has its own.
        "FLASKY_BASE_URL": "http://127.0.0.1",
        "FLASKY_ALLOWED_HOSTS": "localhost",
        "DATABASE_URL": database_url,
        "FLASKY_RATE_LIMITS": "off",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update(extra or {})
    return env


def command_spec(name: str, text: str, role: str = "compare") -> ServerSpec:
    """`--compare` values: a URL, or a shell-style command line with {port}."""
    if text.startswith(("http://", "https://")):
        return ServerSpec(name=name, url=text, role=role)
    return ServerSpec(name=name, command=shlex.split(text), role=role)
