"""The streams benchmark's subscribers as accounts: confirmed users of their own, each
with a fresh API token, inserted in bulk (one token row per user; no password is checked,
so no scrypt runs)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import DBAPIError

from flasky import security
from flasky.db import utcnow
from flasky.models import Role, User
from flasky.models.login_session import API, LoginSession, session_key
from flasky.models.user import email_hash
from flasky_bench.seed import catch_up_sequences, find_landmarks, make_engine, seed_database
from flasky_bench.servers import BENCH_SECRET_KEY

STREAM_USER_PREFIX = "streamer"
TOKEN_LIFETIME = 86400


async def stream_tokens(database_url: str, count: int) -> tuple[list[tuple[int, str]], str, int]:
    """`count` confirmed users of their own (created once, reused), each with a fresh API
    token; a token for the sender (the bench user); the post the subscribers read."""
    try:
        landmarks = await find_landmarks(database_url)
    except (LookupError, DBAPIError):  # not seeded yet (no bench user, or no tables)
        landmarks = await seed_database(database_url, hash_method="pbkdf2:sha256:1000")
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            pattern = f"{STREAM_USER_PREFIX}%"
            have = (
                (
                    await conn.execute(
                        select(User.id).where(User.username.like(pattern)).order_by(User.id)
                    )
                )
                .scalars()
                .all()
            )
            if len(have) < count:
                role_id = await conn.scalar(select(Role.id).where(Role.default.is_(True)))
                start = (await conn.scalar(select(func.max(User.id)))) + 1
                rows = []
                for uid in range(start, start + count - len(have)):
                    email = f"{STREAM_USER_PREFIX}{uid}@example.com"
                    rows.append(
                        {
                            "id": uid,
                            "email": email,
                            "username": f"{STREAM_USER_PREFIX}{uid}",
                            "role_id": role_id,
                            "confirmed": True,
                            "avatar_hash": email_hash(email),
                        }
                    )
                for first in range(0, len(rows), 1000):
                    await conn.execute(insert(User.__table__), rows[first : first + 1000])
                await catch_up_sequences(conn)
                have = list(have) + [row["id"] for row in rows]
            # The previous run's tokens of these users go; the sender's other tokens stay.
            stale = delete(LoginSession.__table__).where(LoginSession.user_id.in_(have))
            await conn.execute(stale)
            users = list(have[:count]) + [landmarks.bench_user_id]
            now = utcnow()
            tokens, rows = [], []
            for uid in users:
                secret = secrets.token_urlsafe(32)
                rows.append(
                    {
                        "id": session_key(secret),
                        "user_id": uid,
                        "kind": API,
                        "remember": False,
                        "created": now,
                        "expires": now + timedelta(seconds=TOKEN_LIFETIME),
                    }
                )
                payload = {"id": uid, "sid": secret}
                token = security.make_token(
                    security.API, payload, TOKEN_LIFETIME, secret_key=BENCH_SECRET_KEY
                )
                tokens.append((uid, token))
            for first in range(0, len(rows), 1000):
                await conn.execute(insert(LoginSession.__table__), rows[first : first + 1000])
    finally:
        await engine.dispose()
    return tokens[:-1], tokens[-1][1], landmarks.top_post_id
