"""The search scenario: /search under load on one pinned Hypercorn worker, for a common
word, a rare word and a phrase, and whether searching slows the other pages.

Seed first with `flasky bench seed --large` (100,000 posts; the rare words come with it).
For each database: each query alone at `connections` clients (p50/p99); then `/` at
`connections` clients alone, and again while one more client searches for the common
word nonstop, so the change in `/`'s figures is what search costs the other pages.
"""

from __future__ import annotations

import multiprocessing
import re
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from flasky_bench.loadgen import LoadResult, run_load
from flasky_bench.seed import SEED, rare_words
from flasky_bench.servers import (
    RunningServer,
    ServerSpec,
    app_env,
    cpu_list,
    generator_cpus,
    hypercorn_command,
    wait_until_idle,
)

# In about half the posts of the seeded data set (its vocabulary is ~80 words), ...
COMMON_WORD = "database"
# ... two of those words side by side (about 1 % of the posts), ...
PHRASE = '"database index"'
HTML = {"Accept": "text/html"}
_FOUND = re.compile(r"(More than )?([\d,]+) posts? found")


def queries(seed: int = SEED) -> dict[str, str]:
    # ... and one made-up word of `seed --large` (about 10 posts of 100,000).
    return {"common word": COMMON_WORD, "rare word": rare_words(seed)[0], "phrase": PHRASE}


@dataclass
class SearchResult:
    database: str
    case: str  # "common word", "rare word", "phrase", "/ alone", "/ + search"
    query: str
    found: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    non2xx: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def search_url(base: str, query: str) -> str:
    return f"{base}/search?" + urllib.parse.urlencode({"q": query})


def found(base: str, query: str) -> str:
    """What the page says it found ("1,000+" past the ranking limit)."""
    with urllib.request.urlopen(search_url(base, query), timeout=30) as response:  # noqa: S310
        match = _FOUND.search(response.read().decode())
    if match is None:
        return "0"
    return f"{match[2]}+" if match[1] else match[2]


def _row(database: str, case: str, query: str, hits: str, load: LoadResult) -> SearchResult:
    return SearchResult(
        database, case, query, hits, load.rps, load.p50_ms, load.p99_ms, load.errors, load.non2xx
    )


@dataclass
class _Load:
    """How every measurement of a run is made."""

    connections: int
    duration: float
    warmup: float
    cpus: set[int] | None
    generator: str

    def run(self, url: str, seconds: float, connections: int | None = None) -> LoadResult:
        return run_load(
            url,
            connections=connections or self.connections,
            duration=seconds,
            cpus=self.cpus,
            generator=self.generator,
            headers=HTML,
        )

    def measure(self, server: RunningServer, url: str) -> LoadResult:
        self.run(url, self.warmup)
        wait_until_idle([server])
        return self.run(url, self.duration)


def _background_search(load: _Load, url: str, conn: Any) -> None:
    conn.send(load.run(url, load.duration + 2, connections=1))


def _one_database(
    server: RunningServer, database: str, load: _Load, log: Callable[[str], None]
) -> list[SearchResult]:
    results = []
    for case, query in queries().items():
        hits = found(server.base_url, query)
        result = load.measure(server, search_url(server.base_url, query))
        results.append(_row(database, case, query, hits, result))
        log(
            f"{database} {case} {query!r} ({hits} found): {result.rps:.0f} req/s, "
            f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms"
        )
    home = server.base_url + "/"
    alone = load.measure(server, home)
    results.append(_row(database, "/ alone", "", "", alone))
    wait_until_idle([server])
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe(duplex=False)
    searcher = context.Process(
        target=_background_search,
        args=(load, search_url(server.base_url, COMMON_WORD), child),
        # Not a daemon: the asyncio load generator starts processes of its own.
    )
    searcher.start()
    time.sleep(1.0)
    together = load.run(home, load.duration)
    meanwhile = parent.recv() if parent.poll(load.duration + 60) else None
    searcher.join(5)
    results.append(_row(database, "/ + search", COMMON_WORD, "", together))
    if meanwhile is not None:
        results.append(_row(database, "search beside /", COMMON_WORD, "", meanwhile))
    log(
        f"{database} /: {alone.rps:.0f} -> {together.rps:.0f} req/s, p99 "
        f"{alone.p99_ms:.1f} -> {together.p99_ms:.1f} ms with one client searching"
    )
    return results


def run_search(
    database_urls: list[str],
    *,
    cpu: str | None,
    connections: int,
    duration: float,
    warmup: float,
    generator: str,
    worker_class: str,
    log: Callable[[str], None],
    log_dir: Path,
) -> list[SearchResult]:
    cpus = cpu_list(cpu)
    load = _Load(connections, duration, warmup, generator_cpus(cpus), generator)
    results: list[SearchResult] = []
    for database_url in database_urls:
        database = database_url.split(":", 1)[0].split("+", 1)[0]
        spec = ServerSpec(
            "flasky",
            hypercorn_command("flasky_bench.asgi:app", workers=1, worker_class=worker_class),
            env=app_env(database_url),
        )
        server = RunningServer(spec, cpus, log_dir)
        server.start()
        try:
            results += _one_database(server, database, load, log)
        finally:
            server.stop()
    return results


def markdown(results: list[SearchResult], connections: int) -> str:
    lines = [
        "| database | case | query | found | req/s | p50 ms | p99 ms | errors + non-2xx |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        query = f"`{r.query}`" if r.query else ""
        lines.append(
            f"| {r.database} | {r.case} | {query} | {r.found} | {r.rps:,.1f} | {r.p50_ms:,.1f} | "
            f"{r.p99_ms:,.1f} | {r.errors + r.non2xx} |"
        )
    by_database: dict[str, dict[str, SearchResult]] = {}
    for r in results:
        by_database.setdefault(r.database, {})[r.case] = r
    for database, cases in by_database.items():
        alone, together = cases.get("/ alone"), cases.get("/ + search")
        if alone and together and alone.rps:
            lines.append("")
            lines.append(
                f"{database}: `/` at {connections} clients, one more client searching: "
                f"{(together.rps / alone.rps - 1) * 100:+.1f} % req/s, p99 "
                f"{(together.p99_ms / alone.p99_ms - 1) * 100 if alone.p99_ms else 0:+.1f} %."
            )
    return "\n".join(lines)
