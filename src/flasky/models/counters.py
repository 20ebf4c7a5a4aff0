"""Counts and versions kept beside the row they describe, by the database itself.

`posts.comment_count` is how many comments a post has. Every list of posts shows it and
the post page needs it for its page links; counted on read it cost every view of a post
with 600 comments a walk of 600 index entries (~0.22 M instructions, more than the rest
of the statement's post row). Triggers keep it in step in the transaction that adds,
deletes or moves a comment, so it is right however the comment goes: a view, the API, a
post or an author deleted with their comments (ON DELETE CASCADE), or SQL typed by hand.
Concurrent comments on one post wait for each other's update of the post's row; that is
the price, paid on writes, which are rare beside reads.

`posts.comments_version` changes whenever what the post page shows of the post's
comments could: a comment added, deleted, edited, moderated or moved, or one of their
authors renamed or given another avatar or address. It is a random 62-bit number, not a
counter, so a database recreated from scratch or restored from a backup never pairs an old
version with other comments. The post page keeps the comment records it read for a
version (flasky.queries.comments) and reads the 30 rows again only when the version
moved: any worker or host that writes moves it, in the same transaction. A post whose
comments never changed has version 0 and no comments.

This DDL is written once and used twice, as flasky.models.search_index's is: by the
migration that adds the count to existing databases, and by the metadata's create
event, so schemas built with `metadata.create_all` (the test suite) have it too.
SQLite drops a table's triggers with the table when a migration recreates it ("move and
copy"); alembic/env.py runs `restore_sqlite_triggers` after every migration, which puts
them back, counts again and moves every version.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Connection

from flasky.db import Base

# (counting table, its count column, counted table, the counted table's key to it)
COUNTED = (("posts", "comment_count", "comments", "post_id"),)


def _recount(table: str, column: str, counted: str, key: str) -> str:
    return (
        f"UPDATE {table} SET {column} = "
        f"(SELECT count(*) FROM {counted} WHERE {counted}.{key} = {table}.id)"
    )


def _sqlite_triggers(table: str, column: str, counted: str, key: str) -> dict[str, str]:
    """{trigger name: its DDL} keeping `table.column` in step with `counted`."""
    add = f"UPDATE {table} SET {column} = {column} + 1 WHERE id = new.{key};"
    remove = f"UPDATE {table} SET {column} = {column} - 1 WHERE id = old.{key};"
    name = f"{table}_{column}"
    return {
        f"{name}_insert": f"CREATE TRIGGER {name}_insert AFTER INSERT ON {counted} BEGIN {add} END",
        f"{name}_delete": f"CREATE TRIGGER {name}_delete AFTER DELETE ON {counted} "
        f"BEGIN {remove} END",
        f"{name}_move": f"CREATE TRIGGER {name}_move AFTER UPDATE OF {key} ON {counted} "
        f"WHEN old.{key} IS NOT new.{key} BEGIN {remove} {add} END",
    }


def _pg_create() -> list[str]:
    statements = []
    for table, column, counted, key in COUNTED:
        name = f"{table}_{column}"
        statements += [
            f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE {table} SET {column} = {column} + 1 WHERE id = NEW.{key};
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE {table} SET {column} = {column} - 1 WHERE id = OLD.{key};
    END IF;
    RETURN NULL;
END
$$""",
            f"CREATE TRIGGER {name} AFTER INSERT OR DELETE ON {counted} "
            f"FOR EACH ROW EXECUTE FUNCTION {name}()",
            f"CREATE TRIGGER {name}_move AFTER UPDATE OF {key} ON {counted} "
            f"FOR EACH ROW WHEN (OLD.{key} IS DISTINCT FROM NEW.{key}) "
            f"EXECUTE FUNCTION {name}()",
            _recount(table, column, counted, key),
        ]
    return statements


# -- posts.comments_version -----------------------------------------------------------------
# The authors' columns a comment row shows (queries/users.py AUTHOR_COLUMNS).
AUTHOR_SHOWN = ("username", "email", "avatar_hash", "avatar_file")
VERSION = "posts_comments_version"
_SQLITE_RANDOM = "(random() & 4611686018427387903)"
_PG_RANDOM = "floor(random() * 4611686018427387904)::bigint"


def _move_versions(random: str, where: str) -> str:
    return f"UPDATE posts SET comments_version = {random} WHERE {where}"


_COMMENTED_BY_NEW = "id IN (SELECT post_id FROM comments WHERE author_id = new.id)"
# Comments written while no trigger watched (before the triggers, or while a migration had
# dropped them): no post may keep version 0 with them. Runs after the recount.
_ANY_COMMENTED = "comment_count > 0 OR comments_version <> 0"
_SQLITE_MOVE_ALL = _move_versions(_SQLITE_RANDOM, _ANY_COMMENTED)


def _sqlite_version_triggers() -> dict[str, str]:
    def move(where: str) -> str:
        return _move_versions(_SQLITE_RANDOM, where) + ";"

    changed = " OR ".join(f"old.{column} IS NOT new.{column}" for column in AUTHOR_SHOWN)
    return {
        f"{VERSION}_insert": f"CREATE TRIGGER {VERSION}_insert AFTER INSERT ON comments "
        f"BEGIN {move('id = new.post_id')} END",
        f"{VERSION}_delete": f"CREATE TRIGGER {VERSION}_delete AFTER DELETE ON comments "
        f"BEGIN {move('id = old.post_id')} END",
        f"{VERSION}_update": f"CREATE TRIGGER {VERSION}_update AFTER UPDATE ON comments "
        f"BEGIN {move('id IN (old.post_id, new.post_id)')} END",
        f"{VERSION}_author": f"CREATE TRIGGER {VERSION}_author AFTER UPDATE OF "
        f"{', '.join(AUTHOR_SHOWN)} ON users WHEN {changed} "
        f"BEGIN {move(_COMMENTED_BY_NEW)} END",
    }


