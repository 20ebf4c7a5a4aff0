"""Small helpers that create rows the way the app does."""

from __future__ import annotations

from itertools import count
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flasky.models import Comment, Post, Role, User
from flasky.models.user import create_user

_sequence = count(1)


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
    await session.commit()
    return user


async def make_post(session: AsyncSession, author: User, body: str = "a post", **fields: Any) -> Post:
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


def basic_auth(username: str, password: str = "") -> dict[str, str]:
    import base64

    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Accept": "application/json"}


def login_as(client: Any, user: User) -> None:
    """Give the test client `user`'s login cookie, as a successful login would."""
    from quart_auth import generate_auth_token

    from flasky.login import auth_id_for

    app = client.app
    token = generate_auth_token(client, auth_id_for(user, app=app))
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
