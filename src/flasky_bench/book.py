"""The book's own application as a peer in the benchmark.

The user points `flasky bench run --book PATH` at a checkout of the book's repository
(miguelgrinberg/flasky); nothing of it lives in this repository. It runs in its own
virtualenv with the newest releases of its libraries that still install on current
Python and still run its code unchanged (`BOOK_REQUIREMENTS`): its models use
`TimedJSONWebSignatureSerializer`, which itsdangerous dropped in 2.1, and Flask-SQLAlchemy
2.x, which needs SQLAlchemy 1.4. The book's code creates its own schema; the rows come from
this project's seed (`seed.generate`), so both apps serve the same users, posts,
comments and timestamps.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, insert, select
from sqlalchemy.engine import make_url

from flasky_bench.seed import (
    BENCH_PASSWORD,
    SEED,
    DataSet,
    analyze,
    catch_up_sequences,
    generate,
    make_engine,
)
from flasky_bench.servers import BENCH_SECRET_KEY, ServerSpec

# Pinned so that every run measures the same book; each is the last release that runs the
# book's code as written (see the module docstring) and installs on Python 3.11+.
BOOK_REQUIREMENTS = (
    "Flask==2.0.3",
    "Werkzeug==2.0.3",
    "Jinja2==3.0.3",
    "MarkupSafe==2.0.1",
    "itsdangerous==2.0.1",
    "click==8.0.4",
    "Flask-SQLAlchemy==2.5.1",
    "SQLAlchemy==1.4.54",
    "Flask-Login==0.5.0",
    "Flask-WTF==1.0.1",
    "WTForms==3.0.1",
    "email-validator==1.3.1",
    "Flask-Bootstrap==3.3.7.1",
    "Flask-Moment==1.0.5",
    "Flask-PageDown==0.4.0",
    "Flask-Mail==0.9.1",
    "Flask-Migrate==3.1.0",
    "Flask-HTTPAuth==4.8.0",
    "bleach==6.0.0",
    "Markdown==3.4.4",
    "python-dotenv==0.21.1",
    "gunicorn==22.0.0",
    "psycopg2-binary==2.9.10",
)

# Werkzeug 2.0 cannot check scrypt hashes; PBKDF2 with its own default rounds is what the
# book's accounts carry.
BOOK_HASH_METHOD = "pbkdf2:sha256:260000"

ROLE_PERMISSIONS = {
    "User": (1 | 2 | 4, True),
    "Moderator": (1 | 2 | 4 | 8, False),
    "Administrator": (1 | 2 | 4 | 8 | 16, False),
}


def check_checkout(path: Path) -> Path:
    path = Path(path).resolve()
    if not (path / "flasky.py").is_file() or not (path / "app" / "models.py").is_file():
        raise click_error(
            f"{path} is not a checkout of the book's app (flasky.py and app/models.py "
            "missing); clone miguelgrinberg/flasky and pass its directory to --book"
        )
    return path


def click_error(message: str) -> Exception:
    import click

    return click.ClickException(message)


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_venv(venv: Path, log: Any = print) -> Path:
    """Create (once) the book's virtualenv with BOOK_REQUIREMENTS; its python's path."""
    marker = venv / "flasky-bench-requirements.sha1"
    wanted = hashlib.sha1("\n".join(BOOK_REQUIREMENTS).encode()).hexdigest()
    python = venv_python(venv)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    log(f"book: creating its virtualenv in {venv} (Flask 2.0, SQLAlchemy 1.4, gunicorn)")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *BOOK_REQUIREMENTS], check=True)
    marker.write_text(wanted)
    return python


def sync_url(database_url: str) -> str:
    """The URL the book's Flask-SQLAlchemy understands (its default drivers)."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "postgresql":
        url = url.set(drivername="postgresql")
    elif backend == "sqlite":
        url = url.set(drivername="sqlite")
    return url.render_as_string(hide_password=False)


