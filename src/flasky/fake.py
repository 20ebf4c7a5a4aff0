"""Fake users, posts and comments for development and benchmarks (`flasky fake ...`).

Rows go in with batched INSERTs, one commit per batch. Every fake user shares one
password hash (computed once: scrypt costs ~100 ms, so hashing per user would take
minutes for a thousand users). With a seed the same data comes out every time.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Callable
from datetime import datetime, timedelta

from faker import Faker
from sqlalchemy import insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from flasky import security
from flasky.db import utcnow
from flasky.markdown import render_comment
from flasky.models import Comment, Follow, Post, Role, User
from flasky.models.post import post_body_columns
from flasky.models.user import email_hash, email_key, username_key

BATCH_SIZE = 500
FAKE_PASSWORD = "password"
# The book's registration rule for usernames.
MAX_USERNAME = 64

Progress = Callable[[int], None]


class NotEnoughData(RuntimeError):
    """Posts need users, comments need posts: make those first."""


class FakeData:
    def __init__(self, session: AsyncSession, seed: int | None = None) -> None:
        self.session = session
        self.faker = Faker()
        self.random = random.Random(seed)
        if seed is not None:
            self.faker.seed_instance(seed)

    async def _require_schema(self) -> None:
        connection = await self.session.connection()
        if not await connection.run_sync(lambda c: inspect(c).has_table(User.__tablename__)):
            raise NotEnoughData("The database has no tables yet: run `flasky deploy` first.")

    def _between(self, start: datetime, end: datetime) -> datetime:
        if end <= start:
            return end
        return start + (end - start) * self.random.random()

    def _username(self, taken: set[str]) -> str:
        name = re.sub(r"[^A-Za-z0-9_.]", "", self.faker.user_name())[: MAX_USERNAME - 6]
        if not name or not name[0].isalpha():
            name = "user" + name
        while name.lower() in taken:
            name = f"{name[: MAX_USERNAME - 6]}{self.random.randint(1, 99999)}"
        return name

    async def _taken(self, column, values: list[str]) -> set[str]:  # noqa: ANN001
        rows = await self.session.scalars(select(column).where(column.in_(values)))
        return {value.lower() for value in rows}

    async def users(
        self,
        count: int,
        password: str = FAKE_PASSWORD,
        hash_method: str | None = None,
        progress: Progress | None = None,
    ) -> int:
        await self._require_schema()
        role_id = await self.session.scalar(select(Role.id).where(Role.default.is_(True)))
        if role_id is None:
            raise NotEnoughData("There are no roles yet: run `flasky deploy` first.")
        method = hash_method or security.DEFAULT_HASH_METHOD
        password_hash = await asyncio.to_thread(security.hash_password, password, method)
        now = utcnow()
        used: set[str] = set()  # lower-cased usernames and emails made in this run
        created = 0
        while created < count:
            rows = []
            for _ in range(min(BATCH_SIZE, count - created)):
                username = self._username(used)
                used.add(username.lower())
                email = f"{username.lower()}@{self.faker.free_email_domain()}"
                used.add(email)
                member_since = now - timedelta(days=730 * self.random.random())
                rows.append(
                    {
                        "username": username,
                        "email": email,
                        "avatar_hash": email_hash(email),  # bulk inserts skip @validates
                        "password_hash": password_hash,
                        "confirmed": True,
                        "role_id": role_id,
                        "name": self.faker.name()[:64],
                        "location": self.faker.city()[:64],
                        "about_me": self.faker.sentence(nb_words=12),
                        "member_since": member_since,
                        "last_seen": self._between(member_since, now),
                    }
                )
            # Names already in the database (from an earlier run) are dropped and remade;
            # compared as the unique indexes compare them, in normalised form.
            taken = await self._taken(
                User.username_key, [username_key(r["username"]) for r in rows]
            )
            taken |= await self._taken(User.email_key, [email_key(r["email"]) for r in rows])
            rows = [
                r
                for r in rows
                if username_key(r["username"]) not in taken and email_key(r["email"]) not in taken
            ]
            if not rows:
                continue
            ids = (await self.session.scalars(insert(User).returning(User.id), rows)).all()
            await self.session.execute(
                insert(Follow),
                [{"follower_id": i, "followed_id": i, "timestamp": now} for i in ids],
            )
            await self.session.commit()
            created += len(ids)
            if progress:
                progress(len(ids))
        return created

    async def posts(self, count: int, progress: Progress | None = None) -> int:
        await self._require_schema()
        authors = (
            await self.session.execute(select(User.id, User.member_since).order_by(User.id))
        ).all()
        if not authors:
            raise NotEnoughData("There are no users yet: run `flasky fake users N` first.")
        now = utcnow()
        created = 0
        while created < count:
            rows = []
            for _ in range(min(BATCH_SIZE, count - created)):
                author_id, member_since = self.random.choice(authors)
                body = self.faker.paragraph(nb_sentences=self.random.randint(1, 5))
                # A bulk insert skips Post.set_body: store what it would derive.
                rows.append(
                    {
                        **post_body_columns(body),
                        "timestamp": self._between(member_since, now),
                        "author_id": author_id,
                    }
                )
            await self.session.execute(insert(Post), rows)
            await self.session.commit()
            created += len(rows)
            if progress:
                progress(len(rows))
        return created

    async def comments(self, count: int, progress: Progress | None = None) -> int:
        await self._require_schema()
        posts = (
            await self.session.execute(select(Post.id, Post.timestamp).order_by(Post.id))
        ).all()
        if not posts:
            raise NotEnoughData("There are no posts yet: run `flasky fake posts N` first.")
        authors = (await self.session.scalars(select(User.id).order_by(User.id))).all()
        now = utcnow()
        created = 0
        while created < count:
            rows = []
            for _ in range(min(BATCH_SIZE, count - created)):
                post_id, posted = self.random.choice(posts)
                body = self.faker.sentence(nb_words=self.random.randint(3, 20))
                rows.append(
                    {
                        "body": body,
                        "body_html": render_comment(body),
                        "timestamp": self._between(posted, now),
                        "disabled": False,
                        "author_id": self.random.choice(authors),
                        "post_id": post_id,
                    }
                )
            await self.session.execute(insert(Comment), rows)
            await self.session.commit()
            created += len(rows)
            if progress:
                progress(len(rows))
        return created
