"""Posts carry their word count (counted from the rendered HTML on write), for the
"N words, M min read" shown with each post; existing posts are counted here.

Revision ID: 3f5a9d2c7e18
Revises: 54e1b7bec048
Create Date: 2026-12-01 12:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from flasky.models.post import count_words

# revision identifiers, used by Alembic.
revision: str = "3f5a9d2c7e18"
down_revision: str | Sequence[str] | None = "54e1b7bec048"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("word_count", sa.Integer(), server_default="0", nullable=False))
    if op.get_context().as_sql:
        # Offline (--sql) there are no rows to read: the count needs Python, so existing
        # posts keep 0 until this migration runs online (or they are edited).
        return
    # Count the posts already written with the rule new posts are counted by, a batch at a
    # time (keyset on id) so a large table is never held in memory at once.
    posts = sa.table(
        "posts",
        sa.column("id", sa.Integer),
        sa.column("body_html", sa.Text),
        sa.column("word_count", sa.Integer),
    )
    connection = op.get_bind()
    update = (
        sa.update(posts)
        .where(posts.c.id == sa.bindparam("post_id"))
        .values(word_count=sa.bindparam("words"))
    )
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(posts.c.id, posts.c.body_html)
            .where(posts.c.id > last_id)
            .order_by(posts.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            update, [{"post_id": id, "words": count_words(html or "")} for id, html in rows]
        )
        last_id = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("word_count")
