"""The threaded comparison server: the same pages on Flask (WSGI) with blocking SQLAlchemy.

Written for the benchmark, not taken from the book: it runs the same queries as a
careful async page would (eager author loads, grouped comment counts, bounded pages),
so a comparison with the async app isolates the concurrency model, not query quality.
Served by gunicorn's threaded worker (`gthread`); the pool holds one connection per
thread. Pages: `/`, `/user/<username>`, `/post/<id>`, and the API's `/api/v1/posts/`
and `/api/v1/tokens/` with the same token format and HTTP Basic rules as the app, and
`/api/v1/events` (Server-Sent Events): each stream holds its thread, polling the events
table, which is what a blocking server can do (one stream per thread).
"""

from __future__ import annotations

import base64
import math
import os
import socket
import time
from collections.abc import Iterator
from typing import Any

from flask import (
    Flask,
    Response,
    abort,
    g,
    has_app_context,
    jsonify,
    render_template,
    request,
    url_for,
)
from sqlalchemy import and_, create_engine, event, func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from flasky import security
from flasky.models import Comment, Event, Follow, Post, User
from flasky.models.post import reading_time
from flasky_bench.instrument import STATEMENTS_HEADER, db_latency_seconds, install_sync_latency

POSTS_PER_PAGE = 20
COMMENTS_PER_PAGE = 30
# The app's own poll interval between SQLite workers, and its heartbeat.
EVENTS_POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0


def sync_database_url(url: str) -> str:
    """The blocking twin of an app URL: sqlite3 and psycopg instead of aiosqlite and asyncpg."""
    for prefix in ("postgres://", "postgresql://", "postgresql+asyncpg://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith("sqlite+aiosqlite://"):
        return "sqlite://" + url[len("sqlite+aiosqlite://") :]
    return url


def _make_engine(url: str, pool_size: int) -> Engine:
    url = sync_database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, pool_size=pool_size, max_overflow=0, connect_args={"check_same_thread": False}
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # busy_timeout first: switching the journal mode needs a lock another process may hold.
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=0, pool_pre_ping=True)


def _gone(client: socket.socket) -> bool:
    """Whether an event stream's client hung up: a blocking server learns it only by
    looking, and a thread held by a departed client is a thread lost to everyone else."""
    try:
        return client.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def _page(default: int = 1) -> int:
    try:
        return int(request.args.get("page", default))
    except ValueError:
        return default


def comment_counts(session: Session, post_ids: list[int]) -> dict[int, int]:
    if not post_ids:
        return {}
    rows = session.execute(
        select(Comment.post_id, func.count(Comment.id))
        .where(Comment.post_id.in_(post_ids))
        .group_by(Comment.post_id)
    )
    return dict(rows.tuples().all())


def posts_page(session: Session, query: Any, page: int) -> tuple[list[Any], int]:
    """One page of (post, author) rows, newest first, and the total for the pager."""
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.add_columns(User)
        .join(User, User.id == Post.author_id)
        .order_by(Post.timestamp.desc(), Post.id.desc())
        .offset((max(page, 1) - 1) * POSTS_PER_PAGE)
        .limit(POSTS_PER_PAGE)
    ).all()
    return rows, total


