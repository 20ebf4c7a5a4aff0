"""The event log behind notifications and the live stream.

Every row is something a browser may be told about, written in the same transaction as
what caused it; its id is the Server-Sent Events id, so a client that reconnects asks for
the rows after the last id it saw. A row addressed to a user (user_id) goes only to that
user's streams; a row about a post (post_id, no user_id) goes to the streams of those
reading that post. Rows with `listed` set are the user's notifications (the
/notifications page and the navbar count); the others only drive live updates.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntFlag

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from flasky.db import Base, UTCDateTime, utcnow


class Kind:
    """What an event is about; the first four are notifications a user can opt out of."""

    FOLLOWER = "follower"
    COMMENT = "comment"
    MESSAGE = "message"
    POST = "post"
    # A comment appearing under a post, for everyone reading that post.
    POST_COMMENT = "post_comment"
    # Another tab opened the inbox or marked notifications read: badges go to zero.
    MESSAGES_READ = "messages_read"
    NOTIFICATIONS_READ = "notifications_read"
    # The user's sessions ended (logout, revocation): their streams close. Never replayed.
    SESSION_ENDED = "session_ended"


class NotificationKind(IntFlag):
    """Bits of users.notifications_muted: the kinds a user opted out of."""

    FOLLOWER = 1
    COMMENT = 2
    MESSAGE = 4
    POST = 8


NOTIFICATION_KINDS: dict[str, NotificationKind] = {
    Kind.FOLLOWER: NotificationKind.FOLLOWER,
    Kind.COMMENT: NotificationKind.COMMENT,
    Kind.MESSAGE: NotificationKind.MESSAGE,
    Kind.POST: NotificationKind.POST,
}

# Kinds that only steer the server, never sent to a browser nor replayed.
CONTROL_KINDS = frozenset({Kind.SESSION_ENDED})


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_user_id_id", "user_id", "id"),
        Index("ix_events_post_id_id", "post_id", "id"),
        Index("ix_events_timestamp", "timestamp"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    listed: Mapped[bool] = mapped_column(Boolean, default=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    # JSON the browser receives as the event's data (text, link, rendered comment...).
    payload: Mapped[str] = mapped_column(Text, default="{}")
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Event {self.id} {self.kind}>"
