from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flasky.db import Base, UTCDateTime, utcnow
from flasky.markdown import render_comment
from flasky.models.post import ValidationError

if TYPE_CHECKING:
    from flasky.models.post import Post
    from flasky.models.user import User

# The site's form and the API apply the same limit.
COMMENT_MAX_LENGTH = 5_000


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_post_id_timestamp", "post_id", "timestamp"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    disabled: Mapped[bool] = mapped_column(default=False)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # No single-column index: ix_comments_post_id_timestamp serves lookups by post_id too.
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))

    author: Mapped[User] = relationship(back_populates="comments", lazy="raise")
    post: Mapped[Post] = relationship(back_populates="comments", lazy="raise")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if "body" in kwargs:
            self.set_body(kwargs["body"])

    def set_body(self, body: str) -> None:
        self.body = body
        self.body_html = render_comment(body)

    @staticmethod
    def from_json(json_comment: Any) -> Comment:
        if not isinstance(json_comment, dict):
            raise ValidationError("request body must be a JSON object")
        body = json_comment.get("body")
        if not isinstance(body, str):
            raise ValidationError("comment must have a body that is a string")
        if not body.strip():
            raise ValidationError("comment does not have a body")
        return Comment(body=body)

    def __repr__(self) -> str:
        return f"<Comment {self.id}>"