def database_beside(database_url: str) -> str:
    """The book's own database next to the app's: its tables have the same names."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        path = Path(url.database)
        return url.set(
            database=str(path.with_name(f"{path.stem}-book{path.suffix}"))
        ).render_as_string(hide_password=False)
    return url.set(database=f"{url.database}_book").render_as_string(hide_password=False)


def book_env(database_url: str) -> dict[str, str]:
    return {
        "FLASK_CONFIG": "production",
        "FLASK_APP": "flasky.py",
        "DATABASE_URL": sync_url(database_url),
        "SECRET_KEY": BENCH_SECRET_KEY,
        "PYTHONDONTWRITEBYTECODE": "1",
        # The production config reads it at import; the server sets the real one per port.
        "SERVER_NAME": os.environ.get("SERVER_NAME", "127.0.0.1"),
    }


def create_schema(python: Path, checkout: Path, database_url: str) -> None:
    """Drop and create the book's tables with the book's own models."""
    code = (
        "from flasky import app\nfrom app import db\nwith app.app_context():\n"
        "    db.drop_all()\n    db.create_all()\n"
    )
    env = dict(os.environ)
    env.update(book_env(database_url))
    subprocess.run([str(python), "-c", code], cwd=checkout, env=env, check=True)


def _naive_utc(value: Any) -> Any:
    # The book stores datetime.utcnow() values: naive, UTC by convention.
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _rows(table: Any, rows: list[dict[str, Any]], **overrides: Any) -> list[dict[str, Any]]:
    columns = set(table.columns.keys())
    return [
        {key: _naive_utc(overrides.get(key, value)) for key, value in row.items() if key in columns}
        for row in rows
    ]


async def seed_book(
    database_url: str,
    *,
    users: int = 100,
    posts: int = 2000,
    comments: int = 5000,
    seed: int = SEED,
    password: str = BENCH_PASSWORD,
) -> DataSet:
    """Fill the book's (existing, empty) tables with the bench data set; the rows written.

    Only the columns the book's tables have are written, so the same DataSet serves both
    schemas; role ids are the book's, found by role name.
    """
    from werkzeug.security import generate_password_hash

    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            metadata = MetaData()
            await conn.run_sync(metadata.reflect)
            tables = metadata.tables
            await conn.execute(tables["comments"].delete())
            await conn.execute(tables["posts"].delete())
            await conn.execute(tables["follows"].delete())
            await conn.execute(tables["users"].delete())
            await conn.execute(tables["roles"].delete())
            await conn.execute(
                insert(tables["roles"]),
                [
                    {"name": name, "permissions": perms, "default": default}
                    for name, (perms, default) in ROLE_PERMISSIONS.items()
                ],
            )
            user_role_id = await conn.scalar(
                select(tables["roles"].c.id).where(tables["roles"].c.name == "User")
            )
            data = generate(
                users=users,
                posts=posts,
                comments=comments,
                seed=seed,
                password_hash=generate_password_hash(password, method=BOOK_HASH_METHOD),
                user_role_id=user_role_id,
            )
            for name, rows in (
                ("users", data.users),
                ("follows", data.follows),
                ("posts", data.posts),
                ("comments", data.comments),
            ):
                table = tables[name]
                converted = _rows(table, rows)
                for start in range(0, len(converted), 1000):
                    await conn.execute(insert(table), converted[start : start + 1000])
            await catch_up_sequences(conn)
        await analyze(engine)
    finally:
        await engine.dispose()
    return data


def server_spec(
    name: str,
    python: Path,
    checkout: Path,
    database_url: str,
    *,
    worker_class: str,
    threads: int,
) -> ServerSpec:
    """gunicorn serving the book's app: 1 worker, `sync` or `gthread` x `threads`."""
    command = [
        str(python),
        "-m",
        "gunicorn",
        "--chdir",
        str(checkout),
        "--bind",
        "127.0.0.1:{port}",
        "--workers",
        "1",
        "--worker-class",
        worker_class,
        "--backlog",
        "2048",
        "--log-level",
        "warning",
        # Flask matches requests against SERVER_NAME, which the book's production
        # config requires: it must be the address the load generator uses.
        "--env",
        "SERVER_NAME=127.0.0.1:{port}",
    ]
    if worker_class == "gthread":
        command += ["--threads", str(threads), "--worker-connections", "4000"]
    command.append("flasky:app")
    env = book_env(database_url)
    env.pop("SERVER_NAME")
    return ServerSpec(name=name, command=command, env=env, role="book")
