"""Turn measurements into Markdown tables and PNG plots (matplotlib, the `bench` extra)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flasky_bench.runner import Measurement

TARGET_ORDER = ["index", "user", "post", "api-token", "api-password"]
RESULTS_START = "<!-- bench:results:start -->"
RESULTS_END = "<!-- bench:results:end -->"
# The book's app is a peer in the same run (role "book"); the page targets every page must
# meet against it, at each of these connection counts.
BOOK_TARGETS = ("index", "user", "post", "api-token")
BOOK_CONNECTIONS = (10, 100)
BOOK_MIN_RATIO = 10.0


def markers(section: str = "") -> tuple[str, str]:
    """The comment pair around a generated part; one pair per database section."""
    if not section:
        return RESULTS_START, RESULTS_END
    return f"<!-- bench:results-{section}:start -->", f"<!-- bench:results-{section}:end -->"


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    if value >= 100 and digits:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "–"
    return f"{a / b:.2f}×" if a / b < 10 else f"{a / b:.0f}×"


def index_results(results: Iterable[Measurement]) -> dict[tuple[str, str, int], Measurement]:
    return {(m.server, m.target, m.connections): m for m in results}


def floor_name(results: list[Measurement]) -> str | None:
    return next((m.server for m in results if m.role == "floor"), None)


def app_name(results: list[Measurement]) -> str | None:
    return next((m.server for m in results if m.role == "app"), None)


def compare_names(results: list[Measurement]) -> list[str]:
    """The peers measured beside the app: the threaded twin, other commands, the book."""
    names: list[str] = []
    for m in results:
        if m.role in ("compare", "book") and m.server not in names:
            names.append(m.server)
    return names


def book_names(results: list[Measurement]) -> list[str]:
    return [name for name in compare_names(results) if _role(results, name) == "book"]


def _role(results: list[Measurement], server: str) -> str | None:
    return next((m.role for m in results if m.server == server), None)


def best_book(results: list[Measurement], target: str, connections: int) -> Measurement | None:
    """The book's best configuration on this cell: the ratio is taken against it."""
    idx = index_results(results)
    cells = [idx.get((name, target, connections)) for name in book_names(results)]
    cells = [m for m in cells if m is not None and m.rps]
    return max(cells, key=lambda m: m.rps, default=None)


def implied_latency_ms(m: Measurement) -> float | None:
    """Little's law: with c connections always busy, the mean latency is c / throughput."""
    return m.connections / m.rps * 1000 if m.rps else None


