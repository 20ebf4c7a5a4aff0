"""Counts kept beside the row they count, by the database itself.

`posts.comment_count` is how many comments a post has. Every list of posts shows it and
the post page needs it for its page links; counted on read it cost every view of a post
with 600 comments a walk of 600 index entries (~0.22 M instructions, more than the rest
of the statement's post row). Triggers keep it in step in the transaction that adds,
deletes or moves a comment, so it is right however the comment goes: a view, the API, a
post or an author deleted with their comments (ON DELETE CASCADE), or SQL typed by hand.
Concurrent comments on one post wait for each other's update of the post's row; that is
the price, paid on writes, which are rare beside reads.

This DDL is written once and used twice, as flasky.models.search_index's is: by the
migration that adds the count to existing databases, and by the metadata's create
event, so schemas built with `metadata.create_all` (the test suite) have it too.
SQLite drops a table's triggers with the table when a migration recreates it ("move and
copy"); alembic/env.py runs `restore_sqlite_triggers` after every migration, which puts
them back and counts again.
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


def create_statements(dialect_name: str) -> list[str]:
    """The DDL that keeps the counts from now on, and counts the rows already there (the
    count columns themselves are the models')."""
    return _pg_create() if dialect_name == "postgresql" else _sqlite_create()


def drop_statements(dialect_name: str) -> list[str]:
    """The DDL that removes everything create_statements made (each part if it exists)."""
    return _pg_drop() if dialect_name == "postgresql" else _sqlite_drop()


def restore_sqlite_triggers(connection: Connection) -> None:
    """Put back the triggers a migration dropped with their table, and count again (rows
    may have changed while no trigger watched them). Run after migrations."""
    if connection.dialect.name != "sqlite":
        return
    existing = {
        row[0]: row[1] for row in connection.exec_driver_sql("SELECT name, type FROM sqlite_master")
    }
    for counting in COUNTED:
        table, column, counted, _key = counting
        if table not in existing or counted not in existing:
            continue
        columns = {row[1] for row in connection.exec_driver_sql(f"PRAGMA table_info({table})")}
        if column not in columns:  # before the migration that adds the count
            continue
        missing = [ddl for name, ddl in _sqlite_triggers(*counting).items() if name not in existing]
        for ddl in missing:
            connection.exec_driver_sql(ddl)
        if missing:
            connection.exec_driver_sql(_recount(*counting))


@event.listens_for(Base.metadata, "after_create")
def _created(target: object, connection: Connection, **kw: object) -> None:
    for statement in create_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


@event.listens_for(Base.metadata, "before_drop")
def _dropping(target: object, connection: Connection, **kw: object) -> None:
    for statement in drop_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)
