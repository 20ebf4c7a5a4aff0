"""`flasky bench`: seed the data set, run the comparison, regenerate docs/benchmarks.md."""

from __future__ import annotations

import asyncio
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from flasky.config import ROOT

DEFAULT_DATABASE_URL = f"sqlite:///{ROOT / 'bench.sqlite'}"
DOCS = ROOT / "docs"
# Rounds per cell of the full comparison: this machine's speed drifts by tens of percent
# from one minute to the next, and a ratio of two cells measured minutes apart carried
# that drift; the median of three alternating rounds mostly does not.
ALL_ROUNDS = 3


# The load generator: wrk when installed ("auto"), else the in-repo asyncio one.
generator_option = click.option(
    "--generator", default="auto", type=click.Choice(["auto", "wrk", "asyncio"]), show_default=True
)


def _connections(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise click.BadParameter("a comma-separated list of numbers, e.g. 1,10,100,1000") from exc
    if not values or min(values) < 1:
        raise click.BadParameter("connection counts must be positive")
    return values


def _default_cpu() -> str:
    """Pin the server to the last CPU and leave the others to the load generator."""
    cpus = sorted(os.sched_getaffinity(0))
    return str(cpus[-1]) if len(cpus) > 1 else ""


def machine_description() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} CPUs {model}, Python {platform.python_version()}, {system}"


@click.group()
def bench() -> None:
    """Benchmark the app against a bare-hello floor and a threaded server."""


@bench.command()
@click.option(
    "--database-url", default=DEFAULT_DATABASE_URL, show_default=True, envvar="BENCH_DATABASE_URL"
)
@click.option("--users", default=None, type=int, help="[default: 100; --large: 1000]")
@click.option("--posts", default=None, type=int, help="[default: 2000; --large: 100000]")
@click.option("--comments", default=None, type=int, help="[default: 5000; --large: 100000]")
@click.option(
    "--large",
    is_flag=True,
    help="the search benchmark's data set: 1,000 users, 100,000 posts, 100,000 comments, "
    "with rare words (--search-words)",
)
@click.option(
    "--search-words",
    is_flag=True,
    help="half the posts also name one of 5,000 made-up words (each in ~10 of 100,000 posts)",
)
@click.option("--seed", "seed_value", default=None, type=int, help="random seed (fixed by default)")
@click.option(
    "--hash-method",
    default="scrypt",
    show_default=True,
    help="password hash of the bench accounts (the production default is scrypt)",
)
def seed(
    database_url: str,
    users: int | None,
    posts: int | None,
    comments: int | None,
    large: bool,
    search_words: bool,
    seed_value: int | None,
    hash_method: str,
) -> None:
    """Recreate the schema and insert the deterministic, skewed data set."""
    from flasky_bench.seed import LARGE, SEED, seed_database

    sizes = LARGE if large else {"users": 100, "posts": 2000, "comments": 5000}
    users = sizes["users"] if users is None else users
    posts = sizes["posts"] if posts is None else posts
    comments = sizes["comments"] if comments is None else comments
    started = time.perf_counter()
    landmarks = asyncio.run(
        seed_database(
            database_url,
            users=users,
            posts=posts,
            comments=comments,
            seed=SEED if seed_value is None else seed_value,
            hash_method=hash_method,
            search_words=search_words or large,
        )
    )
    click.echo(
        f"seeded {database_url} in {time.perf_counter() - started:.1f}s: "
        f"{users} users, {posts} posts, "
        f"{comments} comments; most posts: {landmarks.top_author} ({landmarks.top_author_posts}); "
        f"most comments: post {landmarks.top_post_id} ({landmarks.top_post_comments}); "
        f"login {landmarks.bench_email}"
    )


