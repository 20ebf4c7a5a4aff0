"""Full-text search of posts and people: posts.body_text and the search index.

`posts.body_text` holds the text readers see (the rendered HTML without its tags); it is
filled here for the posts already written. The index itself (a generated tsvector
column with a GIN index per table on PostgreSQL, FTS5 tables and their triggers on
SQLite) is the DDL of flasky.models.search_index, shared with the models' create_all,
and is filled from the existing rows when it is created.

Revision ID: 9c1f3e7a5b20
Revises: 3f5a9d2c7e18
Create Date: 2026-12-01 12:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from flasky.migrations import fill_from_post_html
from flasky.models.search_index import create_statements, drop_statements, plain_text

# revision identifiers, used by Alembic.
revision: str = "9c1f3e7a5b20"
down_revision: str | Sequence[str] | None = "3f5a9d2c7e18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _dialect() -> str:
    return context.get_context().dialect.name


def upgrade() -> None:
    op.add_column("posts", sa.Column("body_text", sa.Text(), nullable=True))
    if context.is_offline_mode():
        # Rendering the text needs Python: written SQL cannot fill it.
        op.execute("-- posts.body_text of existing posts: run this migration online to fill it")
    else:
        fill_from_post_html(op.get_bind(), "body_text", plain_text)
    for statement in create_statements(_dialect()):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_statements(_dialect()):
        op.execute(statement)
    with op.batch_alter_table("posts") as batch_op:
        batch_op.drop_column("body_text")
