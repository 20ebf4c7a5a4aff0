"""Accounts and content the browser scenarios rely on, added after `flasky deploy` and
`flasky fake ...` have filled the database. Run with the server's environment:

    python -m tests.e2e.seed

Everything is made the way the app makes it (create_user: role, self-follow, hashing)."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

from sqlalchemy import select

from flasky import create_app
from flasky.db import get_database, utcnow
from flasky.models import Comment, Post, Role
from flasky.models.user import create_user

PASSWORD = "e2e-password"
ADMIN_USERNAME = "admin"
MODERATOR = ("moderator", "moderator@e2e.example.com")
AUTHOR = ("susan", "susan@e2e.example.com")
READER = ("reader", "reader@e2e.example.com")
# Logs out everywhere in its scenario: an account of its own, so no other scenario's login ends.
TRAVELLER = ("traveller", "traveller@e2e.example.com")
AUTHOR_POST = "Susan writes about *gardens*."
COMMENT_TO_DISABLE = "A rude comment that a moderator will disable."
# Enough old posts for a pager of many pages on this user's profile, dated before the fake
# posts so the home page's first pages stay as the other scenarios expect.
PROLIFIC = ("prolific_writer_with_a_long_name", "prolific@e2e.example.com")
PROLIFIC_POSTS = 250


async def seed() -> None:
    app = create_app()
    admin_email = os.environ["FLASKY_ADMIN"]
    async with app.app_context(), get_database(app).running() as database:
        async with database.session() as session:
            moderator_role = await session.scalar(select(Role).where(Role.name == "Moderator"))
            await create_user(
                session,
                username=ADMIN_USERNAME,
                email=admin_email,
                password=PASSWORD,
                confirmed=True,
            )
            await create_user(
                session,
                username=MODERATOR[0],
                email=MODERATOR[1],
                password=PASSWORD,
                confirmed=True,
                role=moderator_role,
            )
            author = await create_user(
                session, username=AUTHOR[0], email=AUTHOR[1], password=PASSWORD, confirmed=True
            )
            reader = await create_user(
                session, username=READER[0], email=READER[1], password=PASSWORD, confirmed=True
            )
            await create_user(
                session,
                username=TRAVELLER[0],
                email=TRAVELLER[1],
                password=PASSWORD,
                confirmed=True,
            )
            prolific = await create_user(
                session, username=PROLIFIC[0], email=PROLIFIC[1], password=PASSWORD, confirmed=True
            )
            long_ago = utcnow() - timedelta(days=3 * 365)
            for n in range(PROLIFIC_POSTS):
                old = Post(author_id=prolific.id, timestamp=long_ago + timedelta(minutes=n))
                # A long bare URL: it must wrap, not widen the page on a phone.
                old.set_body(f"Old post {n}: https://example.com/a/long/path/{'x' * 80}")
                session.add(old)
            post = Post(body=AUTHOR_POST, author_id=author.id)
            session.add(post)
            await session.flush()
            session.add(Comment(body=COMMENT_TO_DISABLE, author_id=reader.id, post_id=post.id))
            await session.commit()


if __name__ == "__main__":
    asyncio.run(seed())
