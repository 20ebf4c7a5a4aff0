"""The benchmark's helpers (flasky_bench): data set, parsing, bookkeeping and reports.
Nothing here measures speed: CI runs `flasky bench run --smoke` for that, untimed."""

from __future__ import annotations

import asyncio
import base64
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from flasky.config import async_database_url
from flasky.models import Comment, Follow, Post, User
from flasky_bench import loadgen, report, runner, seed, servers
from flasky_bench.runner import Measurement

SMALL = {"users": 12, "posts": 80, "comments": 900}


def generate(**overrides):
    arguments = dict(SMALL, password_hash="x", user_role_id=1)
    arguments.update(overrides)
    return seed.generate(**arguments)


def test_data_set_is_deterministic_and_skewed():
    first, again = generate(), generate()
    assert first == again
    assert generate(seed=1).posts != first.posts
    assert len(first.users) == 12 and len(first.posts) == 80 and len(first.comments) == 900
    per_post: dict[int, int] = {}
    for comment in first.comments:
        per_post[comment["post_id"]] = per_post.get(comment["post_id"], 0) + 1
    # The hot posts of the data set: one with 600, then 300 (cut to what is left).
    assert sorted(per_post.values(), reverse=True)[:2] == [600, 300]
    per_author: dict[int, int] = {}
    for post in first.posts:
        per_author[post["author_id"]] = per_author.get(post["author_id"], 0) + 1
    assert max(per_author.values()) >= 2 * len(first.posts) / len(first.users)


def test_data_set_rows_are_consistent():
    data = generate()
    user_ids = {u["id"] for u in data.users}
    posts = {p["id"]: p for p in data.posts}
    assert data.users[0]["email"] == seed.BENCH_EMAIL and data.users[0]["confirmed"]
    assert {(f["follower_id"], f["followed_id"]) for f in data.follows} >= {
        (u, u) for u in user_ids
    }
    for comment in data.comments:
        assert comment["author_id"] in user_ids
        assert comment["timestamp"] > posts[comment["post_id"]]["timestamp"]
    assert all(p["body_html"].startswith("<") for p in data.posts)
    assert "<script" not in "".join(c["body_html"] for c in data.comments)


def test_generate_refuses_an_empty_shape():
    with pytest.raises(ValueError):
        generate(users=1)


@pytest.fixture
def bench_database_url(tmp_path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'bench.sqlite'}"


async def test_seed_database_and_landmarks(bench_database_url):
    landmarks = await seed.seed_database(
        bench_database_url, **SMALL, hash_method="pbkdf2:sha256:1000"
    )
    assert landmarks.bench_email == seed.BENCH_EMAIL
    assert landmarks.top_post_comments == 600
    engine = seed.make_engine(bench_database_url)
    try:
        async with engine.connect() as conn:
            counts = [
                await conn.scalar(select(func.count()).select_from(model))
                for model in (User, Post, Comment)
            ]
            top = await conn.scalar(
                select(func.count(Post.id)).join(User).where(User.username == landmarks.top_author)
            )
            assert await conn.scalar(select(func.count()).select_from(Follow)) >= 12
        assert counts == [12, 80, 900]
        assert top == landmarks.top_author_posts
        # New rows after a seed get fresh ids (PostgreSQL's sequences were moved on).
        async with engine.begin() as conn:
            await conn.execute(
                Post.__table__.insert().values(
                    body="x", body_html="x", author_id=1, timestamp=seed.EPOCH
                )
            )
    finally:
        await engine.dispose()


