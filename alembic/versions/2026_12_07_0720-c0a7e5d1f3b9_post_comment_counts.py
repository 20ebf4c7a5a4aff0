"""Posts carry their comment count, kept by the database: `posts.comment_count` and the
triggers of flasky.models.counters, which also count the comments already written.

Revision ID: c0a7e5d1f3b9
Revises: 8d03e111b2f0
Create Date: 2026-12-07 07:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from flasky.models.counters import count_drop_statements, count_statements

# revision identifiers, used by Alembic.
revision: str = "c0a7e5d1f3b9"
down_revision: str | Sequence[str] | None = "8d03e111b2f0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _dialect() -> str:
    return context.get_context().dialect.name


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(
            sa.Column("comment_count", sa.Integer(), server_default="0", nullable=False)
        )
    for statement in count_statements(_dialect()):
        op.execute(statement)


def downgrade() -> None:
    for statement in count_drop_statements(_dialect()):
        op.execute(statement)
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("comment_count")