@bench.command()
@click.option(
    "--database-url", default=DEFAULT_DATABASE_URL, show_default=True, envvar="BENCH_DATABASE_URL"
)
@click.option(
    "--workers", default=1, show_default=True, help="Hypercorn (and gunicorn) worker processes"
)
@click.option(
    "--worker-class", default="uvloop", show_default=True, type=click.Choice(["asyncio", "uvloop"])
)
@click.option(
    "--cpu",
    default=_default_cpu,
    show_default="the last CPU",
    help="pin the servers to these CPUs (e.g. 1 or 0-1; empty: no pinning)",
)
@click.option(
    "--threads", default=8, show_default=True, help="threads of the threaded comparison server"
)
@click.option("--connections", default="1,10,100,1000", show_default=True)
@click.option("--duration", default=10.0, show_default=True, help="seconds per measurement")
@click.option(
    "--rounds",
    default=None,
    type=click.IntRange(min=1),
    help="measure each cell this many times, the servers alternating, and keep each cell's "
    "median round  [default: 3 with --all, else 1]",
)
@click.option(
    "--warmup", default=2.0, show_default=True, help="seconds of warm-up per server and page"
)
@click.option(
    "--targets", default="", help="comma-separated subset of index,user,post,api-token,api-password"
)
@click.option(
    "--compare",
    "compare",
    multiple=True,
    help="'threaded' (the bench's Flask + gunicorn gthread server), "
    "a command with {port}, or a URL",
)
@click.option(
    "--floor/--no-floor", default=True, show_default=True, help="measure the bare hello floors"
)
@generator_option
@click.option(
    "--output",
    default=str(ROOT / "bench-results"),
    show_default=True,
    help="directory for results.json, results.md and plots; docs/ updates docs/benchmarks.md",
)
@click.option(
    "--slow-io-database-url",
    default="",
    envvar="BENCH_SLOW_IO_DATABASE_URL",
    help="database for scenario (b), e.g. PostgreSQL (default: --database-url)",
)
@click.option(
    "--matrix/--no-matrix",
    default=True,
    help="run the main matrix (--no-matrix: scenarios only, the matrix kept from results.json)",
)
@click.option(
    "--scenarios/--no-scenarios",
    default=False,
    help="also run the scenarios where async should matter (idle connections, slow I/O, ...)",
)
@click.option(
    "--all",
    "run_all",
    is_flag=True,
    help="the full comparison: --compare threaded --scenarios --output docs/",
)
@click.option(
    "--book",
    default="",
    envvar="BENCH_BOOK",
    type=click.Path(file_okay=False),
    help="a checkout of the book's app (miguelgrinberg/flasky): measured in the same run",
)
@click.option(
    "--book-threads", default=16, show_default=True, help="threads of the book's gthread server"
)
@click.option(
    "--book-venv",
    default=str(ROOT / "bench-results" / "book-venv"),
    show_default=True,
    help="the book's own virtualenv (created once)",
)
@click.option(
    "--postgresql-url",
    default="postgresql://postgres@127.0.0.1:5432/flasky_bench",
    show_default=True,
    envvar="BENCH_POSTGRESQL_URL",
    help="with --all: the PostgreSQL database of the second matrix (created if missing)",
)
@click.option(
    "--smoke",
    is_flag=True,
    help="a seconds-long check for CI: tiny data set, 1 s per cell, never fails on slowness",
)
def run(**options: Any) -> None:
    """Serve the app with Hypercorn and measure it (and the comparisons) under load."""
    if options["run_all"]:
        options["compare"] = tuple(options["compare"]) or ("threaded",)
        options["scenarios"] = True
        if options["rounds"] is None:
            options["rounds"] = ALL_ROUNDS
        if options["output"] == str(ROOT / "bench-results"):
            options["output"] = str(DOCS)
    if options["smoke"]:
        sys.exit(run_smoke(options))
    execute(options)
    if options["run_all"] and options["postgresql_url"]:
        # The same matrix on PostgreSQL, into its own section of the document; the
        # scenarios (one of them on PostgreSQL already) are not run twice.
        from flasky_bench.seed import ensure_database

        asyncio.run(ensure_database(options["postgresql_url"]))
        execute(
            dict(
                options,
                database_url=options["postgresql_url"],
                scenarios=False,
                section="postgresql",
            )
        )
    if options["scenarios"]:
        # The streams scenario (flasky bench streams) with its defaults, into its own section.
        click.get_current_context().invoke(
            streams_command,
            database_url=options["database_url"],
            postgresql_url=options["postgresql_url"],
            cpu=options["cpu"],
            worker_class=options["worker_class"],
            threads=options["threads"],
            duration=options["duration"],
            generator=options["generator"],
            output=options["output"],
        )


