"""The streams scenario's tables, aims and plot (docs/benchmarks.md, section "streams")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

AIM_STREAMS = 10_000
AIM_KB_PER_STREAM = 30.0
AIM_HELD_SHARE = 0.70
AIM_FAN_OUT_P99_MS = 1000.0
AIM_CROSS_P99_MS = 100.0


def _n(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}" if digits else f"{value:,.0f}"


def _met(ok: bool | None) -> str:
    return "–" if ok is None else ("met" if ok else "**not met**")


def aims(results: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """(aim, measured, met) for the async app; None where the run did not measure it."""
    app = next((c for c in results.get("capacity", []) if c["server"] == "flasky"), None)
    rows: list[tuple[str, str, bool | None]] = []
    if app is not None:
        rows.append(
            (
                f"one worker holds {AIM_STREAMS:,} streams",
                f"{app['streaming']:,} of {app['attempted']:,}",
                app["streaming"] >= AIM_STREAMS if app["attempted"] >= AIM_STREAMS else None,
            )
        )
        kb = app.get("kb_per_stream")
        rows.append(
            (
                f"memory per stream under {AIM_KB_PER_STREAM:.0f} KB",
                f"{_n(kb)} KB",
                None if kb is None else kb < AIM_KB_PER_STREAM,
            )
        )
        share = app["held_rps"] / app["idle_rps"] if app["idle_rps"] else None
        rows.append(
            (
                f"page throughput while held at least {AIM_HELD_SHARE:.0%} of idle",
                f"{share:.0%}" if share is not None else "–",
                None if share is None else share >= AIM_HELD_SHARE,
            )
        )
        largest = app["fan_out"].get(str(AIM_STREAMS))
        rows.append(
            (
                f"fan-out p99 under {AIM_FAN_OUT_P99_MS:,.0f} ms at {AIM_STREAMS:,}",
                f"{_n(largest['p99_ms'])} ms" if largest else "not run at this size",
                None if not largest else largest["p99_ms"] < AIM_FAN_OUT_P99_MS,
            )
        )
    cross = results.get("cross")
    if cross is not None:
        crossed = cross["cross_worker"] > 0
        rows.append(
            (
                f"cross-worker p99 under {AIM_CROSS_P99_MS:.0f} ms at idle",
                f"{_n(cross['cross_p99_ms'])} ms" if crossed else "no send crossed",
                None if not crossed else cross["cross_p99_ms"] < AIM_CROSS_P99_MS,
            )
        )
    return rows


def markdown(results: dict[str, Any], plot: str | None = None) -> str:
    parts = [
        f"Measured {results.get('measured', '–')} on {results.get('cpus', '?')} CPUs (server "
        f"pinned to CPU {results.get('server_cpus', '?')}), load average "
        f"{results.get('load_average', '?')} at the start. Database: "
        f"{results.get('database', '–')}; subscribers in steps of "
        f"{', '.join(f'{s:,}' for s in results.get('steps', []))}.",
        "",
        "#### Aims",
        "",
        "| aim | measured | |",
        "|---|---|---|",
    ]
    parts += [f"| {aim} | {measured} | {_met(ok)} |" for aim, measured, ok in aims(results)]
    parts += [
        "",
        "#### Capacity: one pinned worker",
        "",
        "| server | streams attempted | streaming | RSS before MB | RSS held MB | KB / stream "
        "| `/` idle req/s | `/` req/s held | held ÷ idle | `/` p99 ms held | errors held |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in results.get("capacity", []):
        share = f"{c['held_rps'] / c['idle_rps']:.0%}" if c["idle_rps"] else "–"
        held_p99 = c["held_p99_ms"] if c["held_rps"] else None
        name = c["server"]
        if name == "threaded":
            name = f"threaded (gthread, {results.get('threads', '?')} threads)"
        parts.append(
            f"| {name} | {c['attempted']:,} | {c['streaming']:,} | {_n(c['rss_before_mb'])} | "
            f"{_n(c['rss_after_mb'])} | {_n(c['kb_per_stream'])} | {_n(c['idle_rps'], 0)} | "
            f"{_n(c['held_rps'], 0)} | {share} | {_n(held_p99)} | "
            f"{c['held_errors']} |"
        )
    fan_rows = [
        (step, f)
        for c in results.get("capacity", [])
        if c["server"] == "flasky"
        for step, f in sorted(c["fan_out"].items(), key=lambda item: int(item[0]))
    ]
    if fan_rows:
        parts += [
            "",
            "#### Fan-out: one comment to every stream reading its post",
            "",
            "| subscribers | comments | receipts expected | received | exactly once | p50 ms "
            "| p99 ms | max ms |",
            "|---|---|---|---|---|---|---|---|",
        ]
        parts += [
            f"| {int(step):,} | {f['rounds']} | {f['expected']:,} | {f['received']:,} | "
            f"{f['exactly_once']:,} | {_n(f['p50_ms'])} | {_n(f['p99_ms'])} | {_n(f['max_ms'])} |"
            for step, f in fan_rows
        ]
    cross = results.get("cross")
    if cross is not None:
        parts += [
            "",
            f"#### Across two workers ({cross.get('database', 'PostgreSQL')})",
            "",
            "| streams | on workers | messages | crossed | same worker | lost | twice "
            "| cross p50 ms | cross p99 ms | same p50 ms | same p99 ms |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
            f"| {cross['streams']} | {cross['stream_workers']} | {cross['sends']} | "
            f"{cross['cross_worker']} | {cross['same_worker']} | {cross['lost']} | "
            f"{cross['duplicates']} | {_n(cross['cross_p50_ms'])} | {_n(cross['cross_p99_ms'])} | "
            f"{_n(cross['same_p50_ms'])} | {_n(cross['same_p99_ms'])} |",
        ]
    if plot:
        parts += ["", f"![Commit-to-receipt delay, by share of receipts]({plot})"]
    return "\n".join(parts)


def plot(results: dict[str, Any], directory: Path) -> Path | None:
    """Delay from commit to receipt, as a distribution (share of receipts at or under)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    series: list[tuple[str, list[float]]] = []
    for c in results.get("capacity", []):
        for step, figures in sorted(c["fan_out"].items(), key=lambda item: int(item[0])):
            series.append((f"fan-out to {int(step):,} streams", figures["delays_ms"]))
    cross = results.get("cross")
    if cross and cross["cross_delays_ms"]:
        series.append(("message across workers (PostgreSQL)", cross["cross_delays_ms"]))
    series = [(label, delays) for label, delays in series if delays]
    if not series:
        return None
    figure, axes = plt.subplots(figsize=(7, 4))
    for label, delays in series:
        ordered = sorted(delays)
        shares = [(i + 1) / len(ordered) for i in range(len(ordered))]
        axes.plot(ordered, shares, label=label)
    # Logarithmic above 1 ms, linear below: a receipt can precede the moment the writer's
    # commit call returned (by ~0.1 ms across workers), and a log scale would drop it.
    axes.set_xscale("symlog", linthresh=1.0)
    axes.set_xlabel("ms from commit to receipt (logarithmic above 1 ms)")
    axes.set_ylabel("share of receipts")
    axes.axhline(0.99, color="grey", linewidth=0.5, linestyle=":")
    axes.legend(loc="lower right")
    axes.set_title("Live events: commit to receipt")
    figure.tight_layout()
    path = directory / "streams.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
