"""Revocable logins and tokens (sessions table); one identity per person (normalised keys).

- sessions: one row per browser login or API token, keyed by the SHA-256 of the secret the
  client holds; deleting a row revokes it.
- users.username_key / users.email_key: the forms two names or addresses are compared in
  (NFKC + case folding; lower case, NFC local part, IDNA domain), each under a unique index.
  Existing rows are filled in here; if two of them share a key the upgrade stops and names
  them, since only a person can decide which account keeps the name.

The normalisation is written out below rather than imported, so this revision keeps doing
what it did when the application's code moves on.

Revision ID: 8d03e111b2f0
Revises: b7c41d0e9a25
Create Date: 2026-12-01 13:00:00

"""

import unicodedata
from collections import defaultdict
from collections.abc import Sequence

import idna
import sqlalchemy as sa
from alembic import context, op

revision: str = "8d03e111b2f0"
down_revision: str | Sequence[str] | None = "b7c41d0e9a25"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY_LENGTH = 255


def username_key(username: str) -> str:
    folded = unicodedata.normalize("NFKC", username).casefold()
    return unicodedata.normalize("NFKC", folded)


def email_key(email: str) -> str:
    address = email.strip()
    local, at, domain = address.rpartition("@")
    if not at:
        return unicodedata.normalize("NFC", address).lower()
    local = unicodedata.normalize("NFC", local).lower()
    domain = domain.rstrip(".").lower()
    try:
        domain = idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        domain = unicodedata.normalize("NFC", domain)
    return f"{local}@{domain}".lower()


class DuplicateIdentities(RuntimeError):
    pass


def _collisions(rows: list[tuple[int, str]], key) -> list[str]:  # noqa: ANN001
    groups: dict[str, list[str]] = defaultdict(list)
    for user_id, value in rows:
        groups[key(value)].append(f"{value!r} (user {user_id})")
    return [" = ".join(names) for names in groups.values() if len(names) > 1]


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("remember", sa.Boolean(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("expires", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    op.create_index(op.f("ix_sessions_user_id"), "sessions", ["user_id"])

    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email_key", sa.String(length=KEY_LENGTH), nullable=True))
        batch.add_column(sa.Column("username_key", sa.String(length=KEY_LENGTH), nullable=True))

    users = sa.table(
        "users",
        sa.column("id", sa.Integer),
        sa.column("email", sa.String),
        sa.column("username", sa.String),
        sa.column("email_key", sa.String),
        sa.column("username_key", sa.String),
    )
    if context.is_offline_mode():
        # A generated SQL script cannot run Python over the rows: lower() is the same
        # normalisation for ASCII names and addresses (the forms allow only ASCII usernames),
        # and the unique indexes below still refuse any collision.
        op.execute(
            users.update().values(
                email_key=sa.func.lower(users.c.email),
                username_key=sa.func.lower(users.c.username),
            )
        )
    else:
        _fill_keys(users)

    with op.batch_alter_table("users") as batch:
        batch.alter_column("email_key", existing_type=sa.String(length=KEY_LENGTH), nullable=False)
        batch.alter_column(
            "username_key", existing_type=sa.String(length=KEY_LENGTH), nullable=False
        )
    op.create_index(op.f("ix_users_email_key"), "users", ["email_key"], unique=True)
    op.create_index(op.f("ix_users_username_key"), "users", ["username_key"], unique=True)


def _fill_keys(users: sa.TableClause) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(users.c.id, users.c.email, users.c.username)).all()
    problems = [
        *(f"usernames {c}" for c in _collisions([(r.id, r.username) for r in rows], username_key)),
        *(f"emails {c}" for c in _collisions([(r.id, r.email) for r in rows], email_key)),
    ]
    if problems:
        raise DuplicateIdentities(
            "Cannot make usernames and emails unique after normalisation: these accounts "
            "would share one. Rename or merge them, then upgrade again:\n  " + "\n  ".join(problems)
        )
    if rows:
        connection.execute(
            users.update()
            .where(users.c.id == sa.bindparam("user_id"))
            .values(
                email_key=sa.bindparam("new_email_key"),
                username_key=sa.bindparam("new_username_key"),
            ),
            [
                {
                    "user_id": r.id,
                    "new_email_key": email_key(r.email),
                    "new_username_key": username_key(r.username),
                }
                for r in rows
            ],
        )


def downgrade() -> None:
    op.drop_index(op.f("ix_users_username_key"), table_name="users")
    op.drop_index(op.f("ix_users_email_key"), table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("username_key")
        batch.drop_column("email_key")
    op.drop_table("sessions")