def execute(options: dict[str, Any]) -> list[Any]:
    from flasky_bench.loadgen import wrk_available
    from flasky_bench.runner import Plan, now_iso, run_matrix, save_results, targets_for
    from flasky_bench.seed import find_landmarks, seed_database
    from flasky_bench.servers import (
        RunningServer,
        ServerSpec,
        app_env,
        command_spec,
        cpu_list,
        generator_cpus,
        gunicorn_command,
        hypercorn_command,
    )

    database_url = options["database_url"]
    try:
        landmarks = asyncio.run(find_landmarks(database_url))
    except Exception as exc:  # noqa: BLE001 - any failure here means "not seeded yet"
        click.echo(
            f"no benchmark data in {database_url} ({exc.__class__.__name__}); seeding it first"
        )
        landmarks = asyncio.run(seed_database(database_url))

    server_cpus = cpu_list(options["cpu"])
    output = Path(options["output"])
    to_docs = output.resolve() == DOCS.resolve()
    images_dir = output / "bench" if to_docs else output
    log_dir = (ROOT / "bench-results" / "logs") if to_docs else output / "logs"
    workers, worker_class = options["workers"], options["worker_class"]
    specs = [
        ServerSpec(
            "flasky",
            hypercorn_command("flasky_bench.asgi:app", workers=workers, worker_class=worker_class),
            env=app_env(database_url),
            role="app",
        )
    ]
    if options["floor"]:
        specs.append(
            ServerSpec(
                "quart-hello",
                hypercorn_command(
                    "flasky_bench.hello:quart_app", workers=workers, worker_class=worker_class
                ),
                role="floor",
            )
        )
        specs.append(
            ServerSpec(
                "asgi-hello",
                hypercorn_command(
                    "flasky_bench.hello:asgi_app", workers=workers, worker_class=worker_class
                ),
                role="context",
            )
        )
    for index, value in enumerate(options["compare"]):
        if value == "threaded":
            specs.append(
                ServerSpec(
                    "threaded",
                    gunicorn_command(
                        "flasky_bench.threaded:create_app()",
                        workers=workers,
                        threads=options["threads"],
                    ),
                    env=app_env(database_url, {"FLASKY_BENCH_THREADS": str(options["threads"])}),
                    role="compare",
                )
            )
        else:
            specs.append(command_spec(f"compare{index + 1}", value))
    if options.get("book"):
        specs += _book_specs(options, database_url)

    plan = Plan(
        connections=_connections(options["connections"]),
        duration=options["duration"],
        rounds=options.get("rounds") or 1,
        warmup=options["warmup"],
        generator=options["generator"],
        generator_cpus=generator_cpus(server_cpus),
        target_names=tuple(t for t in options["targets"].split(",") if t) or None,
    )
    generator = options["generator"]
    if generator == "auto":
        generator = "wrk" if wrk_available() else "asyncio (in-repo)"
    meta = {
        "command": "flasky bench run " + " ".join(sys.argv[3:])
        if sys.argv[1:3] == ["bench", "run"]
        else "flasky bench run",
        "date": now_iso(),
        "machine": machine_description(),
        "database": _describe_database(database_url),
        "server": f"Hypercorn, {workers} worker(s), {worker_class}, "
        f"pinned to CPU {options['cpu'] or 'none'}; "
        f"production config, FLASKY_RATE_LIMITS=off",
        "compare": ", ".join(
            "threaded = Flask + blocking SQLAlchemy on gunicorn gthread, "
            f"{workers} worker(s) x {options['threads']} threads"
            if v == "threaded"
            else v
            for v in options["compare"]
        ),
        "book": f"the book's app ({options['book']}) on gunicorn, 1 worker: gthread x "
        f"{options['book_threads']} threads and sync; Flask 2.0, SQLAlchemy 1.4, "
        + ("psycopg2" if not database_url.startswith("sqlite") else "sqlite3")
        if options.get("book")
        else "",
        "floor": "bare Quart hello (floor, `÷ floor`) and a bare ASGI callable, "
        "same Hypercorn settings"
        if options["floor"]
        else "",
        "generator": f"{generator}, on CPU(s) "
        f"{sorted(plan.generator_cpus) if plan.generator_cpus else 'any'}",
        "duration": f"{plan.duration:g} s (+{plan.warmup:g} s warm-up per server and page)",
        "rounds": (
            f"{plan.rounds}, the servers in alternating order; each cell is its median round "
            "(by req/s), the range of the rounds in the last table"
            if plan.rounds > 1
            else ""
        ),
        "data": f"most posts: {landmarks.top_author_posts} ({landmarks.top_author}); "
        "most comments: "
        f"{landmarks.top_post_comments} (post {landmarks.top_post_id})",
    }

    section = options.get("section", "")
    results_name = f"results-{section}.json" if section else "results.json"
    results_path = (images_dir if to_docs else output) / results_name
    if options.get("matrix", True):
        servers = [
            RunningServer(spec, server_cpus if spec.command else None, log_dir) for spec in specs
        ]
        try:
            for server in servers:
                server.start()
                click.echo(f"started {server.name} at {server.base_url}")
            results = run_matrix(servers, targets_for(landmarks), landmarks, plan, log=click.echo)
        finally:
            for server in servers:
                server.stop()
    else:
        from flasky_bench.runner import load_results

        results, meta = load_results(results_path) if results_path.exists() else ([], meta)

    scenarios_md = ""
    scenario_results: list[Any] = []
    if options.get("scenarios"):
        from flasky_bench import scenarios

        scenario_results = scenarios.run_all(options, landmarks, log=click.echo)
        scenarios_md = scenarios.markdown(scenario_results)

    output.mkdir(parents=True, exist_ok=True)
    images_dir.mkdir(parents=True, exist_ok=True)
    meta["scenarios"] = [s.to_dict() for s in scenario_results]
    save_results(results_path, results, meta)
    meta["section"] = section
    write_report(results, meta, output, scenarios_md)
    click.echo(f"results: {results_path}")
    return results