async def test_threaded_server_serves_the_pages(bench_database_url, monkeypatch):
    if not bench_database_url.startswith("sqlite"):
        pytest.importorskip("psycopg")  # the bench extra's driver for the threaded server
    landmarks = await seed.seed_database(
        bench_database_url, **SMALL, hash_method="pbkdf2:sha256:1000"
    )
    from flasky_bench.threaded import create_app, sync_database_url

    monkeypatch.setenv("DATABASE_URL", bench_database_url)
    client = create_app().test_client()
    for path in ("/", f"/user/{landmarks.top_author}", f"/post/{landmarks.top_post_id}?page=-1"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert int(response.headers["X-Flasky-Statements"]) <= 6
    assert client.get("/user/nobody").status_code == 404
    password = {"Authorization": runner.basic_header(seed.BENCH_EMAIL, seed.BENCH_PASSWORD)}
    token = client.post("/api/v1/tokens/", headers=password).json["token"]
    posts = client.get("/api/v1/posts/", headers={"Authorization": runner.basic_header(token)})
    assert posts.json["count"] == 80 and len(posts.json["posts"]) == 20
    # The twin shows the same per-post figures as the app, read from the same column.
    assert all(post["word_count"] > 0 for post in posts.json["posts"])
    home = client.get("/").get_data(as_text=True)
    assert home.count('class="post-reading-time"') == 20 and " min read" in home
    assert client.get("/api/v1/posts/").status_code == 401
    assert (
        sync_database_url(async_database_url("postgresql://u@h/d")) == "postgresql+psycopg://u@h/d"
    )


async def test_asyncio_generator_reads_length_and_chunked_responses():
    reader = asyncio.StreamReader()
    reader.feed_data(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
        b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    assert await loadgen._read_response(reader) == (200, True)
    assert await loadgen._read_response(reader) == (404, True)
    assert await loadgen._read_response(reader) == (200, False)


def test_request_bytes_carry_path_query_and_headers():
    host, port, request = loadgen._build_request(
        "http://127.0.0.1:8123/api/v1/posts/?page=2", {"Authorization": "Basic eA=="}
    )
    assert (host, port) == ("127.0.0.1", 8123)
    assert request.startswith(b"GET /api/v1/posts/?page=2 HTTP/1.1\r\nHost: 127.0.0.1:8123\r\n")
    assert request.endswith(b"Authorization: Basic eA==\r\n\r\n")


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert loadgen.percentile(values, 50) == 50
    assert loadgen.percentile(values, 99) == 99
    assert loadgen.percentile([], 99) == 0


def test_cpu_lists_and_process_accounting():
    assert servers.cpu_list("1") == {1}
    assert servers.cpu_list("0-2,5") == {0, 1, 2, 5}
    assert servers.cpu_list("") is None
    assert os.getpid() in servers.process_tree(os.getpid())
    assert servers.cpu_seconds([os.getpid()]) > 0
    assert servers.cpu_seconds([2**22 + 12345]) == 0  # gone processes count for nothing


class _ScriptedServer:
    """A server whose process-tree CPU seconds follow a script, one value per reading."""

    measurable = True

    def __init__(self, readings: list[float]) -> None:
        self.readings = readings
        self.reads = 0

    def cpu_seconds(self) -> float:
        value = self.readings[min(self.reads, len(self.readings) - 1)]
        self.reads += 1
        return value


def test_waiting_for_idle_servers_lasts_until_cpu_stops_growing():
    # Busy for three windows (a backlog being served), then flat.
    busy = _ScriptedServer([0.0, 0.1, 0.2, 0.3, 0.3])
    idle = _ScriptedServer([5.0])  # another server on the same CPU, idle throughout
    waited = servers.wait_until_idle([busy, idle], window=0.01, timeout=5)  # type: ignore[list-item]
    assert busy.reads == 5 and 0.03 < waited < 1


def test_waiting_for_idle_servers_gives_up_at_the_timeout():
    forever = _ScriptedServer([float(n) for n in range(10_000)])
    waited = servers.wait_until_idle([forever], window=0.01, timeout=0.1)  # type: ignore[list-item]
    assert 0.1 <= waited < 1
    assert servers.wait_until_idle([], window=0.01) == 0.0


def test_compare_values_are_urls_or_commands():
    url = servers.command_spec("c", "http://127.0.0.1:5000")
    assert url.url == "http://127.0.0.1:5000" and url.command is None
    command = servers.command_spec("c", "gunicorn -b 127.0.0.1:{port} 'app:create()'")
    assert command.command == ["gunicorn", "-b", "127.0.0.1:{port}", "app:create()"]


def test_basic_header():
    header = runner.basic_header("a@b.c", "pw")
    assert base64.b64decode(header.split()[1]) == b"a@b.c:pw"


def measurement(server, role, target, connections, rps, **fields) -> Measurement:
    values = dict(
        server=server,
        role=role,
        target=target,
        label=target,
        connections=connections,
        rps=rps,
        p50_ms=1.0,
        p90_ms=2.0,
        p99_ms=fields.pop("p99_ms", 3.0),
        max_ms=4.0,
        errors=0,
        non2xx=0,
        requests=int(rps * 10),
        duration=10.0,
        cpu_ms_per_request=1000 / rps,
        statements=4,
        probe_status=200,
        response_bytes=100,
        generator="wrk",
        generator_cpu_share=0.05,
    )
    values.update(fields)
    return Measurement(**values)


def sample_results() -> list[Measurement]:
    return [
        measurement("quart-hello", "floor", "hello", 100, 1000.0),
        measurement("flasky", "app", "index", 100, 250.0, p99_ms=500.0),
        measurement("threaded", "compare", "index", 100, 125.0),
        measurement("book-gthread", "book", "index", 100, 14.0),
        measurement("book-sync", "book", "index", 100, 10.0),
        measurement("flasky", "app", "post", 100, 300.0),
        measurement("book-gthread", "book", "post", 100, 40.0),
        measurement("book-gthread", "book", "api-token", 100, 16.0),
        measurement("flasky", "app", "api-token", 100, 100.0),
        measurement("flasky", "app", "index", 1000, 240.0, errors=2),
    ]


def test_tables_give_ratios_to_floor_threaded_and_book():
    results = sample_results()
    summary = report.summary_table(results, 100)
    index_row = next(line for line in summary.splitlines() if line.startswith("| index"))
    assert "| 250 |" in index_row and "| 125 |" in index_row
    assert "0.25×" in index_row  # ÷ floor
    assert "2.00×" in index_row  # ÷ threaded
    assert "18×" in index_row  # ÷ the book's gthread server, measured in the same run
    assert "25×" in index_row  # ÷ its sync server
    assert "0.06×" in index_row  # CPU per request against the book's
    full = report.full_table(results)
    assert full.count("\n") == len(results) + 1
    assert "1.25×" in full  # p99 500 ms against c/rps = 400 ms


def test_targets_are_checked_against_the_book_measured_in_the_same_run():
    checks = {name: ok for name, ok, _ in report.target_checks(sample_results(), 100)}
    assert checks["/ at 100: ≥ 10× the book's req/s"]
    assert checks["/ at 100: ≤ 1/10 of the book's CPU"]
    assert not checks["/post/<most comments> at 100: ≥ 10× the book's req/s"]  # 7.5x
    assert not checks["API with a token at 100: ≥ 10× the book's req/s"]  # 6.25x
    assert "/user/<most posts> at 100: ≥ 10× the book's req/s" not in checks  # not measured
    assert checks["/post costs less CPU than /"]
    assert checks["/ ≥ 20 % of the bare-hello floor"]
    assert not checks["no errors at 1,000 connections"]
    assert checks["p99 at 100 connections ≤ 1.5× c/throughput"]


def test_results_round_trip_and_document_is_rewritten_between_markers(tmp_path):
    results = sample_results()
    path = tmp_path / "results.json"
    runner.save_results(path, results, {"date": "today"})
    loaded, meta = runner.load_results(path)
    assert loaded == results and meta == {"date": "today"}

    document = tmp_path / "benchmarks.md"
    document.write_text(
        f"# Title\n\nmethod\n\n{report.RESULTS_START}\nold\n{report.RESULTS_END}\ntail\n"
    )
    report.write_into(document, "new table", "unused")
    text = document.read_text()
    assert "old" not in text and "new table" in text
    assert text.startswith("# Title") and text.endswith("tail\n")
    # A second section (PostgreSQL) gets its own markers and leaves the first alone.
    report.write_into(document, "pg table", "unused", section="postgresql")
    report.write_into(document, "pg table 2", "unused", section="postgresql")
    text = document.read_text()
    assert "new table" in text and "pg table 2" in text and "pg table\n" not in text
    assert text.count(report.markers("postgresql")[0]) == 1


def test_a_cell_of_several_rounds_is_its_median_round_whole():
    rounds = [
        measurement("flasky", "app", "post", 10, rps, cpu_ms_per_request=cpu)
        for rps, cpu in [(480.0, 2.1), (590.0, 1.7), (410.0, 2.4)]
    ]
    cell = runner.median_round(rounds)
    assert (cell.rps, cell.cpu_ms_per_request) == (480.0, 2.1)  # one round's figures
    assert (cell.rounds, cell.rps_low, cell.rps_high) == (3, 410.0, 590.0)
    assert runner.median_round(rounds[:2]).rps == 480.0  # the lower middle
    assert runner.median_round(rounds[:1]) is rounds[0]
    assert "480 (410–590)" in report.full_table([cell])
    # Results saved before rounds existed still load, as one round each.
    data = {k: v for k, v in runner.asdict(rounds[0]).items() if k not in ("rounds",)}
    assert Measurement.from_dict(data).rounds == 1


def test_rounds_alternate_the_servers_and_keep_one_cell_each(monkeypatch):
    from types import SimpleNamespace

    def server(name: str, role: str) -> SimpleNamespace:
        return SimpleNamespace(
            name=name, spec=SimpleNamespace(role=role), base_url=f"http://{name}"
        )

    subjects = [server("flasky", "app"), server("book-sync", "book")]
    measured: list[str] = []
    monkeypatch.setattr(runner, "probe", lambda url, headers: runner.Probe(200, 1, 10))
    monkeypatch.setattr(runner, "wait_until_idle", lambda servers: None)

    def fake_measure(srv, target, connections, plan, headers, probed):
        measured.append(srv.name)
        return measurement(srv.name, srv.spec.role, target.name, connections, 100.0 + len(measured))

    monkeypatch.setattr(runner, "measure", fake_measure)
    plan = runner.Plan(connections=(10,), duration=1, warmup=0, rounds=3, target_names=("index",))
    targets = [runner.Target("index", "/", "/")]
    results = runner.run_matrix(subjects, targets, None, plan, log=lambda line: None)
    assert measured == ["flasky", "book-sync", "book-sync", "flasky", "flasky", "book-sync"]
    assert sorted((m.server, m.rounds) for m in results) == [("book-sync", 3), ("flasky", 3)]


def test_plots_are_written_when_matplotlib_is_there(tmp_path):
    pytest.importorskip("matplotlib")
    written = report.plot(sample_results(), tmp_path)
    assert {p.name for p in written} == {"index.png", "post.png", "api-token.png"}
    prefixed = report.plot(sample_results(), tmp_path, prefix="postgresql-")
    assert {p.name for p in prefixed} == {
        "postgresql-index.png",
        "postgresql-post.png",
        "postgresql-api-token.png",
    }
    assert all(Path(p).read_bytes()[:4] == b"\x89PNG" for p in written)