def create_app() -> Flask:
    here = os.path.dirname(__file__)
    app = Flask(__name__, template_folder=os.path.join(here, "templates"))
    app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY", "bench")
    app.json.sort_keys = False
    app.jinja_env.filters["reading_time"] = reading_time  # the app's own wording and cost
    threads = int(os.environ.get("FLASKY_BENCH_THREADS", "8"))
    url = os.environ.get("DATABASE_URL") or "sqlite:///bench.sqlite"
    engine = _make_engine(url, pool_size=threads)
    make_session = sessionmaker(engine, expire_on_commit=False)
    install_sync_latency(db_latency_seconds())

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*args: Any) -> None:
        # An event stream's polls run after its request context has gone.
        if has_app_context():
            g.statement_count = g.get("statement_count", 0) + 1

    def db() -> Session:
        if "db" not in g:
            g.db = make_session()
        return g.db

    @app.teardown_appcontext
    def _close(exc: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.close()

    @app.after_request
    def _statements(response: Response) -> Response:
        response.headers[STATEMENTS_HEADER] = str(g.get("statement_count", 0))
        return response

    def pager(page: int, total: int, per_page: int) -> dict[str, Any]:
        pages = max(1, math.ceil(total / per_page))
        return {
            "page": page,
            "pages": pages,
            "numbers": range(max(1, page - 2), min(pages, page + 2) + 1),
        }

    @app.route("/")
    def index() -> str:
        page = _page()
        session = db()
        rows, total = posts_page(session, select(Post), page)
        counts = comment_counts(session, [post.id for post, _ in rows])
        return render_template(
            "threaded/index.html",
            rows=rows,
            counts=counts,
            pager=pager(page, total, POSTS_PER_PAGE),
        )

    @app.route("/user/<username>")
    def user(username: str) -> str:
        session = db()
        author = session.scalar(select(User).where(User.username == username))
        if author is None:
            abort(404)
        followers = session.scalar(
            select(func.count()).where(
                Follow.followed_id == author.id, Follow.follower_id != author.id
            )
        )
        following = session.scalar(
            select(func.count()).where(
                Follow.follower_id == author.id, Follow.followed_id != author.id
            )
        )
        page = _page()
        rows, total = posts_page(session, select(Post).where(Post.author_id == author.id), page)
        counts = comment_counts(session, [post.id for post, _ in rows])
        return render_template(
            "threaded/user.html",
            user=author,
            followers=followers,
            following=following,
            post_total=total,
            rows=rows,
            counts=counts,
            pager=pager(page, total, POSTS_PER_PAGE),
        )

    @app.route("/post/<int:id>")
    def post(id: int) -> str:
        session = db()
        row = session.execute(
            select(Post, User).join(User, User.id == Post.author_id).where(Post.id == id)
        ).first()
        if row is None:
            abort(404)
        total = session.scalar(select(func.count()).where(Comment.post_id == id)) or 0
        pages = max(1, math.ceil(total / COMMENTS_PER_PAGE))
        page = _page()
        if page == -1:
            page = pages
        comments = session.execute(
            select(Comment, User)
            .join(User, User.id == Comment.author_id)
            .where(Comment.post_id == id)
            .order_by(Comment.timestamp.asc(), Comment.id)
            .offset((max(page, 1) - 1) * COMMENTS_PER_PAGE)
            .limit(COMMENTS_PER_PAGE)
        ).all()
        return render_template(
            "threaded/post.html",
            post=row[0],
            author=row[1],
            comments=comments,
            comment_total=total,
            pager=pager(page, total, COMMENTS_PER_PAGE),
        )

    def api_user() -> User:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            name, password = header[7:].strip(), ""
        elif not header.startswith("Basic "):
            abort(_json(401, "unauthorized", "Invalid credentials"))
        else:
            try:
                name, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                abort(_json(401, "unauthorized", "Invalid credentials"))
        session = db()
        if not password:
            try:
                data = security.read_token(security.API, name, secret_key=app.config["SECRET_KEY"])
            except security.InvalidToken:
                abort(_json(401, "unauthorized", "Invalid credentials"))
            found = session.get(User, data.get("id"))
            g.token_used = True
        else:
            found = session.scalar(select(User).where(User.email == name.lower()))
            if found is not None and not security.check_password(
                found.password_hash or "", password
            ):
                found = None
            g.token_used = False
        if found is None:
            abort(_json(401, "unauthorized", "Invalid credentials"))
        if not found.confirmed:
            abort(_json(403, "forbidden", "Unconfirmed account"))
        return found

    def _json(status: int, error: str, message: str) -> Response:
        response = jsonify({"error": error, "message": message})
        response.status_code = status
        return response

    @app.route("/api/v1/tokens/", methods=["POST"])
    def get_token() -> Any:
        found = api_user()
        if g.token_used:
            abort(_json(401, "unauthorized", "Invalid credentials"))
        token = security.make_token(
            security.API, {"id": found.id}, 3600, secret_key=app.config["SECRET_KEY"]
        )
        return jsonify({"token": token, "expiration": 3600})

    @app.route("/api/v1/posts/")
    def get_posts() -> Any:
        api_user()
        page = _page()
        session = db()
        total = session.scalar(select(func.count(Post.id))) or 0
        posts = session.scalars(
            select(Post)
            .order_by(Post.timestamp.desc(), Post.id.desc())
            .offset((max(page, 1) - 1) * POSTS_PER_PAGE)
            .limit(POSTS_PER_PAGE)
        ).all()
        counts = comment_counts(session, [p.id for p in posts])

        def url(endpoint: str, **values: Any) -> str:
            return url_for(endpoint, _external=True, **values)

        pages = max(1, math.ceil(total / POSTS_PER_PAGE))
        return jsonify(
            {
                "posts": [
                    {
                        "url": url("get_post_json", id=p.id),
                        "body": p.body,
                        "body_html": p.body_html,
                        "timestamp": p.timestamp.isoformat(),
                        "author_url": url("get_user_json", id=p.author_id),
                        "comments_url": url("get_post_comments_json", id=p.id),
                        "comment_count": counts.get(p.id, 0),
                        "word_count": p.word_count,
                    }
                    for p in posts
                ],
                "prev": url("get_posts", page=page - 1) if page > 1 else None,
                "next": url("get_posts", page=page + 1) if page < pages else None,
                "count": total,
            }
        )

    @app.route("/api/v1/events")
    def get_events() -> Response:
        user_id = api_user().id
        raw = request.args.get("post", "")
        post_id = int(raw) if raw.isdigit() else None
        # The request's own session (closed when the view returns, before the stream
        # starts): a second one here would need a second pooled connection per thread.
        newest = db().scalar(select(func.coalesce(func.max(Event.id), 0))) or 0
        audience = Event.user_id == user_id
        if post_id is not None:
            audience = or_(audience, and_(Event.user_id.is_(None), Event.post_id == post_id))

        client = request.environ.get("gunicorn.socket")

        def body(after: int) -> Iterator[str]:
            yield "retry: 2000\n\n"
            quiet_since = time.monotonic()
            while True:
                time.sleep(EVENTS_POLL_SECONDS)
                if client is not None and _gone(client):
                    return
                with make_session() as session:
                    rows = session.execute(
                        select(Event.id, Event.kind, Event.payload)
                        .where(audience, Event.id > after)
                        .order_by(Event.id)
                        .limit(100)
                    ).all()
                for event_id, kind, payload in rows:
                    after = event_id
                    yield f"id: {event_id}\nevent: {kind}\ndata: {payload}\n\n"
                if rows:
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since > HEARTBEAT_SECONDS:
                    quiet_since = time.monotonic()
                    yield ": heartbeat\n\n"

        response = Response(body(newest), mimetype="text/event-stream")
        response.headers["Cache-Control"] = "no-cache, no-store"
        return response

    # Only so the JSON above can build its links.
    @app.route("/api/v1/posts/<int:id>", endpoint="get_post_json")
    @app.route("/api/v1/users/<int:id>", endpoint="get_user_json")
    @app.route("/api/v1/posts/<int:id>/comments/", endpoint="get_post_comments_json")
    def not_benchmarked(id: int) -> Any:
        abort(404)

    return app
