"""Posts carry the version of their comments as the post page shows them, moved by the
database: `posts.comments_version` and the version triggers of flasky.models.counters.

Revision ID: e4b9a6c2d817
Revises: c0a7e5d1f3b9
Create Date: 2026-12-07 13:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from flasky.models.counters import (
    count_drop_statements,
    count_statements,
    version_drop_statements,
    version_statements,
)

# revision identifiers, used by Alembic.
revision: str = "e4b9a6c2d817"
down_revision: str | Sequence[str] | None = "c0a7e5d1f3b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _dialect() -> str:
    return context.get_context().dialect.name


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(
            sa.Column("comments_version", sa.BigInteger(), server_default="0", nullable=False)
        )
    for statement in version_statements(_dialect()):
        op.execute(statement)


def downgrade() -> None:
    # SQLite drops the column by copying `posts` to a new table and renaming it, which it
    # refuses while a trigger names `posts`: the counts' triggers go too, and come back.
    for statement in version_drop_statements(_dialect()) + count_drop_statements(_dialect()):
        op.execute(statement)
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("comments_version")
    for statement in count_statements(_dialect()):
        op.execute(statement)
