"""The full-text index of posts and people, kept inside the database itself.

PostgreSQL: a generated `tsvector` column on `posts` and on `users`, each with a GIN
index, built with text search configurations that drop accents (the `unaccent`
dictionary in front of the stemmer). SQLite: FTS5 tables over the same columns
(external content: the text stays in `posts`/`users` only), kept in step by triggers.
Either way the index changes in the transaction that changes the row, so a post is
findable (or gone) the moment its transaction commits.

Posts are indexed by `posts.body_text`, the text a reader sees (the rendered HTML with
its tags removed), so markup never matches: searching "strong" does not find every
post with bold text. People by username, name and location, never by email.

This DDL is written once and used twice: by the migration that adds the index to
existing databases, and by the metadata's create/drop events, so schemas built with
`metadata.create_all` (the test suite) have it too. Alembic's autogenerate is told to
leave these objects alone (`is_search_object`).

SQLite pitfall: a migration that recreates `posts` or `users` (a batch "move and copy")
drops their triggers with the old table; the migration environment (alembic/env.py)
runs `restore_sqlite_triggers` after every upgrade or downgrade.
"""

from __future__ import annotations

from html.parser import HTMLParser

from sqlalchemy import event
from sqlalchemy.engine import Connection

from flasky.db import Base

# Text search configurations (PostgreSQL): English stemming for posts; no stemming or
# stop words for people ("will" is an English stop word and a first name).
POSTS_CONFIG = "flasky_english"
PEOPLE_CONFIG = "flasky_people"
SEARCH_VECTOR = "search_vector"

# FTS5 tables (SQLite) and the shadow tables FTS5 keeps beside each.
POSTS_FTS = "posts_fts"
PEOPLE_FTS = "users_fts"
_FTS_SHADOWS = ("data", "idx", "docsize", "config", "content")
SEARCH_TABLES = frozenset(
    name
    for fts in (POSTS_FTS, PEOPLE_FTS)
    for name in (fts, *(f"{fts}_{shadow}" for shadow in _FTS_SHADOWS))
)
SEARCH_INDEXES = frozenset({f"ix_posts_{SEARCH_VECTOR}", f"ix_users_{SEARCH_VECTOR}"})

# What each index reads: (table, its FTS5 table, columns, PostgreSQL configuration,
# FTS5 tokenizer). Porter stemming for posts on SQLite too; diacritics removed on both.
INDEXED = (
    ("posts", POSTS_FTS, ("body_text",), POSTS_CONFIG, "porter unicode61 remove_diacritics 2"),
    (
        "users",
        PEOPLE_FTS,
        ("username", "name", "location"),
        PEOPLE_CONFIG,
        "unicode61 remove_diacritics 2",
    ),
)

# PostgreSQL's text search parser takes anything shaped like an HTML tag for markup and
# drops it, words included ("x <y and z> w" loses "y and z"). The indexed text is plain
# text, so it is escaped first: its `<`, `>` and `&` become entities the parser skips,
# and snippets (ts_headline over the same escaped text) come back as safe HTML text.
PG_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))

# Snippets mark matched words with these two characters, which plain_text never leaves in
# indexed text; the page turns them into <mark> after escaping everything else.
MATCH_START = "\x02"
MATCH_END = "\x03"


# PostgreSQL's parser also reads "john.doe", "example.com/path", "a@b.org" and "3.14" as
# one token each (a host, URL, email, number), so neither "john" nor "example" would find
# them. In the indexed text these characters separate words, as they do for FTS5 and for
# the query syntax (which reads "john.doe" as the phrase "john doe").
PG_WORD_SEPARATORS = "./@:"


def pg_escaped_sql(expression: str) -> str:
    for char, entity in PG_ESCAPES:
        expression = f"replace({expression}, '{char}', '{entity}')"
    return expression


def _pg_document(columns: tuple[str, ...]) -> str:
    return " || ' ' || ".join(f"coalesce({column}, '')" for column in columns)


def _pg_create() -> list[str]:
    statements = ["CREATE EXTENSION IF NOT EXISTS unaccent"]
    for config, stemmer in ((POSTS_CONFIG, "english"), (PEOPLE_CONFIG, "simple")):
        dictionaries = "unaccent, english_stem" if stemmer == "english" else "unaccent, simple"
        # No IF NOT EXISTS for configurations; one may survive a reset that dropped tables.
        statements.append(
            f"""DO $$ BEGIN
                IF NOT EXISTS (
                    SELECT 1 FROM pg_ts_config c JOIN pg_namespace n ON n.oid = c.cfgnamespace
                    WHERE c.cfgname = '{config}' AND n.nspname = current_schema()
                ) THEN
                    CREATE TEXT SEARCH CONFIGURATION {config} (COPY = {stemmer});
                    ALTER TEXT SEARCH CONFIGURATION {config}
                        ALTER MAPPING FOR hword, hword_part, word WITH {dictionaries};
                END IF;
            END $$"""
        )
    for table, _fts, columns, config, _tokenizer in INDEXED:
        separators = " " * len(PG_WORD_SEPARATORS)
        document = pg_escaped_sql(
            f"translate({_pg_document(columns)}, '{PG_WORD_SEPARATORS}', '{separators}')"
        )
        # to_tsvector with a constant configuration is IMMUTABLE, as a generated column
        # needs (unaccent() alone is not: hence a configuration, not a call to it).
        statements.append(
            f"ALTER TABLE {table} ADD COLUMN {SEARCH_VECTOR} tsvector GENERATED ALWAYS AS "
            f"(to_tsvector('{config}'::regconfig, {document})) STORED"
        )
        statements.append(
            f"CREATE INDEX ix_{table}_{SEARCH_VECTOR} ON {table} USING gin ({SEARCH_VECTOR})"
        )
    return statements


