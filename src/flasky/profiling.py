"""`flasky profile`: an ASGI middleware that profiles each HTTP request with pyinstrument.

pyinstrument samples the call stack (1 ms by default) instead of tracing every call, and
in its async mode it follows one request's task: time the request spends waiting (for the
database, for another request's turn on the loop) shows as `[await]` under the line that
waited, not as asyncio internals. Library frames are folded, so each report reads as the
app's views, queries and template renders with their share of the request's time.
Requests are profiled concurrently, each by a profiler bound to its own task.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from hypercorn.typing import ASGIFramework
from pyinstrument import Profiler

SAMPLE_INTERVAL = 0.001


def report_name(method: str, path: str, elapsed: float) -> str:
    """A file name that sorts by time and says which request it was."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", ".", path.strip("/")) or "root"
    return f"{time.time():.6f}.{method}.{slug}.{elapsed * 1000:.0f}ms.html"


def call_tree(text: str) -> list[str]:
    """The report's lines from the call tree on (without pyinstrument's logo and header)."""
    lines = text.rstrip("\n").splitlines()
    for number, line in enumerate(lines):
        if line.startswith("Profile at "):
            return [kept for kept in lines[number + 1 :] if kept.strip()]
    return lines


class ProfilerMiddleware:
    """Profile every HTTP request: print its call tree (at most `length` lines) and/or
    write a full interactive HTML report per request into `profile_dir`."""

    def __init__(
        self,
        app: ASGIFramework,
        *,
        length: int = 25,
        profile_dir: str | Path | None = None,
        stream: TextIO | None = sys.stdout,
        interval: float = SAMPLE_INTERVAL,
    ) -> None:
        self.app = app
        self.length = length
        self.profile_dir = Path(profile_dir) if profile_dir else None
        self.stream = stream
        self.interval = interval
        if self.profile_dir:
            self.profile_dir.mkdir(parents=True, exist_ok=True)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        profiler = Profiler(interval=self.interval, async_mode="enabled")
        started = time.perf_counter()
        profiler.start()
        try:
            await self.app(scope, receive, send)
        finally:
            profiler.stop()
            # Rendering the reports is CPU and file work: keep it off the event loop.
            await asyncio.to_thread(self._report, scope, profiler, time.perf_counter() - started)

    def _report(self, scope: dict, profiler: Profiler, elapsed: float) -> None:
        method, path = scope.get("method", "GET"), scope.get("path", "/")
        html_path = None
        if self.profile_dir is not None:
            html_path = self.profile_dir / report_name(method, path, elapsed)
            html_path.write_text(profiler.output_html(), encoding="utf-8")
        if self.stream is None:
            return
        lines = call_tree(profiler.output_text(unicode=True, color=False))
        shown = lines[: self.length]
        print("-" * 80, file=self.stream)
        print(f"PATH: {method} {path}  ({elapsed * 1000:.1f} ms)", file=self.stream)
        print("\n".join(shown), file=self.stream)
        if len(lines) > len(shown):
            print(f"... {len(lines) - len(shown)} more lines (--length)", file=self.stream)
        if html_path is not None:
            print(f"HTML report: {html_path}", file=self.stream)
        print("-" * 80, file=self.stream, flush=True)
