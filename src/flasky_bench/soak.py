"""`flasky soak`: mixed traffic from many concurrent clients against a real Hypercorn, then an
audit of the database (issue 8, point 6).

Each client is a logged-in user that browses (home, profiles, posts), writes through the
pages (posts, comments, follow/unfollow, each a CSRF-protected form) and through the API
(token auth: list, read, create posts and comments). Every write the server acknowledged
(a redirect after a form, a 201 from the API) is remembered; when the time is up the server
is stopped with SIGTERM and the database is read back:

- every acknowledged post and comment is there, exactly once;
- every follow pair ends in the state of its last acknowledged follow/unfollow;
- no response was a 5xx and no request went unanswered.

The figures are printed; the exit status is 1 when anything was lost or failed.

    flasky soak                                   # 60 s on a fresh SQLite file
    flasky soak --database-url postgresql://…/scratch --reset --duration 30

It drives the production config through `flasky serve` (CSRF on, Secure cookies returned
by the client itself, as a browser behind a TLS proxy would). Rate limits are off, unless
--redis-url is given: then they are on and counted in that Redis, with limits far above
the soak's traffic, so every limited request makes its Redis round trips as in production
without being refused. Needs httpx (bench extra).

    flasky soak --database-url postgresql://…/scratch --reset --redis-url redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import click

from flasky.config import ROOT, async_database_url

PASSWORD = "soak-password"
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

# How often each action is picked (relative weights).
ACTIONS = {
    "view_home": 16,
    "view_profile": 8,
    "view_post": 12,
    "post": 8,
    "comment": 10,
    "follow": 8,
    "api_list": 8,
    "api_read": 6,
    "api_post": 8,
    "api_comment": 6,
}


@dataclass
class Figures:
    requests: Counter = field(default_factory=Counter)  # by action
    statuses: Counter = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    acked_posts: set[str] = field(default_factory=set)
    acked_comments: set[str] = field(default_factory=set)
    # (follower, followed) -> True when the last acknowledged action was a follow.
    follow_state: dict[tuple[int, int], bool] = field(default_factory=dict)


@dataclass
class SoakUser:
    id: int
    username: str
    email: str


class Client:
    """One browser-like user: its own cookies (Secure ones included) and CSRF token."""

    def __init__(self, http: Any, user: SoakUser, figures: Figures, run_id: str, n: int) -> None:
        self.http = http
        self.user = user
        self.figures = figures
        self.run_id = run_id
        self.n = n
        self.cookies: dict[str, str] = {}
        self.csrf = ""
        self.token = ""
        self.writes = 0

    def marker(self, kind: str) -> str:
        self.writes += 1
        return f"soak {self.run_id} {kind} c{self.n} #{self.writes}"

    async def request(self, action: str, method: str, path: str, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {})
        if self.cookies and "Authorization" not in headers:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        try:
            response = await self.http.request(method, path, headers=headers, **kwargs)
        except Exception as error:  # noqa: BLE001 - every failure to answer is a finding
            self.figures.transport_errors.append(f"{method} {path}: {type(error).__name__} {error}")
            return None
        self.figures.latencies.append(time.perf_counter() - started)
        self.figures.requests[action] += 1
        self.figures.statuses[response.status_code] += 1
        if response.status_code >= 500:
            self.figures.server_errors.append(f"{method} {path} -> {response.status_code}")
        for header in response.headers.get_list("set-cookie"):
            jar = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or morsel.value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response

    async def log_in(self) -> None:
        page = await self.request("login", "GET", "/auth/login")
        self.csrf = CSRF_INPUT.search(page.text).group(1)
        form = {"email": self.user.email, "password": PASSWORD, "csrf_token": self.csrf}
        response = await self.request("login", "POST", "/auth/login", data=form)
        if response is None or response.status_code != 302:
            raise RuntimeError(f"{self.user.email} could not log in")
        basic = {"Authorization": _basic(self.user.email, PASSWORD)}
        token = await self.request("api_token", "POST", "/api/v1/tokens/", headers=basic)
        self.token = token.json()["token"]
        # Logging in may start a new session: take the CSRF token the pages now carry.
        home = await self.request("view_home", "GET", "/")
        self.csrf = CSRF_INPUT.search(home.text).group(1)

    def api_headers(self) -> dict[str, str]:
        return {"Authorization": _basic(self.token, ""), "Accept": "application/json"}

    async def form_post(self, action: str, path: str, data: dict[str, str]) -> bool:
        response = await self.request(action, "POST", path, data={**data, "csrf_token": self.csrf})
        if response is None or response.status_code != 302:
            return False
        # Post/Redirect/Get, as a browser does (and it shows, so clears, the flash message).
        await self.request(action, "GET", response.headers["Location"])
        return True


def _basic(username: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


async def run_client(
    client: Client, users: list[SoakUser], post_ids: list[int], deadline: float, seed: int
) -> None:
    rng = random.Random(seed)
    names, weights = zip(*ACTIONS.items(), strict=True)
    figures = client.figures
    await client.log_in()
    while time.monotonic() < deadline:
        action = rng.choices(names, weights)[0]
        other = rng.choice(users)
        post_id = rng.choice(post_ids)
        if action == "view_home":
            await client.request(action, "GET", "/", params={"page": rng.randint(1, 3)})
        elif action == "view_profile":
            await client.request(action, "GET", f"/user/{other.username}")
        elif action == "view_post":
            await client.request(action, "GET", f"/post/{post_id}", params={"page": -1})
        elif action == "post":
            body = client.marker("post")
            if await client.form_post(action, "/", {"body": body}):
                figures.acked_posts.add(body)
        elif action == "comment":
            body = client.marker("comment")
            if await client.form_post(action, f"/post/{post_id}", {"body": body}):
                figures.acked_comments.add(body)
        elif action == "follow" and other.id != client.user.id:
            pair = (client.user.id, other.id)
            follow = not figures.follow_state.get(pair, False)
            verb = "follow" if follow else "unfollow"
            if await client.form_post(action, f"/{verb}/{other.username}", {}):
                figures.follow_state[pair] = follow
        elif action == "api_list":
            await client.request(
                action,
                "GET",
                "/api/v1/posts/",
                headers=client.api_headers(),
                params={"page": rng.randint(1, 3)},
            )
        elif action == "api_read":
            await client.request(
                action, "GET", f"/api/v1/posts/{post_id}", headers=client.api_headers()
            )
        elif action == "api_post":
            body = client.marker("api-post")
            response = await client.request(
                action, "POST", "/api/v1/posts/", headers=client.api_headers(), json={"body": body}
            )
            if response is not None and response.status_code == 201:
                figures.acked_posts.add(body)
                post_ids.append(int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1]))
        elif action == "api_comment":
            body = client.marker("api-comment")
            response = await client.request(
                action,
                "POST",
                f"/api/v1/posts/{post_id}/comments/",
                headers=client.api_headers(),
                json={"body": body},
            )
            if response is not None and response.status_code == 201:
                figures.acked_comments.add(body)


# -- the database ------------------------------------------------------------------------------


async def prepare_database(url: str, users: int, reset: bool) -> tuple[list[SoakUser], list[int]]:
    """Schema by migrations (as `flasky deploy`), then users who follow nobody and a few posts."""
    from sqlalchemy import func, select
    from werkzeug.security import generate_password_hash

    from flasky import create_app
    from flasky.db import get_database
    from flasky.deploy import deploy
    from flasky.models import Post, User
    from flasky.models.user import create_user

    app = create_app("testing")
    app.config["SQLALCHEMY_DATABASE_URL"] = async_database_url(url)
    if reset:
        await _drop_everything(url)
    await deploy(app)
    database = get_database(app)
    # One cheap hash for everyone: logging in is not what this measures.
    password_hash = generate_password_hash(PASSWORD, "pbkdf2:sha256:1000")
    async with app.app_context(), database.running(), database.session() as session:
        if await session.scalar(select(func.count()).select_from(User)):
            raise click.ClickException(
                "The database already has users; soak needs a scratch database (use --reset)."
            )
        made = []
        for n in range(users):
            user = await create_user(
                session,
                username=f"soak{n}",
                email=f"soak{n}@example.com",
                password_hash=password_hash,
                confirmed=True,
            )
            made.append(user)
        await session.flush()
        for user in made:
            for k in range(3):
                session.add(Post(body=f"seed post {k} by {user.username}", author_id=user.id))
        await session.commit()
        soak_users = [SoakUser(u.id, u.username, u.email) for u in made]
        post_ids = list((await session.scalars(select(Post.id))).all())
    return soak_users, post_ids


async def _drop_everything(url: str) -> None:
    from sqlalchemy import MetaData

    from flasky import migrations

    def drop(connection: Any) -> None:
        metadata = MetaData()
        metadata.reflect(connection)
        metadata.drop_all(connection)

    engine = migrations.migration_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(drop)
    finally:
        await engine.dispose()


async def audit(url: str, run_id: str) -> dict[str, Any]:
    from sqlalchemy import select

    from flasky import create_app
    from flasky.db import get_database
    from flasky.models import Comment, Follow, Post

    app = create_app("testing")
    app.config["SQLALCHEMY_DATABASE_URL"] = async_database_url(url)
    database = get_database(app)
    prefix = f"soak {run_id} %"
    async with database.running(), database.session() as session:
        posts = list((await session.scalars(select(Post.body).where(Post.body.like(prefix)))).all())
        comments = list(
            (await session.scalars(select(Comment.body).where(Comment.body.like(prefix)))).all()
        )
        follows = set(
            (await session.execute(select(Follow.follower_id, Follow.followed_id))).tuples()
        )
    return {"posts": posts, "comments": comments, "follows": follows}


# -- the server --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Far above what the soak's clients send, so no request is refused; every limit is counted.
SOAK_LIMIT = "1000000/minute"


def rate_limit_env(redis_url: str | None) -> dict[str, str]:
    if not redis_url:
        return {"FLASKY_RATE_LIMITS": "off"}
    from flasky.ratelimit import BUCKET_SETTINGS

    return {
        "FLASKY_RATE_LIMITS": "on",
        "REDIS_URL": redis_url,
        "FLASKY_REDIS_PREFIX": f"flasky-soak-{secrets.token_hex(4)}",
        **dict.fromkeys(BUCKET_SETTINGS.values(), SOAK_LIMIT),
    }


def start_server(
    url: str, workers: int, log_path: Path, redis_url: str | None = None
) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {
        **os.environ,
        "FLASKY_CONFIG": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "FLASKY_BASE_URL": f"http://127.0.0.1:{port}",
        "DATABASE_URL": url,
        "MAIL_BACKEND": "log",
        "LOG_TO": "",
        **rate_limit_env(redis_url),
    }
    env.pop("FLASKY_ADMIN", None)
    if not redis_url:
        env.pop("REDIS_URL", None)
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flasky.cli",
            "serve",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return process, f"http://127.0.0.1:{port}"


async def wait_ready(http: Any, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise click.ClickException(f"the server exited:\n{log_path.read_text()}")  # noqa: ASYNC240
        try:
            if (await http.get("/healthz")).status_code == 200:
                return
        except Exception:  # noqa: BLE001 - not listening yet
            pass
        await asyncio.sleep(0.2)
    raise click.ClickException("the server did not answer /healthz within 60 s")


# -- the run -----------------------------------------------------------------------------------


async def soak_run(
    url: str,
    duration: float,
    clients: int,
    users: int,
    workers: int,
    reset: bool,
    seed: int,
    log_path: Path,
    redis_url: str | None = None,
) -> bool:
    import httpx

    run_id = secrets.token_hex(4)
    # One client per user, so each user's follow/unfollow sequence has a known last state.
    users = max(users, clients)
    click.echo(f"soak {run_id}: preparing {_redact(url)} ({users} users)")
    soak_users, post_ids = await prepare_database(url, users, reset)
    process, base_url = start_server(url, workers, log_path, redis_url)
    figures = Figures()
    limits = httpx.Limits(max_connections=clients + 10, max_keepalive_connections=clients + 10)
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as http:
            await wait_ready(http, process, log_path)
            click.echo(
                f"soak {run_id}: {clients} clients for {duration:.0f} s against Hypercorn "
                f"({workers} worker{'s' if workers != 1 else ''}) at {base_url}, rate limits "
                + (f"counted in Redis {_redact(redis_url)}" if redis_url else "off")
            )
            started = time.monotonic()
            deadline = started + duration
            tasks = [
                run_client(
                    Client(http, soak_users[n % len(soak_users)], figures, run_id, n),
                    soak_users,
                    post_ids,
                    deadline,
                    seed + n,
                )
                for n in range(clients)
            ]
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            elapsed = time.monotonic() - started
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                figures.transport_errors.append(f"client failed: {outcome!r}")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    found = await audit(url, run_id)
    return report(figures, found, elapsed, clients, log_path, process.returncode)


def report(
    figures: Figures,
    found: dict[str, Any],
    elapsed: float,
    clients: int,
    log_path: Path,
    exit_code: int | None,
) -> bool:
    total = sum(figures.requests.values())
    posts, comments = Counter(found["posts"]), Counter(found["comments"])
    lost_posts = figures.acked_posts - set(posts)
    lost_comments = figures.acked_comments - set(comments)
    duplicates = [b for b, n in (posts + comments).items() if n > 1]
    wrong_follows = [
        pair
        for pair, following in figures.follow_state.items()
        if (pair in found["follows"]) != following
    ]
    log_text = log_path.read_text(errors="replace")
    server_tracebacks = log_text.count("Traceback (most recent call last)")
    latencies = sorted(figures.latencies) or [0.0]

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    click.echo("")
    click.echo(
        f"requests       {total} in {elapsed:.1f} s = {total / max(elapsed, 1e-9):.0f}/s "
        f"from {clients} clients"
    )
    click.echo(
        "by action      " + ", ".join(f"{k} {v}" for k, v in sorted(figures.requests.items()))
    )
    click.echo(
        "statuses       " + ", ".join(f"{k}: {v}" for k, v in sorted(figures.statuses.items()))
    )
    click.echo(
        f"latency ms     p50 {pct(0.5):.0f}  p95 {pct(0.95):.0f}  p99 {pct(0.99):.0f}  "
        f"max {latencies[-1] * 1000:.0f}  (mean {statistics.fmean(latencies) * 1000:.0f})"
    )
    click.echo(f"5xx            {len(figures.server_errors)}")
    click.echo(f"no answer      {len(figures.transport_errors)}")
    click.echo(
        f"posts          acknowledged {len(figures.acked_posts)}, found {len(posts)}, "
        f"lost {len(lost_posts)}"
    )
    click.echo(
        f"comments       acknowledged {len(figures.acked_comments)}, found {len(comments)}, "
        f"lost {len(lost_comments)}"
    )
    click.echo(
        f"follows        acknowledged pairs {len(figures.follow_state)}, "
        f"in another state {len(wrong_follows)}"
    )
    click.echo(f"duplicates     {len(duplicates)}")
    click.echo(
        f"server log     {server_tracebacks} tracebacks; exit code after SIGTERM {exit_code}"
    )
    for line in (figures.server_errors + figures.transport_errors)[:10]:
        click.echo(f"  ! {line}")
    ok = not (
        figures.server_errors
        or figures.transport_errors
        or lost_posts
        or lost_comments
        or duplicates
        or wrong_follows
        or server_tracebacks
        or exit_code != 0
        or total == 0
    )
    click.echo("soak passed: nothing lost, no 5xx" if ok else "SOAK FAILED")
    return ok


def _redact(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]+@", r"://\1:***@", url)


@click.command()
@click.option("--database-url", help="Database to soak (default: a new SQLite file).")
@click.option("--reset", is_flag=True, help="Drop every table of --database-url first.")
@click.option("--duration", default=60.0, show_default=True, help="Seconds of traffic.")
@click.option("--clients", default=50, show_default=True, help="Concurrent clients.")
@click.option("--users", default=25, show_default=True, help="Users the clients log in as.")
@click.option("--workers", default=2, show_default=True, help="Hypercorn worker processes.")
@click.option("--seed", default=1, show_default=True, help="Seed of the clients' choices.")
@click.option("--log", "log_file", type=click.Path(dir_okay=False), help="Server log file.")
@click.option(
    "--redis-url", help="Count rate limits in this Redis (limits on, far above the traffic)."
)
def soak(
    database_url: str | None,
    reset: bool,
    duration: float,
    clients: int,
    users: int,
    workers: int,
    seed: int,
    log_file: str | None,
    redis_url: str | None,
) -> None:
    """Mixed traffic against Hypercorn, then check that nothing acknowledged was lost."""
    with tempfile.TemporaryDirectory(prefix="flasky-soak-") as scratch:
        url = database_url or f"sqlite:///{Path(scratch) / 'soak.sqlite'}"
        log_path = Path(log_file) if log_file else Path(scratch) / "server.log"
        ok = asyncio.run(
            soak_run(url, duration, clients, users, workers, reset, seed, log_path, redis_url)
        )
        if not ok and not log_file:
            tail = "".join(log_path.read_text(errors="replace").splitlines(True)[-40:])
            click.echo(f"--- server log (last lines) ---\n{tail}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    soak(prog_name="python -m flasky_bench.soak")