def _pg_version_create() -> list[str]:
    changed = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in AUTHOR_SHOWN)
    return [
        f"""CREATE OR REPLACE FUNCTION {VERSION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'users' THEN
        {_move_versions(_PG_RANDOM, _COMMENTED_BY_NEW)};
        RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        {_move_versions(_PG_RANDOM, "id = NEW.post_id")};
    END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.post_id IS DISTINCT FROM NEW.post_id) THEN
        {_move_versions(_PG_RANDOM, "id = OLD.post_id")};
    END IF;
    RETURN NULL;
END
$$""",
        f"CREATE TRIGGER {VERSION} AFTER INSERT OR DELETE OR UPDATE ON comments "
        f"FOR EACH ROW EXECUTE FUNCTION {VERSION}()",
        f"CREATE TRIGGER {VERSION}_author AFTER UPDATE OF {', '.join(AUTHOR_SHOWN)} ON users "
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION {VERSION}()",
        _move_versions(_PG_RANDOM, _ANY_COMMENTED),
    ]


def _pg_drop() -> list[str]:
    statements = []
    for table, column, _counted, _key in COUNTED:
        name = f"{table}_{column}"
        # CASCADE: with its triggers, whether or not their table is still there.
        statements.append(f"DROP FUNCTION IF EXISTS {name}() CASCADE")
    return statements


def _sqlite_create() -> list[str]:
    statements = []
    for counting in COUNTED:
        statements += _sqlite_triggers(*counting).values()
        statements.append(_recount(*counting))
    return statements


def _sqlite_drop() -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {name}" for c in COUNTED for name in _sqlite_triggers(*c)]


def count_statements(dialect_name: str) -> list[str]:
    """The DDL that keeps the comment counts from now on and counts the comments already
    there (the count column itself is the model's)."""
    return _pg_create() if dialect_name == "postgresql" else _sqlite_create()


def count_drop_statements(dialect_name: str) -> list[str]:
    """The DDL that removes what count_statements made (each part if it exists)."""
    return _pg_drop() if dialect_name == "postgresql" else _sqlite_drop()


def version_statements(dialect_name: str) -> list[str]:
    """The DDL that moves the comments' versions from now on, and moves the version of
    every post that has comments already (the column itself is the model's)."""
    if dialect_name == "postgresql":
        return _pg_version_create()
    return [*_sqlite_version_triggers().values(), _SQLITE_MOVE_ALL]


def version_drop_statements(dialect_name: str) -> list[str]:
    """The DDL that removes what version_statements made (each part if it exists)."""
    if dialect_name == "postgresql":
        return [f"DROP FUNCTION IF EXISTS {VERSION}() CASCADE"]
    return [f"DROP TRIGGER IF EXISTS {name}" for name in _sqlite_version_triggers()]


def create_statements(dialect_name: str) -> list[str]:
    """All of it: the counts, then the versions."""
    return count_statements(dialect_name) + version_statements(dialect_name)


def drop_statements(dialect_name: str) -> list[str]:
    """All of it, each part if it exists."""
    return version_drop_statements(dialect_name) + count_drop_statements(dialect_name)


def restore_sqlite_triggers(connection: Connection) -> None:
    """Put back the triggers a migration dropped with their table, then count again and
    move every commented post's version (rows may have changed while no trigger watched
    them). Run after migrations."""
    if connection.dialect.name != "sqlite":
        return
    existing = {
        row[0]: row[1] for row in connection.exec_driver_sql("SELECT name, type FROM sqlite_master")
    }
    for counting in COUNTED:
        table, column, counted, _key = counting
        triggers = _sqlite_triggers(*counting)
        _restore(connection, existing, (table, counted), column, triggers, _recount(*counting))
    tables = ("posts", "comments", "users")
    triggers = _sqlite_version_triggers()
    _restore(connection, existing, tables, "comments_version", triggers, _SQLITE_MOVE_ALL)


def _restore(
    connection: Connection,
    existing: dict[str, str],
    tables: tuple[str, ...],
    column: str,
    triggers: dict[str, str],
    catch_up: str,
) -> None:
    """Create whichever of `triggers` (on `tables`, keeping `column` of the first) are
    missing, then run `catch_up` once; nothing before the migration that adds `column`."""
    if not all(table in existing for table in tables):
        return
    columns = {row[1] for row in connection.exec_driver_sql(f"PRAGMA table_info({tables[0]})")}
    if column not in columns:  # before the migration that adds it
        return
    missing = [ddl for name, ddl in triggers.items() if name not in existing]
    for ddl in missing:
        connection.exec_driver_sql(ddl)
    if missing:
        connection.exec_driver_sql(catch_up)


@event.listens_for(Base.metadata, "after_create")
def _created(target: object, connection: Connection, **kw: object) -> None:
    for statement in create_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


@event.listens_for(Base.metadata, "before_drop")
def _dropping(target: object, connection: Connection, **kw: object) -> None:
    for statement in drop_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)
