from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flasky.db import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from flasky.models.user import User


class Follow(Base):
    __tablename__ = "follows"

    follower_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # Indexed on its own: the primary key only serves lookups that start with follower_id.
    followed_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    follower: Mapped[User] = relationship(foreign_keys=[follower_id], lazy="raise")
    followed: Mapped[User] = relationship(foreign_keys=[followed_id], lazy="raise")