def _pg_drop() -> list[str]:
    statements = []
    for table, *_ in INDEXED:
        statements.append(f"DROP INDEX IF EXISTS ix_{table}_{SEARCH_VECTOR}")
        statements.append(f"ALTER TABLE IF EXISTS {table} DROP COLUMN IF EXISTS {SEARCH_VECTOR}")
    for config in (POSTS_CONFIG, PEOPLE_CONFIG):
        statements.append(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {config}")
    # The unaccent extension stays: other schemas may use it, and creating it again may
    # need rights a later upgrade does not have.
    return statements


def _sqlite_triggers(table: str, fts: str, columns: tuple[str, ...]) -> dict[str, str]:
    """{trigger name: its DDL} keeping `fts` in step with `table`."""
    names = ", ".join(columns)
    new = ", ".join(f"new.{column}" for column in columns)
    old = ", ".join(f"old.{column}" for column in columns)
    # External content: FTS5 keeps only the index and reads the text (for snippets) from
    # the table; deleting from it needs the exact values once indexed.
    remove = f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old});"
    add = f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new});"
    return {
        f"{fts}_insert": f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {add} END",
        f"{fts}_delete": f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {remove} END",
        f"{fts}_update": f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {names} ON {table} "
        f"BEGIN {remove} {add} END",
    }


def _sqlite_create() -> list[str]:
    statements = []
    for table, fts, columns, _config, tokenizer in INDEXED:
        statements.append(
            f"CREATE VIRTUAL TABLE {fts} USING fts5({', '.join(columns)}, content='{table}', "
            f"content_rowid='id', tokenize='{tokenizer}')"
        )
        statements += _sqlite_triggers(table, fts, columns).values()
        # Index the rows already there.
        statements.append(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
    return statements


def restore_sqlite_triggers(connection: Connection) -> None:
    """Put back triggers a migration dropped, and rebuild that index.

    SQLite alters most things by "move and copy" (Alembic's batch mode): a new table is
    filled from the old one, which is dropped with its triggers. Run after migrations;
    the rows may have changed while no trigger watched them, hence the rebuild."""
    if connection.dialect.name != "sqlite":
        return
    existing = {
        row[0]
        for row in connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')"
        )
    }
    for table, fts, columns, _config, _tokenizer in INDEXED:
        if fts not in existing:  # the index is not there at all (before its migration)
            continue
        missing = {
            name: ddl
            for name, ddl in _sqlite_triggers(table, fts, columns).items()
            if name not in existing
        }
        for ddl in missing.values():
            connection.exec_driver_sql(ddl)
        if missing:
            connection.exec_driver_sql(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def _sqlite_drop() -> list[str]:
    statements = []
    for _table, fts, *_ in INDEXED:
        for trigger in ("insert", "delete", "update"):
            statements.append(f"DROP TRIGGER IF EXISTS {fts}_{trigger}")
        statements.append(f"DROP TABLE IF EXISTS {fts}")
    return statements


def create_statements(dialect_name: str) -> list[str]:
    """The DDL that adds the index to existing `posts` and `users` tables and fills it
    from their rows."""
    return _pg_create() if dialect_name == "postgresql" else _sqlite_create()


def drop_statements(dialect_name: str) -> list[str]:
    """The DDL that removes everything create_statements made (each part if it exists)."""
    return _pg_drop() if dialect_name == "postgresql" else _sqlite_drop()


def is_search_object(name: str | None, type_: str) -> bool:
    """Whether a reflected object belongs to the index (alembic compares models only)."""
    if type_ == "table":
        return name in SEARCH_TABLES
    if type_ == "column":
        return name == SEARCH_VECTOR
    if type_ == "index":
        return name in SEARCH_INDEXES
    return False


@event.listens_for(Base.metadata, "after_create")
def _created(target: object, connection: Connection, **kw: object) -> None:
    for statement in create_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


@event.listens_for(Base.metadata, "before_drop")
def _dropping(target: object, connection: Connection, **kw: object) -> None:
    for statement in drop_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


# -- the indexed text ----------------------------------------------------------------------

# Tags after which a reader sees a break between words ("<p>a</p><p>b</p>" is "a b").
_BLOCK_TAGS = frozenset(
    "address blockquote br dd div dl dt h1 h2 h3 h4 h5 h6 hr li ol p pre table td th tr ul".split()
)
# Control characters (MATCH_START and MATCH_END among them) read as spaces.
_CONTROLS = {code: " " for code in (*range(0x20), 0x7F)}


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")


def plain_text(html: str | None) -> str:
    """What a reader of the rendered (sanitised) HTML sees, on one line: the text a post
    is found by and its snippets are cut from. CPU work: runs where Markdown runs."""
    if not html:
        return ""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    return " ".join("".join(collector.parts).translate(_CONTROLS).split())
