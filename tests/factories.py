"""Small helpers that create rows the way the app does."""

from __future__ import annotations

from itertools import count
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flasky.models import Comment, Post, Role, User
from flasky.models.login_session import BROWSER, open_session
from flasky.models.user import create_user

_sequence = count(1)
# A password the new-password rule accepts (long enough, not a common one), for forms that
# set one; make_user stores "cat" directly, as accounts made before the rule may have.
STRONG_PASSWORD = "mellow-harbour-kettle"
# The default FLASKY_SESSION_LIFETIME: the logins make_user opens outlive any test.
TEST_LOGIN_LIFETIME = 43200


async def make_user(
    session: AsyncSession,
    *,
    username: str | None = None,
    email: str | None = None,
    password: str = "cat",
    confirmed: bool = True,
    role: str | None = None,
    **fields: Any,
) -> User:
    n = next(_sequence)
    username = username or f"user{n}"
    email = email or f"{username}@example.com"
    if role is not None:
        fields["role"] = await session.scalar(select(Role).where(Role.name == role))
    user = await create_user(
        session, username=username, email=email, password=password, confirmed=confirmed, **fields
    )
    # A login of their own, as if they had signed in once: login_as hands its cookie out.
    user.test_login_secret = open_session(session, user.id, BROWSER, TEST_LOGIN_LIFETIME)
    await session.commit()
    return user


async def make_post(
    session: AsyncSession, author: User, body: str = "a post", **fields: Any
) -> Post:
    post = Post(body=body, author_id=author.id, **fields)
    session.add(post)
    await session.commit()
    return post


async def make_comment(
    session: AsyncSession, author: User, post: Post, body: str = "a comment", **fields: Any
) -> Comment:
    comment = Comment(body=body, author_id=author.id, post_id=post.id, **fields)
    session.add(comment)
    await session.commit()
    return comment


async def api_token(session: AsyncSession, user: User, expiration: int = 3600) -> str:
    """An API token for user, as POST /api/v1/tokens/ issues it."""
    token = user.issue_auth_token(session, expiration)
    await session.commit()
    return token


def basic_auth(username: str, password: str = "") -> dict[str, str]:
    import base64

    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Accept": "application/json"}


def login_as(client: Any, user: User) -> None:
    """Give the test client the cookie of `user`'s login (made by make_user), as a
    successful login would."""
    from quart_auth import generate_auth_token

    secret = getattr(user, "test_login_secret", None)
    assert secret is not None, "login_as needs a user made by make_user"
    app = client.app
    token = generate_auth_token(client, secret)
    client.set_cookie("localhost", app.config["QUART_AUTH_COOKIE_NAME"], token, path="/")


def logout(client: Any) -> None:
    client.delete_cookie("localhost", client.app.config["QUART_AUTH_COOKIE_NAME"], path="/")


ROLES = ["anonymous", "User", "Moderator", "Administrator"]


async def sign_in_as(client: Any, session: AsyncSession, role: str, **fields: Any) -> User | None:
    """A confirmed user of `role` logged in on `client`; "anonymous" logs nobody in."""
    if role == "anonymous":
        return None
    user = await make_user(session, role=role, **fields)
    login_as(client, user)
    return user
