"""The `flasky` command: deploy (twice, on an empty database), fake data, run, profile, shell, test.

Commands run in-process through click's runner (they start their own event loops, so these
tests are synchronous), or as the real console script in a subprocess.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

import flasky.hardening  # noqa: F401  (its file is touched to restart a server)
from flasky import create_app, migrations, security
from flasky.cli import _absolute_if_path, _hypercorn_config, cli
from flasky.config import ROOT, async_database_url
from flasky.db import get_database
from flasky.models import Comment, Follow, Post, Role, User
from flasky.models.post import count_words
from flasky.models.user import USERNAME_PATTERN
from tests.db_helpers import drop_everything

FLASKY = Path(sys.executable).with_name("flasky")
USERNAME_RE = re.compile(USERNAME_PATTERN)


@pytest.fixture
def target_url(tmp_path) -> str:
    """An empty database for the CLI to work on (a fresh SQLite file, or TEST_DATABASE_URL)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path / 'cli.sqlite'}"
        return
    asyncio.run(drop_everything(async_database_url(url)))
    yield url
    asyncio.run(drop_everything(async_database_url(url)))


@pytest.fixture
def flasky(target_url):
    """Invoke `flasky ARGS` with the testing config on the target database."""
    runner = CliRunner()
    env = {"FLASKY_CONFIG": "testing", "TEST_DATABASE_URL": target_url}

    def invoke(*args: str, expect: int = 0):
        result = runner.invoke(cli, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == expect, result.output
        return result

    return invoke


def query(url: str, *statements):  # noqa: ANN002, ANN201
    """Run SELECTs on the target database through a short-lived app engine."""

    async def run():  # noqa: ANN202
        app = create_app("testing")
        app.config["SQLALCHEMY_DATABASE_URL"] = async_database_url(url)
        database = get_database(app)
        async with database.running(), database.session() as session:
            return [(await session.execute(s)).all() for s in statements]

    return asyncio.run(run())


def scalar_counts(url: str, *models) -> list[int]:  # noqa: ANN002
    rows = query(url, *(select(func.count()).select_from(m) for m in models))
    return [r[0][0] for r in rows]


# -- deploy ---------------------------------------------------------------------------------


def test_deploy_twice_on_an_empty_database(flasky, target_url):
    first = flasky("deploy")
    assert f"-> {migrations.head_revision()}" in first.output
    assert "Created the roles User, Moderator, Administrator." in first.output
    second = flasky("deploy")
    assert "newest revision" in second.output
    assert "The roles are up to date." in second.output
    assert "Created" not in second.output
    assert asyncio.run(migrations.current_revision(target_url)) == migrations.head_revision()
    assert asyncio.run(migrations.schema_differences(async_database_url(target_url))) == []
    [roles] = query(target_url, select(Role.name, Role.default).order_by(Role.name))
    assert roles == [("Administrator", False), ("Moderator", False), ("User", True)]


def test_deploy_repairs_roles_and_self_follows(flasky, target_url):
    flasky("deploy")
    flasky("fake", "users", "3", "--seed", "1")

    async def damage() -> None:
        app = create_app("testing")
        app.config["SQLALCHEMY_DATABASE_URL"] = async_database_url(target_url)
        database = get_database(app)
        async with database.running(), database.session() as session:
            await session.execute(text("DELETE FROM follows"))
            await session.execute(text("UPDATE roles SET permissions = 0"))
            await session.commit()

    asyncio.run(damage())
    result = flasky("deploy")
    assert "Added 3 missing self-follows." in result.output
    assert "Updated the permissions of the roles User, Moderator, Administrator." in result.output
    [follows, roles] = query(
        target_url,
        select(Follow.follower_id, Follow.followed_id),
        select(Role.name, Role.permissions).order_by(Role.permissions),
    )
    assert len(follows) == 3 and all(a == b for a, b in follows)
    assert [p for _, p in roles] == [7, 15, 31]
    assert "self-follows" not in flasky("deploy").output


def test_users_list_and_promote(flasky, target_url):
    flasky("deploy")
    assert "No accounts yet." in flasky("users", "list").output
    flasky("fake", "users", "2", "--seed", "3")
    [[(email, username)]] = query(
        target_url, select(User.email, User.username).order_by(User.id).limit(1)
    )
    listed = flasky("users", "list").output
    assert username in listed and email in listed and "User" in listed

    promoted = flasky("users", "promote", email.upper())
    assert f"{username} ({email.upper()}) is now Administrator (was User)." in promoted.output
    [[(role,)]] = query(
        target_url, select(Role.name).join(User, User.role_id == Role.id).where(User.email == email)
    )
    assert role == "Administrator"
    assert "Moderator" in flasky("users", "promote", email, "--role", "Moderator").output

    assert "No account" in flasky("users", "promote", "nobody@example.com", expect=1).output
    assert "No role 'Boss'" in flasky("users", "promote", email, "--role", "Boss", expect=1).output


def test_deploy_refuses_an_unversioned_database(flasky, target_url):
    async def create_all() -> None:
        from flasky.db import Base

        engine = migrations.migration_engine(target_url)
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        await engine.dispose()

    asyncio.run(create_all())
    result = flasky("deploy", expect=1)
    assert "alembic stamp head" in result.output


def test_deploy_as_console_script_with_production_config(target_url, tmp_path):
    env = dict(
        os.environ,
        FLASKY_CONFIG="production",
        SECRET_KEY="s" * 40,
        FLASKY_BASE_URL="https://blog.example.com",
        DATABASE_URL=target_url,
    )
    for _ in range(2):
        done = subprocess.run(
            [str(FLASKY), "deploy"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        # Only what concerns the user: no library logging (pool, migration runner).
        assert "INFO" not in done.stdout + done.stderr, done.stdout + done.stderr
    assert "newest revision" in done.stdout


def test_production_without_secret_key_is_a_one_line_error():
    env = {"FLASKY_CONFIG": "production", "SECRET_KEY": ""}
    result = CliRunner().invoke(cli, ["deploy"], env=env)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: SECRET_KEY")


# -- fake data ------------------------------------------------------------------------------


def test_fake_users_posts_comments(flasky, target_url):
    flasky("deploy")
    assert "Added 30 fake users." in flasky("fake", "users", "30", "--seed", "3").output
    assert "Added 40 fake posts." in flasky("fake", "posts", "40").output
    assert "Added 120 fake comments." in flasky("fake", "comments", "120").output
    assert scalar_counts(target_url, User, Follow, Post, Comment) == [30, 30, 40, 120]

    users, self_follows, late_comments = query(
        target_url,
        select(User.username, User.email, User.avatar_hash, User.confirmed, User.role_id),
        select(func.count()).select_from(Follow).where(Follow.follower_id == Follow.followed_id),
        select(func.count())
        .select_from(Comment)
        .join(Post, Post.id == Comment.post_id)
        .where(Comment.timestamp < Post.timestamp),
    )
    assert all(USERNAME_RE.match(name) for name, *_ in users)
    assert len({email for _, email, *_ in users}) == 30
    assert all(avatar and confirmed and role for _, _, avatar, confirmed, role in users)
    assert self_follows == [(30,)]
    assert late_comments == [(0,)]
    [counted] = query(target_url, select(Post.body_html, Post.word_count))
    assert all(words == count_words(html) > 0 for html, words in counted)


def test_fake_users_share_one_working_password(flasky, target_url):
    flasky("deploy")
    flasky("fake", "users", "5")
    [hashes] = query(target_url, select(User.password_hash).distinct())
    assert len(hashes) == 1
    assert security.check_password(hashes[0][0], "password")


def test_fake_users_are_reproducible_with_a_seed(flasky, target_url):
    flasky("deploy")
    flasky("fake", "users", "8", "--seed", "42")
    [first] = query(target_url, select(User.username).order_by(User.id))
    # The same seed again: the same names, so they are all taken and remade with suffixes.
    flasky("fake", "users", "8", "--seed", "42")
    [both] = query(target_url, select(User.username).order_by(User.id))
    assert both[:8] == first
    assert len({name for (name,) in both}) == 16


def test_large_counts_show_progress(flasky):
    flasky("deploy")
    result = flasky("fake", "users", "150")
    assert "Adding users" in result.output
    assert "Added 150 fake users." in result.output


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("posts", "no users yet"),
        ("comments", "no posts yet"),
        ("users", "no tables yet"),
        ("posts", "no tables yet"),
    ],
)
def test_fake_needs_what_comes_before(flasky, command, message):
    if message != "no tables yet":
        flasky("deploy")
    result = flasky("fake", command, "5", expect=1)
    assert message in result.output


def test_username_pattern_is_the_books():
    assert USERNAME_RE.match("john.doe_2")
    for bad in ("2john", "_john", "jo hn", "jo-hn", ""):
        assert not USERNAME_RE.match(bad)


# -- run, profile, shell, test --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_creates_the_development_database_and_serves_the_site(tmp_path):
    database = tmp_path / "dev.sqlite"
    port = free_port()
    env = dict(os.environ, FLASKY_CONFIG="development", DEV_DATABASE_URL=f"sqlite:///{database}")
    server = subprocess.Popen(
        [str(FLASKY), "run", "--bind", f"127.0.0.1:{port}"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        page = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    page = response.read().decode()
                break
            except OSError:
                time.sleep(0.3)
        assert page is not None, "the server did not answer"
        assert "Hello, Stranger!" in page
        assert database.exists()
    finally:
        server.send_signal(signal.SIGINT)
        try:
            output, _ = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
    assert "Creating the development database" in output
    url = async_database_url(f"sqlite:///{database}")
    assert asyncio.run(migrations.current_revision(url)) == migrations.head_revision()


def wait_for(condition, timeout: float = 60.0, what: str = "condition") -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()
    except OSError:
        return None


def test_development_run_is_one_worker_that_reloads(tmp_path):
    # A copy of the checkout's templates and settings (FLASKY_ROOT), so the test can edit a
    # template; the code is the installed package, whose module the test touches.
    import shutil

    root = tmp_path / "root"
    for name in ("templates", "static", "alembic"):
        shutil.copytree(ROOT / name, root / name)
    for name in ("alembic.ini", "hypercorn.toml"):
        shutil.copy(ROOT / name, root / name)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = tmp_path / "run.log"
    env = dict(
        os.environ,
        FLASKY_CONFIG="development",
        FLASKY_ROOT=str(root),
        DEV_DATABASE_URL=f"sqlite:///{tmp_path / 'dev.sqlite'}",
    )
    with log.open("w") as output:
        server = subprocess.Popen(
            [str(FLASKY), "run", "--bind", f"127.0.0.1:{port}"],
            cwd=tmp_path, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for(lambda: fetch(url) is not None, what="the server")
        assert log.read_text().count("Running on") == 1, log.read_text()

        template = root / "templates" / "main" / "index.html"
        template.write_text(template.read_text().replace("Hello,", "Howdy,"))
        assert "Howdy, Stranger!" in fetch(url)

        module = Path(sys.modules["flasky.hardening"].__file__)
        os.utime(module)
        wait_for(lambda: log.read_text().count("Running on") == 2, what="a restart")
        wait_for(lambda: fetch(url) is not None, what="the restarted server")
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_hypercorn_config_reads_the_toml_and_takes_overrides():
    config = _hypercorn_config((), None, None)
    assert config.bind == ["127.0.0.1:5000"]
    assert config.application_path == "flasky.asgi:app"
    config = _hypercorn_config(("0.0.0.0:8000",), 3, True)
    assert (config.bind, config.workers, config.use_reloader) == (["0.0.0.0:8000"], 3, True)


async def test_profiler_middleware_reports_each_request(tmp_path):
    import io

    from flasky.profiling import ProfilerMiddleware

    async def hello(scope, receive, send):  # noqa: ANN001
        await asyncio.sleep(0.01)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"hi"})

    stream = io.StringIO()
    profiled = ProfilerMiddleware(hello, length=3, profile_dir=tmp_path / "p", stream=stream)
    sent = []

    async def send(message):  # noqa: ANN001
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/user/john"}
    # Concurrent requests: each has a profiler of its own.
    await asyncio.gather(*(profiled(scope, None, send) for _ in range(2)))
    assert sent[-1]["body"] == b"hi"
    assert stream.getvalue().count("PATH: GET /user/john") == 2
    files = sorted((tmp_path / "p").iterdir())
    assert len(files) == 2
    assert all(re.match(r"[\d.]+\.GET\.user\.john\.\d+ms\.html$", f.name) for f in files)
    assert all("<html" in f.read_text().lower() for f in files)
    assert stream.getvalue().count("HTML report: ") == 2


async def test_profile_shows_the_view_its_queries_and_its_template(app):
    import io

    from flasky.profiling import ProfilerMiddleware

    stream = io.StringIO()
    # The first request compiles the templates: plenty of samples in the view and its parts.
    profiled = ProfilerMiddleware(app, length=400, stream=stream)
    transport = httpx.ASGITransport(app=profiled)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        for _ in range(3):
            response = await http.get("/")
            assert response.status_code == 200
    report = stream.getvalue()
    assert "index  flasky/main/views.py" in report
    assert "render_template" in report
    assert "flasky/queries/" in report  # the read layer
    # Library internals are folded away, not listed line by line.
    assert "frames hidden" in report


@pytest.fixture
def shell(flasky, target_url):
    """The shell's console on a deployed database, as `flasky shell --plain` builds it;
    what it would print to the terminal (results and tracebacks) is collected in .output."""
    from flasky.shell import AsyncConsole, BackgroundLoop, shell_namespace

    flasky("deploy")
    app = create_app("testing")
    app.config["SQLALCHEMY_DATABASE_URL"] = async_database_url(target_url)
    loop = BackgroundLoop(app)
    namespace = shell_namespace(app, loop)

    class Console(AsyncConsole):
        output: list[str] = []

        def write(self, data: str) -> None:
            self.output.append(data)

    console = Console(namespace, loop)
    console.app = app
    try:
        yield console
    finally:
        loop.run(namespace["session"].close())
        loop.run(get_database(app).stop())
        loop.close()


def test_shell_console_runs_top_level_await(shell):
    namespace = shell.locals
    shell.push("roles = await session.scalar(select(func.count(Role.id)))")
    shell.push("name = run(session.scalar(select(Role.name).where(Role.default)))")
    assert namespace["roles"] == 3
    assert namespace["name"] == "User"
    assert {"app", "db", "User", "Post", "Comment", "Follow", "Permission"} <= set(namespace)
    assert shell.output == []


def test_the_shell_banners_examples_work(shell, capsys):
    from flasky.shell import banner

    for line in [
        'u = await create_user(email="ann@example.com", username="ann", password="cat")',
        "session.add(Post(body='hello', author_id=u.id))",
        "await session.commit()",
    ]:
        shell.push(line)
    examples = [
        line.removeprefix(">>> ").split("  #")[0]
        for line in banner(shell.app).splitlines()
        if line.startswith(">>> ")
    ]
    assert len(examples) >= 5
    for example in examples:
        shell.push(example)
    assert shell.output == [], "".join(shell.output)
    shown = capsys.readouterr().out
    assert "(<Role 'User'>, True, False)" in shown
    assert "'ann'" in shown
    assert [post.body for post in shell.locals["posts"]] == ["hello"]


def test_rows_loaded_in_the_shell_reach_their_relations(shell):
    for line in [
        'u = await create_user(email="bo@example.com", username="bo", password="cat")',
        "p = Post(body='a post', author_id=u.id)",
        "session.add(p)",
        "await session.flush()",
        "session.add(Comment(body='a comment', author_id=u.id, post_id=p.id))",
        "await session.commit()",
        "session.expunge_all()",
        # The README's way of getting a user, then the book's checks on it.
        "u = await session.scalar(select(User).where(User.username == 'bo'))",
        "checks = (u.role.name, u.can(Permission.COMMENT), u.is_administrator())",
        "c = await session.scalar(select(Comment))",
        "chain = c.post.author.role.name",
        "by_email = (await load_user('BO@example.com ')).username",
        "comments = await u.awaitable_attrs.comments",
        "count = len(await comments[0].post.awaitable_attrs.comments)",
    ]:
        shell.push(line)
    assert shell.output == [], "".join(shell.output)
    assert shell.locals["checks"] == ("User", True, False)
    assert shell.locals["chain"] == "User"
    assert shell.locals["by_email"] == "bo"
    assert shell.locals["count"] == 1


def test_test_command_runs_pytest_with_coverage(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(
        "flasky.cli.subprocess.call", lambda cmd, cwd: calls.append((cmd, cwd)) or 0
    )
    test_file = tmp_path / "test_x.py"
    test_file.write_text("def test_x(): pass\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["test", "--coverage", "test_x.py::test_x", "-k", "x"])
    assert result.exit_code == 0, result.output
    [(command, cwd)] = calls
    assert command[:3] == [sys.executable, "-m", "pytest"]
    assert "--cov=flasky" in command and "--cov-branch" in command
    assert f"--cov-report=html:{ROOT / 'htmlcov'}" in command
    assert command[-3:] == [f"{test_file}::test_x", "-k", "x"]
    assert cwd == ROOT


def test_relative_paths_are_kept_only_for_existing_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text("")
    assert _absolute_if_path("a.py") == str(tmp_path / "a.py")
    assert _absolute_if_path("-x") == "-x"
    assert _absolute_if_path("missing.py") == "missing.py"
