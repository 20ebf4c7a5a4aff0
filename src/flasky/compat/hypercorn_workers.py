"""Hypercorn's worker entry points, started by `flasky serve`'s own master (flasky/serving.py).

Hypercorn's master (hypercorn.run.run) starts `asyncio_worker` / `uvloop_worker` with
(config, sockets, shutdown_event) in spawned processes; these are not documented as public
API. Checked with Hypercorn 0.18.0; tests/test_serve.py fails if they change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def worker_entry_point(worker_class: str) -> Callable[..., Any] | None:
    """The function a worker process of this class runs; None for classes we do not run."""
    from hypercorn.asyncio.run import asyncio_worker, uvloop_worker

    return {"asyncio": asyncio_worker, "uvloop": uvloop_worker}.get(worker_class)
