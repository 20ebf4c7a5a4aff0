"""Life as one of several Hypercorn worker processes.

Hypercorn's master stops its workers by setting an event they poll, then, as soon as the
first worker has exited, sends SIGTERM to the others. A worker has no handler for SIGTERM
in that mode, so a worker still finishing a request died with it: the request and the
mail it queued were lost, and so were they when systemd or docker signalled every process
of the service at once. Here a worker hands SIGTERM to its master instead, which stops
every worker the graceful way (requests in flight finish within graceful_timeout, the
shutdown hooks run); the master waits for its workers before it exits.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
from pathlib import Path
from typing import Any

log = logging.getLogger("flasky.workers")


def in_hypercorn_worker() -> bool:
    """True in a process that Hypercorn's master spawned to serve the app."""
    parent = multiprocessing.parent_process()
    return parent is not None and parent.pid == os.getppid()


def worker_pids() -> list[int] | None:
    """The pids of this worker and its sibling workers, lowest first; None where the
    system does not tell (not Linux, or not a Hypercorn worker)."""
    if not in_hypercorn_worker():
        return None
    master = os.getppid()
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        return None
    pids = []
    for pid in map(int, children):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        # Workers are started by multiprocessing's spawn; its resource tracker is not one.
        if b"spawn_main" in command:
            pids.append(pid)
    return sorted(pids) or None


def master_stop_event() -> Any | None:
    """The event Hypercorn's master sets to stop its workers, seen from inside a worker;
    None elsewhere. Lets a worker start ending long-lived responses (event streams) the
    moment the stop begins, instead of holding the graceful shutdown until its timeout.

    Reaches into two internals, checked with Hypercorn 0.18 on Python 3.11: the master
    starts each worker as multiprocessing.Process(target=..., kwargs={"shutdown_event":
    ...}), and a spawned child keeps its Process object, kwargs included, as
    multiprocessing.current_process(). tests/test_live_servers.py (a stream ends within
    seconds of SIGTERM) fails if either changes.
    """
    if not in_hypercorn_worker():
        return None
    event = getattr(multiprocessing.current_process(), "_kwargs", {}).get("shutdown_event")
    return event if hasattr(event, "is_set") else None


def is_first_worker() -> bool:
    """One worker speaks for all (startup warnings said once); True outside a master."""
    pids = worker_pids()
    return not pids or pids[0] == os.getpid()


def hand_sigterm_to_master() -> bool:
    """In a Hypercorn worker, turn SIGTERM into a graceful stop of the whole server."""
    if not in_hypercorn_worker():
        return False
    master = os.getppid()

    loop = asyncio.get_running_loop()

    def _forward() -> None:
        if os.getppid() == master:
            log.info("SIGTERM in worker %d: asking the master to stop gracefully", os.getpid())
            os.kill(master, signal.SIGTERM)
            return
        # The master is gone (killed): nobody else will stop this worker, and whoever
        # adopted it must never be signalled. SIGTERM then ends it as it would by default.
        log.warning("SIGTERM in worker %d, whose master is gone: exiting", os.getpid())
        loop.remove_signal_handler(signal.SIGTERM)
        signal.raise_signal(signal.SIGTERM)

    loop.add_signal_handler(signal.SIGTERM, _forward)
    return True


async def stop_gracefully_on_sigterm() -> None:
    """When a worker starts serving (see hand_sigterm_to_master)."""
    hand_sigterm_to_master()
