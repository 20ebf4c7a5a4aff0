"""Account administration from the command line (`flasky users`): list the accounts and give
one a role, so a site whose first user registered before FLASKY_ADMIN was set still gets
an administrator."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flasky.models import Role, User
from flasky.models.user import normalise_email


class AccountError(LookupError):
    """No such account or role; the message says which."""


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    email: str
    role: str
    confirmed: bool


async def list_accounts(session: AsyncSession) -> list[Account]:
    rows = await session.execute(
        select(User.id, User.username, User.email, Role.name, User.confirmed)
        .outerjoin(Role, Role.id == User.role_id)
        .order_by(User.id)
    )
    return [Account(*row) for row in rows.tuples()]


async def set_role(session: AsyncSession, email: str, role_name: str) -> tuple[str, str]:
    """Give the account of `email` the named role; returns (username, previous role)."""
    role = await session.scalar(select(Role).where(Role.name == role_name))
    if role is None:
        names = (await session.scalars(select(Role.name).order_by(Role.permissions))).all()
        raise AccountError(f"No role {role_name!r}; the roles are {', '.join(names)}.")
    user = await session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise AccountError(f"No account with the email address {email!r}.")
    previous = await session.scalar(select(Role.name).where(Role.id == user.role_id))
    user.role_id = role.id
    await session.commit()
    return user.username, previous or "none"
