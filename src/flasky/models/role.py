from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flasky.db import Base

if TYPE_CHECKING:
    from flasky.models.user import User


class Permission:
    FOLLOW = 1
    COMMENT = 2
    WRITE = 4
    MODERATE = 8
    ADMIN = 16


# name -> (permissions, is the default role for new users)
ROLES: dict[str, tuple[int, bool]] = {
    "User": (Permission.FOLLOW | Permission.COMMENT | Permission.WRITE, True),
    "Moderator": (
        Permission.FOLLOW | Permission.COMMENT | Permission.WRITE | Permission.MODERATE,
        False,
    ),
    "Administrator": (
        Permission.FOLLOW
        | Permission.COMMENT
        | Permission.WRITE
        | Permission.MODERATE
        | Permission.ADMIN,
        False,
    ),
}


def grants(permissions: int | None, perm: int) -> bool:
    """Whether a role's permission bits (None: no role) include every bit of perm."""
    return permissions is not None and permissions & perm == perm


def may_delete(user: object, author_id: int | None) -> bool:
    """Posts and comments are deleted by their author, or by a moderator (administrators
    are moderators too)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.id == author_id or user.can(Permission.MODERATE)  # type: ignore[attr-defined]


@dataclass
class RoleChanges:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)


class Role(Base):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    default: Mapped[bool] = mapped_column(default=False, index=True)
    permissions: Mapped[int] = mapped_column(default=0)

    users: Mapped[list[User]] = relationship(back_populates="role", lazy="raise")

    def has_permission(self, perm: int) -> bool:
        return grants(self.permissions, perm)

    @staticmethod
    async def insert_roles(session: AsyncSession) -> RoleChanges:
        """Insert or update the three roles; safe to run again. Says what it changed."""
        existing = {r.name: r for r in (await session.scalars(select(Role))).all()}
        changes = RoleChanges()
        for name, (permissions, default) in ROLES.items():
            role = existing.get(name)
            if role is None:
                role = Role(name=name)
                session.add(role)
                changes.created.append(name)
            elif role.permissions != permissions or role.default != default:
                changes.updated.append(name)
            role.permissions = permissions
            role.default = default
        await session.commit()
        return changes

    def __repr__(self) -> str:
        return f"<Role {self.name!r}>"
