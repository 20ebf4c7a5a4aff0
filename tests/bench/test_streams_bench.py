"""The streams benchmark (`flasky bench streams`) at a tiny scale: the whole path runs,
and its figures come from receipts the subscribers really read. Nothing is timed."""

from __future__ import annotations

import asyncio
import os

import pytest

from flasky_bench import streams, streams_report
from flasky_bench.report import markers
from flasky_bench.subscribers import Subscriber, Watch


def small_options(database_url: str, output: str, postgresql_url: str = "") -> dict:
    return {
        "database_url": database_url,
        "subscribers": "8,20",
        "rounds": 2,
        "duration": 1.0,
        "open_rate": 500.0,
        "cpu": "",
        "worker_class": "asyncio",
        "threads": 2,
        "threaded": True,
        "threaded_subscribers": 5,
        "threaded_wait": 2.0,
        "postgresql_url": postgresql_url,
        "cross_streams": 6,
        "sends": 12,
        "generator": "asyncio",
        "output": output,
    }


@pytest.fixture
def database_url(tmp_path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'bench.sqlite'}"


def test_a_small_run_measures_every_subscriber_and_writes_the_section(database_url, tmp_path):
    pytest.importorskip("gunicorn")
    postgresql_url = database_url if database_url.startswith("postgresql") else ""
    docs = tmp_path / "docs"
    docs.mkdir()
    start, end = markers("streams")
    document = f"# Benchmarks\n\n{start}\nstale figures\n{end}\n\nAfter.\n"
    (docs / "benchmarks.md").write_text(document)

    results = streams.run_streams(small_options(database_url, str(docs), postgresql_url), print)
    streams.write(results, docs)

    app, threaded = results["capacity"]
    assert (app["server"], app["attempted"], app["streaming"]) == ("flasky", 20, 20)
    for step, subscribers in (("8", 8), ("20", 20)):
        fan_out = app["fan_out"][step]
        # Every subscriber read each comment, once, and none before its commit. The
        # clock is the writer's note that its commit returned, taken after the database
        # answered: the event leaves at the commit itself and has reached a subscriber up
        # to ~0.1 ms before that note (on PostgreSQL in CI), never milliseconds before.
        assert fan_out["expected"] == fan_out["received"] == 2 * subscribers
        assert fan_out["exactly_once"] == 2 * subscribers
        assert len(fan_out["delays_ms"]) == 2 * subscribers
        assert min(fan_out["delays_ms"]) >= -2
        assert fan_out["p50_ms"] <= fan_out["p99_ms"] <= fan_out["max_ms"]
    assert app["kb_per_stream"] is not None and app["idle_rps"] > 0
    # gthread answers one stream per thread; the others wait for a free thread.
    assert (threaded["server"], threaded["attempted"], threaded["streaming"]) == ("threaded", 5, 2)
    assert threaded["fan_out"] == {}

    if postgresql_url:
        cross = results["cross"]
        assert cross["lost"] == cross["duplicates"] == cross["strays"] == 0
        assert cross["same_worker"] + cross["cross_worker"] == cross["sends"] == 12
        assert len(cross["cross_delays_ms"]) == cross["cross_worker"]
    else:
        assert "cross" not in results

    document = (docs / "benchmarks.md").read_text()
    section = document[document.index(start) : document.index(end)]
    assert "stale figures" not in section and document.endswith("After.\n")
    assert "| flasky | 20 | 20 |" in section
    assert "| threaded (gthread, 2 threads) | 5 | 2 |" in section
    assert "| 20 | 2 | 40 | 40 | 40 |" in section
    assert (docs / "bench" / "results-streams.json").exists()
    if "bench/streams.png" in section:
        assert (docs / "bench" / "streams.png").stat().st_size > 0


async def test_a_marker_split_across_reads_counts_once():
    watch = Watch()
    subscriber = Subscriber(b"", watch)
    subscriber.data_received(b"HTTP/1.1 200 OK\r\nX-Bench-Worker: 42\r\n\r\n")
    assert not subscriber.ready.done()  # the stream's first line has not come yet
    subscriber.data_received(b"12\r\nretry: 2000\n\n\r\n")
    assert subscriber.ready.result() == 200 and subscriber.worker == "42"
    subscriber.reset(expected=True)
    watch.marker, watch.pending = b"fanout-abc123", 1
    subscriber.data_received(b'data: {"body_html":"<p>Round 0: fanout-a')
    assert subscriber.first is None
    subscriber.data_received(b'bc123</p>"}\n\n')
    assert subscriber.hits == 1 and subscriber.first is not None and watch.done.is_set()
    subscriber.data_received(b"event: heartbeat\n\n")
    assert subscriber.hits == 1


async def test_a_refused_stream_is_ready_with_its_status():
    subscriber = Subscriber(b"", Watch())
    subscriber.data_received(b"HTTP/1.1 429 TOO MANY REQUESTS\r\ncontent-length: 2\r\n\r\n{}")
    assert await asyncio.wait_for(subscriber.ready, 1) == 429


@pytest.mark.parametrize(
    ("kb", "held", "p99", "expected"),
    [
        (20.0, 90.0, 400.0, [True, True, True, True]),
        (31.0, 60.0, 1500.0, [True, False, False, False]),
    ],
)
def test_aims_are_judged_from_the_figures(kb, held, p99, expected):
    app = {
        "server": "flasky",
        "attempted": 10_000,
        "streaming": 10_000,
        "kb_per_stream": kb,
        "idle_rps": 100.0,
        "held_rps": held,
        "fan_out": {"10000": {"p99_ms": p99}},
    }
    assert [ok for _, _, ok in streams_report.aims({"capacity": [app]})] == expected


def test_long_delay_lists_are_kept_as_quantiles():
    delays = [float(n) for n in range(50_000)]
    kept = streams.spread(delays, points=1000)
    assert len(kept) == 1000 and kept[0] == 0.0 and kept[-1] == 49_999.0
    assert kept == sorted(kept)
    assert streams.spread([3.0, 1.5]) == [3.0, 1.5]