def _book_specs(options: dict[str, Any], database_url: str) -> list[Any]:
    """The book's app on its own copy of the data set, sync and gthread."""
    from flasky_bench import book
    from flasky_bench.seed import ensure_database

    checkout = book.check_checkout(Path(options["book"]))
    python = book.ensure_venv(Path(options["book_venv"]), log=click.echo)
    book_url = book.database_beside(database_url)
    asyncio.run(ensure_database(book_url))
    book.create_schema(python, checkout, book_url)
    asyncio.run(book.seed_book(book_url))
    click.echo(f"book: seeded {book_url}")
    return [
        book.server_spec(
            "book-gthread",
            python,
            checkout,
            book_url,
            worker_class="gthread",
            threads=options["book_threads"],
        ),
        book.server_spec("book-sync", python, checkout, book_url, worker_class="sync", threads=1),
    ]


def _describe_database(url: str) -> str:
    if url.startswith("sqlite"):
        return "SQLite (aiosqlite for the app, sqlite3 for the threaded server), WAL"
    return (
        "PostgreSQL (asyncpg for the app, psycopg 3 for the threaded server), " + url.split("@")[-1]
    )


def write_report(
    results: list[Any], meta: dict[str, Any], output: Path, scenarios_md: str = ""
) -> Path:
    from flasky_bench import report

    to_docs = output.resolve() == DOCS.resolve()
    images_dir = output / "bench" if to_docs else output
    section = meta.get("section", "")
    images = report.plot(results, images_dir, prefix=f"{section}-" if section else "")
    relative = [str(p.relative_to(output)) for p in images]
    generated = report.results_markdown(results, meta, relative, scenarios_md)
    if to_docs:
        document = output / "benchmarks.md"
        report.write_into(document, generated, DOCS_TEMPLATE, section=section)
    else:
        document = output / (f"results-{section}.md" if section else "results.md")
        document.write_text(generated)
    click.echo(
        f"report: {document}"
        + (f" (+{len(images)} plots)" if images else " (no plots: install '.[bench]')")
    )
    return document


@bench.command("report")
@click.option(
    "--results", "results_path", default=str(DOCS / "bench" / "results.json"), show_default=True
)
@click.option("--output", default=str(DOCS), show_default=True)
def report_command(results_path: str, output: str) -> None:
    """Rebuild the Markdown and plots from a saved results.json, without measuring again."""
    from flasky_bench.runner import load_results

    results, meta = load_results(results_path)
    if Path(results_path).name.startswith("results-"):
        meta.setdefault("section", Path(results_path).stem.removeprefix("results-"))
    scenarios_md = ""
    if meta.get("scenarios"):
        from flasky_bench import scenarios

        scenarios_md = scenarios.markdown(
            [scenarios.ScenarioResult.from_dict(s) for s in meta["scenarios"]]
        )
    write_report(results, meta, Path(output), scenarios_md)


