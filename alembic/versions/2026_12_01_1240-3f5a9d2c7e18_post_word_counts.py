"""Posts carry their word count (counted from the rendered HTML on write), for the
"N words, M min read" shown with each post; existing posts are counted here.

Revision ID: 3f5a9d2c7e18
Revises: 54e1b7bec048
Create Date: 2026-12-01 12:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from flasky.migrations import fill_from_post_html
from flasky.models.post import count_words

# revision identifiers, used by Alembic.
revision: str = "3f5a9d2c7e18"
down_revision: str | Sequence[str] | None = "54e1b7bec048"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("word_count", sa.Integer(), server_default="0", nullable=False))
    if op.get_context().as_sql:
        # Offline (--sql) there are no rows to read: the count needs Python, so existing
        # posts keep 0 until this migration runs online (or they are edited).
        return
    # Count the posts already written with the rule new posts are counted by.
    fill_from_post_html(op.get_bind(), "word_count", count_words)


def downgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("word_count")
