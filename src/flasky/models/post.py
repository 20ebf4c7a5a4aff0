from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flasky.db import Base, UTCDateTime, utcnow
from flasky.markdown import render_post

if TYPE_CHECKING:
    from flasky.models.comment import Comment
    from flasky.models.user import User


# Long enough for any blog post; short enough that rendering it stays a few milliseconds.
# The site's form and the API apply the same limit.
POST_MAX_LENGTH = 50_000


class ValidationError(ValueError):
    """Input that cannot make a valid row (the API answers it with 400)."""


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = (Index("ix_posts_author_id_timestamp", "author_id", "timestamp"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # No single-column index: ix_posts_author_id_timestamp serves lookups by author_id too.
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))

    author: Mapped[User] = relationship(back_populates="posts", lazy="raise")
    comments: Mapped[list[Comment]] = relationship(
        back_populates="post", lazy="raise", passive_deletes=True
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if "body" in kwargs:
            self.set_body(kwargs["body"])

    def set_body(self, body: str) -> None:
        """Store the Markdown and its sanitised HTML together (rendered on write)."""
        self.body = body
        self.body_html = render_post(body)

    @staticmethod
    def from_json(json_post: Any) -> Post:
        if not isinstance(json_post, dict):
            raise ValidationError("request body must be a JSON object")
        body = json_post.get("body")
        if not isinstance(body, str):
            raise ValidationError("post must have a body that is a string")
        if not body.strip():
            raise ValidationError("post does not have a body")
        return Post(body=body)

    def __repr__(self) -> str:
        return f"<Post {self.id}>"
