"""`flasky serve`: the production server. It checks what it can before serving (the
configuration, the database answering, its schema at the code's migration), then runs
Hypercorn's workers under a master of its own, whose exit status tells what happened.

Why a master of our own: Hypercorn's (hypercorn.run.run, 0.17-0.18) exits 0 when a worker
fails to start (after a failed worker it recomputes the status from the workers still
running), so a server that cannot start looked like one that stopped cleanly to systemd,
docker and scripts. This one exits with the first failed worker's status (1 when it died
of a signal), and 0 only when every worker stopped on request. Each worker watches its
master: a master killed outright (SIGKILL, the OOM killer) can stop nobody, and its
workers would otherwise serve on, orphaned, holding the port and database connections.

Of Hypercorn it uses `Config` (from hypercorn.toml), `Config.create_sockets()` and the
worker entry points Hypercorn's own master starts (fenced in flasky/compat/hypercorn_workers.py).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from typing import Any

from quart import Quart

log = logging.getLogger("flasky.serving")

# Beyond graceful_timeout, what a worker may still take to flush mail and exit.
EXIT_MARGIN = 15.0
# How often a worker checks that its master is still its parent.
MASTER_CHECK_INTERVAL = 1.0


class NotReady(RuntimeError):
    """The server must not start (say why in one line)."""


async def check_database(app: Quart) -> None:
    """The database answers and its schema is at the code's newest migration."""
    from sqlalchemy.engine import make_url

    from flasky.migrations import current_revision, head_revision

    url = app.config["SQLALCHEMY_DATABASE_URL"]
    where = make_url(url).render_as_string(hide_password=True)
    try:
        async with asyncio.timeout(app.config["DB_CONNECT_TIMEOUT"] + 5.0):
            revision = await current_revision(url)
    except Exception as error:  # any failure here means "cannot serve"; say which
        reason = "no answer in time" if isinstance(error, TimeoutError) else error
        raise NotReady(f"Cannot reach the database {where}: {reason}") from error
    head = head_revision()
    if revision != head:
        raise NotReady(
            f"The database schema is at {revision or 'no revision'}, the code needs {head}: "
            "run `flasky deploy` first."
        )


def _worker_function(config: Any) -> Any:
    from flasky.compat.hypercorn_workers import worker_entry_point

    worker = worker_entry_point(config.worker_class)
    if worker is None:
        raise NotReady(
            f"worker_class {config.worker_class!r}: flasky serve runs asyncio or uvloop."
        )
    return worker


def serve_while_master_lives(
    worker: Callable[..., Any], config: Any, sockets: Any, shutdown_event: Any
) -> None:
    """A worker process's target (module level, so the spawn context can pickle it): the
    Hypercorn worker, stopped the graceful way once its master is no longer its parent."""
    master = multiprocessing.parent_process()
    if master is not None:
        threading.Thread(
            target=_stop_when_orphaned,
            args=(master.pid, shutdown_event),
            name="master-watch",
            daemon=True,
        ).start()
    worker(config=config, sockets=sockets, shutdown_event=shutdown_event)


def _stop_when_orphaned(master_pid: int, shutdown_event: Any) -> None:
    # Polling, because nothing tells a process that its parent died (prctl's
    # PR_SET_PDEATHSIG is Linux-only and sends a signal, not a graceful stop). Setting the
    # shared event stops the sibling workers too: with the master gone, all of them must go.
    # The event is touched only then: a worker that exits inside the event's wait() leaves
    # its set() waiting forever for that sleeper to wake (multiprocessing's Condition), and
    # a daemon thread can be stopped anywhere, even holding the event's lock.
    while True:
        time.sleep(MASTER_CHECK_INTERVAL)
        if os.getppid() != master_pid:
            log.warning("Worker %d: master %d is gone, stopping", os.getpid(), master_pid)
            shutdown_event.set()
            return


def run_workers(config: Any) -> int:
    """Serve with `config.workers` processes until SIGTERM/SIGINT; the exit status."""
    worker = _worker_function(config)
    sockets = config.create_sockets()
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    stopping = False

    def spawn() -> BaseProcess:
        process = context.Process(  # type: ignore[attr-defined]
            target=serve_while_master_lives,
            # flasky.workers.master_stop_event reads "shutdown_event" from these kwargs.
            kwargs={"worker": worker, "config": config, "sockets": sockets, "shutdown_event": stop},
        )
        process.start()
        return process

    def request_stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True
        stop.set()

    # Workers inherit an ignored SIGINT: a Ctrl+C in the terminal reaches every process of
    # the group, and only the master decides how they stop.
    previous_sigint = signal.signal(signal.SIGINT, signal.SIG_IGN)
    processes = [spawn() for _ in range(max(1, config.workers))]
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    status = 0
    deadline: float | None = None
    try:
        while processes:
            if stopping and deadline is None:
                deadline = time.monotonic() + float(config.graceful_timeout) + EXIT_MARGIN
            finished = wait([p.sentinel for p in processes], timeout=1.0)
            for process in [p for p in processes if p.sentinel in finished]:
                process.join()
                processes.remove(process)
                code = process.exitcode or 0
                if code == 0 and not stopping:
                    # A worker that ends on its own (max_requests) is replaced.
                    processes.append(spawn())
                elif code != 0:
                    log.error("Worker %s exited with status %s", process.pid, code)
                    status = status or (code if code > 0 else 1)
                    request_stop()
            if deadline is not None and time.monotonic() > deadline:
                for process in processes:
                    log.error("Worker %s did not stop in time; killing it", process.pid)
                    process.kill()
                status = status or 1
                deadline = float("inf")
    finally:
        signal.signal(signal.SIGINT, previous_sigint)
        for sock in [*sockets.secure_sockets, *sockets.insecure_sockets]:
            sock.close()
    return status
