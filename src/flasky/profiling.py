"""`flasky profile`: an ASGI middleware that runs cProfile around each HTTP request."""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from hypercorn.typing import ASGIFramework


class ProfilerMiddleware:
    """Profile every HTTP request; print the top functions and/or write a .prof file.

    cProfile sees everything the thread runs, and async requests interleave on one thread,
    so requests are profiled one at a time (a lock): each report is one request's work.
    Load a .prof file with `python -m pstats FILE` or snakeviz.
    """

    def __init__(
        self,
        app: ASGIFramework,
        *,
        length: int = 25,
        profile_dir: str | Path | None = None,
        sort_by: tuple[str, ...] = ("cumulative", "time"),
        stream: TextIO | None = sys.stdout,
    ) -> None:
        self.app = app
        self.length = length
        self.profile_dir = Path(profile_dir) if profile_dir else None
        self.sort_by = sort_by
        self.stream = stream
        self._lock = asyncio.Lock()
        if self.profile_dir:
            self.profile_dir.mkdir(parents=True, exist_ok=True)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        async with self._lock:
            profiler = cProfile.Profile()
            started = time.perf_counter()
            profiler.enable()
            try:
                await self.app(scope, receive, send)
            finally:
                profiler.disable()
                self._report(scope, profiler, time.perf_counter() - started)

    def _report(self, scope: dict, profiler: cProfile.Profile, elapsed: float) -> None:
        method, path = scope.get("method", "GET"), scope.get("path", "/")
        if self.stream is not None:
            print("-" * 80, file=self.stream)
            print(f"PATH: {method} {path}  ({elapsed * 1000:.1f} ms)", file=self.stream)
            stats = pstats.Stats(profiler, stream=self.stream)
            stats.sort_stats(*self.sort_by).print_stats(self.length)
            print("-" * 80, file=self.stream, flush=True)
        if self.profile_dir is not None:
            slug = path.strip("/").replace("/", ".") or "root"
            name = f"{method}.{slug}.{elapsed * 1000:.0f}ms.{time.time():.6f}.prof"
            profiler.dump_stats(str(self.profile_dir / name))