@bench.command()
@click.option("--cpu", default=_default_cpu, show_default="the last CPU")
@click.option("--duration", default=5.0, show_default=True)
@generator_option
def headroom(cpu: str, duration: float, generator: str) -> None:
    """How fast the load generator can go: against the bare ASGI hello, with its own CPU share."""
    from flasky_bench.loadgen import run_load
    from flasky_bench.servers import (
        RunningServer,
        ServerSpec,
        cpu_list,
        generator_cpus,
        hypercorn_command,
    )

    cpus = cpu_list(cpu)
    server = RunningServer(
        ServerSpec(
            "asgi-hello",
            hypercorn_command("flasky_bench.hello:asgi_app", workers=1, worker_class="uvloop"),
        ),
        cpus,
        ROOT / "bench-results" / "logs",
    )
    server.start()
    try:
        gen_cpus = generator_cpus(cpus)
        for connections in (10, 100):
            before = server.cpu_seconds()
            result = run_load(
                server.base_url + "/",
                generator=generator,
                connections=connections,
                duration=duration,
                cpus=gen_cpus,
            )
            server_share = (server.cpu_seconds() - before) / result.duration
            gen_share = result.generator_cpu_s / (
                result.duration * (len(gen_cpus) if gen_cpus else 1)
            )
            click.echo(
                f"{result.generator}: c={connections}: {result.rps:,.0f} req/s; "
                f"server CPU {server_share:.0%}, "
                f"generator CPU {gen_share:.0%}"
            )
    finally:
        server.stop()


def run_smoke(options: dict[str, Any]) -> int:
    """Seconds-long: tiny data set, every page once under light load, no timing asserted.

    Fails (exit 1) only when a server does not start or a page errors (5xx, resets);
    slowness never fails it.
    """
    with tempfile.TemporaryDirectory(prefix="flasky-bench-smoke-") as tmp:
        database_url = options["database_url"]
        if database_url == DEFAULT_DATABASE_URL:
            database_url = f"sqlite:///{tmp}/smoke.sqlite"
        from flasky_bench.seed import seed_database

        asyncio.run(
            seed_database(
                database_url, users=10, posts=60, comments=120, hash_method="pbkdf2:sha256:1000"
            )
        )
        smoke = dict(options)
        smoke.update(
            database_url=database_url,
            connections="1,10",
            duration=1.0,
            warmup=0.0,
            compare=tuple(options["compare"]) or _threaded_if_installed(),
            scenarios=False,
            output=options["output"] if options["output"] != str(ROOT / "bench-results") else tmp,
        )
        try:
            results = execute(smoke)
        except Exception as exc:  # noqa: BLE001 - reported as the smoke's failure
            click.echo(f"bench smoke FAILED: {exc}", err=True)
            return 1
    broken = [m for m in results if m.errors or (m.probe_status or 0) >= 500 or m.requests == 0]
    for m in broken:
        click.echo(
            f"bench smoke: {m.server} {m.target}: status {m.probe_status}, {m.errors} errors, "
            f"{m.requests} requests",
            err=True,
        )
    click.echo(f"bench smoke: {len(results)} measurements, {len(broken)} broken")
    return 1 if broken else 0


def _threaded_if_installed() -> tuple[str, ...]:
    import importlib.util

    return ("threaded",) if importlib.util.find_spec("gunicorn") else ()


DOCS_TEMPLATE = """# Benchmarks

Results below are regenerated by `flasky bench run --all` (see docs/benchmarks.md's
method section in the repository).
"""


