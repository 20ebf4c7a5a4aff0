"""`flasky deploy`: bring a database to the newest schema and the rows every install needs.

Safe to run again: the upgrade is a no-op at head, roles are inserted or updated, and
only missing self-follows are added.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from quart import Quart
from sqlalchemy import exists, insert, inspect, literal, select
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncSession

from flasky import migrations
from flasky.db import UTCDateTime, get_database, utcnow
from flasky.models import Follow, Role, User
from flasky.models.role import RoleChanges


class UnversionedDatabase(RuntimeError):
    """The database has tables but no Alembic version, so upgrading would collide."""


@dataclass
class DeployReport:
    revision_before: str | None
    revision_after: str | None
    self_follows_added: int
    roles: RoleChanges = field(default_factory=RoleChanges)

    @property
    def upgraded(self) -> bool:
        return self.revision_before != self.revision_after


def sqlite_file(database_url: str) -> Path | None:
    """The file behind a SQLite URL (None for other databases and in-memory SQLite)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def _table_names(connection: Connection) -> list[str]:
    return inspect(connection).get_table_names()


async def _check_versioned(database_url: str) -> str | None:
    engine = migrations.migration_engine(database_url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(_table_names)
    finally:
        await engine.dispose()
    revision = await migrations.current_revision(database_url)
    if revision is None and "users" in tables:
        raise UnversionedDatabase(
            "The database already has tables but no Alembic version (was it made with "
            "metadata.create_all?). If it matches the models, mark it current with "
            "`alembic stamp head`, then run `flasky deploy` again."
        )
    return revision


async def ensure_self_follows(session: AsyncSession) -> int:
    """Add the self-follow every user needs (SPEC §4) where it is missing; caller commits."""
    missing = select(User.id, User.id, literal(utcnow(), UTCDateTime)).where(
        ~exists().where(Follow.follower_id == User.id, Follow.followed_id == User.id)
    )
    result = await session.execute(
        insert(Follow).from_select(["follower_id", "followed_id", "timestamp"], missing)
    )
    return max(result.rowcount or 0, 0)


async def deploy(app: Quart) -> DeployReport:
    url = app.config["SQLALCHEMY_DATABASE_URL"]
    before = await _check_versioned(url)
    # Alembic's env.py runs its own event loop, so the upgrade gets a thread of its own.
    await asyncio.to_thread(migrations.upgrade, url)
    after = await migrations.current_revision(url)
    database = get_database(app)
    async with database.running(), database.session() as session:
        roles = await Role.insert_roles(session)
        added = await ensure_self_follows(session)
        await session.commit()
    return DeployReport(before, after, added, roles)