def summary_table(results: list[Measurement], connections: int) -> str:
    idx = index_results(results)
    app, floor = app_name(results), floor_name(results)
    others = compare_names(results)
    head = (
        ["page", f"{app} req/s"]
        + [f"{o} req/s" for o in others]
        + ["floor req/s", f"{app} ÷ floor"]
        + [f"{app} ÷ {o}" for o in others]
        + [f"{app} p99 ms"]
        + [f"{o} p99 ms" for o in others]
        + ["SQL / req", "CPU ms / req"]
        + [f"CPU {app} ÷ {o}" for o in others]
    )
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    floor_m = idx.get((floor, "hello", connections)) if floor else None
    for target in TARGET_ORDER:
        mine = idx.get((app, target, connections))
        if mine is None:
            continue
        theirs = [idx.get((o, target, connections)) for o in others]
        sql = [str(mine.statements) if mine.statements is not None else "–"]
        sql += [str(t.statements) if t and t.statements is not None else "–" for t in theirs]
        cpu = [_fmt(mine.cpu_ms_per_request, 2)] + [
            _fmt(t.cpu_ms_per_request, 2) if t else "–" for t in theirs
        ]
        row = [mine.label, _fmt(mine.rps)] + [_fmt(t.rps) if t else "–" for t in theirs]
        row += [
            _fmt(floor_m.rps) if floor_m else "–",
            _ratio(mine.rps, floor_m.rps if floor_m else None),
        ]
        row += [_ratio(mine.rps, t.rps if t else None) for t in theirs]
        row += [_fmt(mine.p99_ms)] + [_fmt(t.p99_ms) if t else "–" for t in theirs]
        row += [" / ".join(sql), " / ".join(cpu)]
        row += [
            _ratio(mine.cpu_ms_per_request, t.cpu_ms_per_request if t else None) for t in theirs
        ]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def full_table(results: list[Measurement]) -> str:
    idx = index_results(results)
    floor = floor_name(results)
    head = [
        "server",
        "page",
        "conns",
        "req/s",
        "÷ floor",
        "p50 ms",
        "p99 ms",
        "p99 ÷ c/rps",
        "errors",
        "non-2xx",
        "CPU ms/req",
        "CPU ÷ floor",
        "SQL/req",
        "generator CPU",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    order = {name: i for i, name in enumerate(TARGET_ORDER)}
    for m in sorted(
        results, key=lambda m: (order.get(m.target, -1), m.connections, m.role != "app", m.server)
    ):
        floor_m = idx.get((floor, "hello", m.connections)) if floor else None
        implied = implied_latency_ms(m)
        row = [
            m.server,
            m.label,
            str(m.connections),
            _fmt(m.rps) + _rps_range(m),
            _ratio(m.rps, floor_m.rps if floor_m else None),
            _fmt(m.p50_ms),
            _fmt(m.p99_ms),
            _ratio(m.p99_ms, implied) if m.connections > 1 else "–",
            str(m.errors),
            str(m.non2xx),
            _fmt(m.cpu_ms_per_request, 2),
            _ratio(m.cpu_ms_per_request, floor_m.cpu_ms_per_request if floor_m else None),
            "–" if m.statements is None else str(m.statements),
            f"{m.generator_cpu_share:.0%}",
        ]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _rps_range(m: Measurement) -> str:
    if m.rounds <= 1 or m.rps_low is None or m.rps_high is None:
        return ""
    return f" ({_fmt(m.rps_low)}–{_fmt(m.rps_high)})"


def target_checks(
    results: list[Measurement], connections: int = 100
) -> list[tuple[str, bool, str]]:
    """The page targets, checked against figures measured in this same run."""
    idx = index_results(results)
    app, floor = app_name(results), floor_name(results)
    checks: list[tuple[str, bool, str]] = []
    labels = {
        "index": "/",
        "user": "/user/<most posts>",
        "post": "/post/<most comments>",
        "api-token": "API with a token",
    }
    for conns in BOOK_CONNECTIONS:
        for target in BOOK_TARGETS:
            mine, book = idx.get((app, target, conns)), best_book(results, target, conns)
            if mine is None or book is None:
                continue
            ratio = mine.rps / book.rps
            checks.append(
                (
                    f"{labels[target]} at {conns}: ≥ {BOOK_MIN_RATIO:g}× the book's req/s",
                    ratio >= BOOK_MIN_RATIO,
                    f"{mine.rps:,.0f} vs {book.rps:,.1f} ({book.server}) = {ratio:.1f}×",
                )
            )
            if mine.cpu_ms_per_request and book.cpu_ms_per_request:
                share = mine.cpu_ms_per_request / book.cpu_ms_per_request
                checks.append(
                    (
                        f"{labels[target]} at {conns}: ≤ 1/{BOOK_MIN_RATIO:g} of the book's CPU",
                        share <= 1 / BOOK_MIN_RATIO,
                        f"{mine.cpu_ms_per_request:.2f} vs {book.cpu_ms_per_request:.1f} ms "
                        f"= 1/{1 / share:.0f}"
                        if share
                        else "–",
                    )
                )
    floor_m = idx.get((floor, "hello", connections)) if floor else None
    m = idx.get((app, "index", connections))
    if m and floor_m:
        checks.append(
            (
                "/ ≥ 20 % of the bare-hello floor",
                m.rps >= 0.2 * floor_m.rps,
                f"{m.rps / floor_m.rps:.0%} of {floor_m.rps:,.0f} req/s",
            )
        )
    home, post = idx.get((app, "index", connections)), idx.get((app, "post", connections))
    if home and post and home.cpu_ms_per_request and post.cpu_ms_per_request:
        checks.append(
            (
                "/post costs less CPU than /",
                post.cpu_ms_per_request < home.cpu_ms_per_request,
                f"{post.cpu_ms_per_request:.2f} vs {home.cpu_ms_per_request:.2f} ms",
            )
        )
    at_1000 = [m for m in results if m.server == app and m.connections == 1000]
    if at_1000:
        bad = [m for m in at_1000 if m.errors or m.non2xx]
        checks.append(
            (
                "no errors at 1,000 connections",
                not bad,
                "none"
                if not bad
                else ", ".join(f"{m.target}: {m.errors} errors, {m.non2xx} non-2xx" for m in bad),
            )
        )
    fair = [m for m in results if m.server == app and m.connections == connections and m.rps]
    if fair:
        worst = max(fair, key=lambda m: m.p99_ms / implied_latency_ms(m))
        ratio = worst.p99_ms / implied_latency_ms(worst)
        checks.append(
            (
                f"p99 at {connections} connections ≤ 1.5× c/throughput",
                ratio <= 1.5,
                f"worst {worst.target}: p99 {worst.p99_ms:.0f} ms = {ratio:.2f}× of "
                f"{implied_latency_ms(worst):.0f} ms",
            )
        )
    return checks


def checks_table(checks: list[tuple[str, bool, str]]) -> str:
    lines = ["| target | met | this run |", "|---|---|---|"]
    lines += [f"| {name} | {'yes' if ok else '**no**'} | {detail} |" for name, ok, detail in checks]
    return "\n".join(lines)


def plot(results: list[Measurement], directory: Path, prefix: str = "") -> list[Path]:
    """One PNG per page: req/s and p99 against connections, one line per server."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    floor = floor_name(results)
    floor_points = sorted(
        (m.connections, m) for m in results if m.server == floor and m.target == "hello"
    )
    for target in TARGET_ORDER:
        rows = [m for m in results if m.target == target]
        if not rows:
            continue
        fig, (ax_rps, ax_p99) = plt.subplots(1, 2, figsize=(10, 3.8))
        servers = []
        for m in rows:
            if m.server not in servers:
                servers.append(m.server)
        for server in servers:
            points = sorted((m.connections, m) for m in rows if m.server == server)
            xs = [c for c, _ in points]
            ax_rps.plot(xs, [m.rps for _, m in points], marker="o", label=server)
            ax_p99.plot(xs, [m.p99_ms for _, m in points], marker="o", label=server)
        if floor_points:
            xs = [c for c, _ in floor_points]
            ax_rps.plot(
                xs,
                [m.rps for _, m in floor_points],
                linestyle="--",
                color="grey",
                label=f"{floor} (floor)",
            )
        ax_rps.set_title(f"{rows[0].label}: throughput")
        ax_rps.set_ylabel("requests / s (log)")
        ax_rps.set_yscale("log")  # the floor is 10-20x the pages: a linear axis flattens them
        ax_p99.set_title(f"{rows[0].label}: p99 latency")
        ax_p99.set_ylabel("ms")
        ax_p99.set_yscale("log")
        for ax in (ax_rps, ax_p99):
            ax.set_xscale("log")
            ax.set_xlabel("connections")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)
        fig.tight_layout()
        path = directory / f"{prefix}{target}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    return written


def results_markdown(
    results: list[Measurement], meta: dict[str, Any], images: list[str], scenarios_md: str = ""
) -> str:
    parts = [
        f"_Generated by `{meta.get('command', 'flasky bench run')}` on {meta.get('date', '?')}._",
        "",
    ]
    parts.append(_meta_table(meta))
    measured = sorted({m.connections for m in results})
    summary_at = 100 if 100 in measured else max(measured, default=0)
    for conns in [c for c in (10, 100) if c in measured] or [summary_at]:
        parts += [
            "",
            f"### Summary at {conns} connections",
            "",
            summary_table(results, conns),
        ]
    checks = target_checks(results, summary_at)
    if checks:
        parts += ["", "### Targets, checked against this run", "", checks_table(checks)]
    if images:
        parts += ["", "### Plots", ""] + [f"![{Path(i).stem}]({i})" for i in images]
    if scenarios_md:
        parts += ["", scenarios_md]
    parts += ["", "### Every measurement", "", full_table(results)]
    return "\n".join(parts) + "\n"


def _meta_table(meta: dict[str, Any]) -> str:
    keys = [
        ("machine", "machine"),
        ("database", "database"),
        ("server", "app server"),
        ("compare", "comparison"),
        ("book", "the book's app"),
        ("floor", "floor"),
        ("generator", "load generator"),
        ("duration", "seconds per cell"),
        ("rounds", "rounds per cell"),
        ("data", "data set"),
    ]
    lines = ["| | |", "|---|---|"]
    lines += [f"| {label} | {meta[key]} |" for key, label in keys if meta.get(key)]
    return "\n".join(lines)


def write_into(document: Path, generated: str, template: str, section: str = "") -> None:
    """Replace the generated part of a document (between the markers), or create it."""
    start, end = markers(section)
    text = document.read_text() if document.exists() else template
    if start not in text:
        text = text.rstrip() + f"\n\n{start}\n{end}\n"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: f"{start}\n{generated}\n{end}", text)
    document.parent.mkdir(parents=True, exist_ok=True)
    document.write_text(text)
