"""The benchmark's data set: deterministic, skewed like a real blog, inserted in bulk.

The shape follows issue 7: 100 users, 2,000 posts, 5,000 comments; a few authors write
most posts (Zipf-like weights), one post carries ~600 comments and a few more carry
hundreds. Everything comes from one `random.Random(seed)` and a fixed epoch, so two
seeds with the same arguments produce the same rows on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from flasky.config import async_database_url
from flasky.db import Base
from flasky.markdown import render_comment
from flasky.models import Comment, Follow, Post, Role, User
from flasky.models.post import post_body_columns
from flasky.models.role import ROLES
from flasky.models.user import email_hash

SEED = 20261124
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)

# The account the benchmark logs in with (API runs with email:password and for tokens).
BENCH_USERNAME = "bench"
BENCH_EMAIL = "bench@example.com"
BENCH_PASSWORD = "bench-password"

# `flasky bench seed --large`: the search benchmark's data set.
LARGE = {"users": 1000, "posts": 100_000, "comments": 100_000}
# With search words, this share of posts also names one of RARE_WORDS made-up words: each
# is in about posts x share / RARE_WORDS posts (~10 of 100,000), a search's rare word.
RARE_WORD_SHARE = 0.5
RARE_WORDS = 5000

# (share of the 5,000 comments) for the hot posts; the first is "the post with ~600".
HOT_POST_COMMENTS = (600, 300, 200, 150)

_FIRST = (
    "ada alan barbara claude dennis edsger frances grace guido hedy ivan john ken "
    "linus margaret niklaus radia sophie tim yukihiro"
).split()
_LAST = (
    "lovelace turing liskov shannon ritchie dijkstra allen hopper rossum lamarr "
    "sutherland backus thompson torvalds hamilton wirth perlman wilson lee matsumoto"
).split()
_WORDS = (
    "async await loop event socket thread queue latency request response template "
    "database index query session worker process coroutine future task lock pool "
    "cache header cookie token password hash page post comment user follow blog "
    "python quart flask hypercorn sqlalchemy postgres sqlite markdown html json "
    "fast slow simple careful measure profile benchmark result table plot number "
    "the a of to and in is it that for on with as this by from at be are was"
).split()


@dataclass
class DataSet:
    """Rows ready for bulk inserts (dicts keyed by column name)."""

    users: list[dict[str, Any]] = field(default_factory=list)
    follows: list[dict[str, Any]] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Landmarks:
    """What `bench run` requests: found in the database, so any seed works."""

    bench_user_id: int
    bench_email: str
    top_author: str
    top_author_posts: int
    top_post_id: int
    top_post_comments: int


def _sentence(rng: random.Random) -> str:
    words = rng.choices(_WORDS, k=rng.randint(6, 16))
    words[0] = words[0].capitalize()
    return " ".join(words) + "."


def _post_body(rng: random.Random) -> str:
    paragraphs = []
    for _ in range(rng.randint(1, 3)):
        sentences = [_sentence(rng) for _ in range(rng.randint(1, 4))]
        paragraphs.append(" ".join(sentences))
    roll = rng.random()
    if roll < 0.2:
        paragraphs.append(f"Some **{rng.choice(_WORDS)}** and *{rng.choice(_WORDS)}*.")
    elif roll < 0.3:
        paragraphs.append(f"See https://example.com/{rng.choice(_WORDS)} for more.")
    elif roll < 0.35:
        paragraphs.append("\n".join(f"- {rng.choice(_WORDS)}" for _ in range(3)))
    return "\n\n".join(paragraphs)


def rare_words(seed: int = SEED) -> list[str]:
    """Made-up words (three syllables), none of them in _WORDS or the names."""
    rng = random.Random(seed + 1)
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    words: set[str] = set()
    while len(words) < RARE_WORDS:
        words.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(3)))
    return sorted(words)


def _comment_body(rng: random.Random) -> str:
    body = " ".join(_sentence(rng) for _ in range(rng.randint(1, 2)))
    if rng.random() < 0.1:
        body += f" **{rng.choice(_WORDS)}**"
    return body


def _zipf_weights(rng: random.Random, n: int, exponent: float) -> list[float]:
    weights = [1.0 / (rank + 1) ** exponent for rank in range(n)]
    rng.shuffle(weights)
    return weights


def generate(
    *,
    users: int = 100,
    posts: int = 2000,
    comments: int = 5000,
    seed: int = SEED,
    password_hash: str,
    user_role_id: int,
    search_words: bool = False,
) -> DataSet:
    """Build the rows. Bodies are rendered to HTML with the app's own renderer. With
    `search_words`, some posts also get a rare word (from their own random stream, so the
    rest of the data set is the same either way)."""
    if users < 2 or posts < 1 or comments < 0:
        raise ValueError("need at least 2 users and 1 post")
    rng = random.Random(seed)
    rare_rng = random.Random(seed + 2)
    rare = rare_words(seed) if search_words else []
    data = DataSet()

    for uid in range(1, users + 1):
        if uid == 1:
            username, email, name = BENCH_USERNAME, BENCH_EMAIL, "Bench Mark"
        else:
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            username = f"{first}.{last}{uid}"
            email = f"{username}@example.com"
            name = f"{first.capitalize()} {last.capitalize()}"
        member_since = EPOCH - timedelta(days=rng.randint(30, 900))
        data.users.append(
            {
                "id": uid,
                "email": email,
                "username": username,
                "role_id": user_role_id,
                "password_hash": password_hash,
                "confirmed": True,
                "name": name,
                "location": rng.choice(["Lisbon", "Oslo", "Lima", "Pune", None]),
                "about_me": " ".join(rng.choices(_WORDS, k=rng.randint(3, 12))),
                "member_since": member_since,
                "last_seen": EPOCH + timedelta(days=364, minutes=rng.randint(0, 1440)),
                "avatar_hash": email_hash(email),
            }
        )

    user_ids = [u["id"] for u in data.users]
    for uid in user_ids:
        others = [o for o in user_ids if o != uid]
        followed = {uid} | set(rng.sample(others, k=min(len(others), rng.randint(3, 30))))
        for target in sorted(followed):
            data.follows.append(
                {
                    "follower_id": uid,
                    "followed_id": target,
                    "timestamp": EPOCH - timedelta(days=rng.randint(0, 29)),
                }
            )

    # A few prolific authors: Zipf weights over the users.
    author_weights = _zipf_weights(rng, users, 1.1)
    authors = rng.choices(user_ids, weights=author_weights, k=posts)
    post_times = sorted(
        EPOCH + timedelta(seconds=rng.randint(0, 364 * 86400)) for _ in range(posts)
    )
    for pid in range(1, posts + 1):
        body = _post_body(rng)
        if rare and rare_rng.random() < RARE_WORD_SHARE:
            body += f" Also {rare_rng.choice(rare)}."
        data.posts.append(
            {
                "id": pid,
                **post_body_columns(body),
                "timestamp": post_times[pid - 1],
                "author_id": authors[pid - 1],
            }
        )

    # Hot posts get fixed comment counts; the rest share what is left, skewed again.
    post_ids = [p["id"] for p in data.posts]
    hot = rng.sample(post_ids, k=min(len(HOT_POST_COMMENTS), posts))
    per_post = dict.fromkeys(post_ids, 0)
    remaining = comments
    for pid, count in zip(hot, HOT_POST_COMMENTS, strict=False):
        take = min(count, remaining)
        per_post[pid] = take
        remaining -= take
    cold = [pid for pid in post_ids if pid not in set(hot)] or post_ids
    if remaining:
        cold_weights = _zipf_weights(rng, len(cold), 0.8)
        for pid in rng.choices(cold, weights=cold_weights, k=remaining):
            per_post[pid] += 1

    posts_by_id = {p["id"]: p for p in data.posts}
    cid = 0
    for pid in post_ids:
        start = posts_by_id[pid]["timestamp"]
        times = sorted(
            start + timedelta(seconds=rng.randint(60, 30 * 86400)) for _ in range(per_post[pid])
        )
        for when in times:
            cid += 1
            body = _comment_body(rng)
            data.comments.append(
                {
                    "id": cid,
                    "body": body,
                    "body_html": render_comment(body),
                    "timestamp": when,
                    "disabled": rng.random() < 0.02,
                    "author_id": rng.choice(user_ids),
                    "post_id": pid,
                }
            )
    return data


def make_engine(database_url: str) -> AsyncEngine:
    return create_async_engine(async_database_url(database_url))


async def _chunked_insert(
    conn: Any, table: Any, rows: list[dict[str, Any]], size: int = 1000
) -> None:
    for start in range(0, len(rows), size):
        await conn.execute(insert(table), rows[start : start + size])


async def catch_up_sequences(conn: Any) -> None:
    """After bulk inserts with explicit ids: PostgreSQL's sequences are left behind, and
    later inserts by the app need them."""
    if conn.dialect.name != "postgresql":
        return
    for table in ("users", "posts", "comments", "roles"):
        await conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        )


async def analyze(engine: AsyncEngine) -> None:
    """Fresh planner statistics for the bulk-loaded tables."""
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("ANALYZE"))
        await conn.commit()


async def seed_database(
    database_url: str,
    *,
    users: int = 100,
    posts: int = 2000,
    comments: int = 5000,
    seed: int = SEED,
    password: str = BENCH_PASSWORD,
    hash_method: str = "scrypt",
    search_words: bool = False,
) -> Landmarks:
    """Drop and recreate the schema (the search index with it), then insert the data set
    in bulk."""
    from werkzeug.security import generate_password_hash

    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.run_sync(Base.metadata.create_all)
            await conn.execute(
                insert(Role.__table__),
                [
                    {"name": name, "permissions": perms, "default": default}
                    for name, (perms, default) in ROLES.items()
                ],
            )
            user_role_id = await conn.scalar(select(Role.id).where(Role.default.is_(True)))
        # One hash, shared by every account: hashing 100 scrypt passwords would take 13 s
        # and measure nothing.
        data = generate(
            users=users,
            posts=posts,
            comments=comments,
            seed=seed,
            password_hash=generate_password_hash(password, method=hash_method),
            user_role_id=user_role_id,
            search_words=search_words,
        )
        async with engine.begin() as conn:
            await _chunked_insert(conn, User.__table__, data.users)
            await _chunked_insert(conn, Follow.__table__, data.follows)
            await _chunked_insert(conn, Post.__table__, data.posts)
            await _chunked_insert(conn, Comment.__table__, data.comments)
            await catch_up_sequences(conn)
        await analyze(engine)
    finally:
        await engine.dispose()
    return await find_landmarks(database_url)


async def find_landmarks(database_url: str) -> Landmarks:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            bench = (
                await conn.execute(
                    select(User.id, User.email).where(User.username == BENCH_USERNAME)
                )
            ).first()
            if bench is None:
                raise LookupError("no benchmark user: run `flasky bench seed` first")
            post_count = func.count(Post.id).label("n")
            top_author = (
                await conn.execute(
                    select(User.username, post_count)
                    .join(Post, Post.author_id == User.id)
                    .group_by(User.id, User.username)
                    .order_by(post_count.desc(), User.id)
                    .limit(1)
                )
            ).one()
            comment_count = func.count(Comment.id).label("n")
            top_post = (
                await conn.execute(
                    select(Comment.post_id, comment_count)
                    .group_by(Comment.post_id)
                    .order_by(comment_count.desc(), Comment.post_id)
                    .limit(1)
                )
            ).one()
    finally:
        await engine.dispose()
    return Landmarks(
        bench_user_id=bench.id,
        bench_email=bench.email,
        top_author=top_author.username,
        top_author_posts=top_author.n,
        top_post_id=top_post.post_id,
        top_post_comments=top_post.n,
    )


async def ensure_database(database_url: str) -> None:
    """Create a PostgreSQL database that does not exist yet (SQLite files create themselves)."""
    url = make_url(async_database_url(database_url))
    if url.get_backend_name() != "postgresql" or not url.database:
        return
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            exists = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
            )
            if not exists:
                quoted = url.database.replace('"', '""')
                await conn.execute(text(f'CREATE DATABASE "{quoted}"'))
    finally:
        await admin.dispose()