@bench.command("streams")
@click.option(
    "--database-url", default=DEFAULT_DATABASE_URL, show_default=True, envvar="BENCH_DATABASE_URL"
)
@click.option(
    "--subscribers",
    default="1000,10000",
    show_default=True,
    help="streams opened in these steps; one fan-out measured at each",
)
@click.option("--rounds", default=5, show_default=True, help="comments fanned out per step")
@click.option("--duration", default=10.0, show_default=True, help="seconds per page-load run")
@click.option(
    "--open-rate",
    default=100.0,
    show_default=True,
    help="streams opened per second the wait allows (plus 10 s)",
)
@click.option("--cpu", default=_default_cpu, show_default="the last CPU")
@click.option(
    "--worker-class", default="uvloop", show_default=True, type=click.Choice(["asyncio", "uvloop"])
)
@click.option("--threads", default=8, show_default=True, help="threads of the threaded twin")
@click.option("--threaded/--no-threaded", default=True, show_default=True)
@click.option(
    "--threaded-subscribers",
    default=1000,
    show_default=True,
    help="streams attempted on the threaded twin",
)
@click.option(
    "--threaded-wait", default=10.0, show_default=True, help="seconds its streams may take to open"
)
@click.option(
    "--postgresql-url",
    default="postgresql://postgres@127.0.0.1:5432/flasky_bench",
    show_default=True,
    envvar="BENCH_POSTGRESQL_URL",
    help="for the two-worker measurement ('' skips it)",
)
@click.option("--cross-streams", default=200, show_default=True)
@click.option("--sends", default=200, show_default=True, help="messages sent across workers")
@generator_option
@click.option(
    "--output",
    default=str(ROOT / "bench-results"),
    show_default=True,
    help="directory for results-streams.json and the plot; docs/ updates docs/benchmarks.md",
)
def streams_command(**options: Any) -> None:
    """Server-Sent Events: streams one worker holds, fan-out and cross-worker delays."""
    from flasky_bench import streams

    results = streams.run_streams(options, log=click.echo)
    streams.write(results, Path(options["output"]))
    from flasky_bench.streams_report import aims

    for aim, measured, ok in aims(results):
        verdict = "-" if ok is None else ("met" if ok else "NOT MET")
        click.echo(f"aim: {aim}: {measured} ({verdict})")


@bench.command("search")
@click.option(
    "--database-url",
    "database_urls",
    multiple=True,
    help="a database seeded with `flasky bench seed --large` (repeat for SQLite and "
    "PostgreSQL) [default: BENCH_DATABASE_URL or the bench's SQLite file]",
)
@click.option(
    "--cpu", default=_default_cpu, show_default="the last CPU", help="pin the one worker here"
)
@click.option("--connections", default=10, show_default=True)
@click.option("--duration", default=10.0, show_default=True, help="seconds per measurement")
@click.option("--warmup", default=2.0, show_default=True)
@generator_option
@click.option(
    "--worker-class", default="uvloop", show_default=True, type=click.Choice(["asyncio", "uvloop"])
)
@click.option("--output", default=str(ROOT / "bench-results"), show_default=True)
@click.option(
    "--docs", is_flag=True, help="also write the table into docs/benchmarks.md (Search section)"
)
def search_command(
    database_urls: tuple[str, ...],
    cpu: str,
    connections: int,
    duration: float,
    warmup: float,
    generator: str,
    worker_class: str,
    output: str,
    docs: bool,
) -> None:
    """Search under load: p50/p99 of a common word, a rare word and a phrase on one pinned
    worker, and `/` with and without a client searching beside it."""
    import json
    import os

    from flasky_bench.search import markdown, run_search

    urls = list(database_urls) or [os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)]
    results = run_search(
        urls,
        cpu=cpu,
        connections=connections,
        duration=duration,
        warmup=warmup,
        generator=generator,
        worker_class=worker_class,
        log=click.echo,
        log_dir=Path(output) / "logs",
    )
    table = markdown(results, connections)
    Path(output).mkdir(parents=True, exist_ok=True)
    (Path(output) / "search.json").write_text(
        json.dumps(
            {"machine": machine_description(), "results": [r.to_dict() for r in results]},
            indent=2,
        )
    )
    (Path(output) / "search.md").write_text(table + "\n")
    click.echo(table)
    if docs:
        from flasky_bench.report import write_into
        from flasky_bench.runner import now_iso

        measured = (
            f"Measured {now_iso()} on {machine_description()}; one Hypercorn worker "
            f"({worker_class}) pinned to CPU {cpu or 'none'}, {connections} clients, "
            f"{duration:g} s per row."
        )
        write_into(DOCS / "benchmarks.md", f"{measured}\n\n{table}", "", "search")
