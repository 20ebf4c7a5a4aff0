"""Private messages between users, and who refuses messages from whom."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from flasky.db import Base, UTCDateTime, utcnow
from flasky.models.post import ValidationError

MESSAGE_MAX_LENGTH = 2000


class Message(Base):
    __tablename__ = "messages"
    # The inbox and the unread count read a recipient's messages by id; the sent view a
    # sender's.
    __table_args__ = (
        Index("ix_messages_recipient_id_id", "recipient_id", "id"),
        Index("ix_messages_sender_id_id", "sender_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Plain text, escaped when shown: a private message is not Markdown.
    body: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @staticmethod
    def from_json(json_message: Any) -> Message:
        if not isinstance(json_message, dict):
            raise ValidationError("request body must be a JSON object")
        body = json_message.get("body")
        if not isinstance(body, str):
            raise ValidationError("message must have a body that is a string")
        if not body.strip():
            raise ValidationError("message does not have a body")
        return Message(body=body.strip())

    def __repr__(self) -> str:
        return f"<Message {self.id}>"


class Block(Base):
    """blocker_id accepts no message from blocked_id, nor notifications caused by them."""

    __tablename__ = "blocks"

    blocker_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    blocked_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
