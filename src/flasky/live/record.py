"""Writing events in the transaction of what caused them.

Each function adds rows to the caller's session and leaves the commit to it: the event
exists exactly when the follow, comment, post or message does. Notifications skip users
who muted the kind or who blocked the actor, in the same INSERT ... SELECT, so a post by
someone with many followers is two statements, not one per follower.
"""

from __future__ import annotations

import json
from typing import Any

from quart import url_for
from sqlalchemy import Select, and_, exists, insert, literal, not_, select
from sqlalchemy.ext.asyncio import AsyncSession

from flasky.avatars.pictures import avatar_url
from flasky.db import utcnow
from flasky.live import bus
from flasky.models import Block, Comment, Event, Follow, Message, Post, User
from flasky.models.event import NOTIFICATION_KINDS, Kind
from flasky.queries.signed_in import TokenCaller


def _payload(**fields: Any) -> str:
    return json.dumps(fields, separators=(",", ":"))


def _accepts(kind: str, actor_id: int) -> Any:
    """Recipients (users rows) that have not muted `kind` nor blocked the actor."""
    bit = int(NOTIFICATION_KINDS[kind])
    return and_(
        User.notifications_muted.op("&")(bit) == 0,
        not_(exists().where(Block.blocker_id == User.id, Block.blocked_id == actor_id)),
    )


async def _notify(
    session: AsyncSession,
    kind: str,
    recipients: Select,
    *,
    actor: User,
    url: str,
    text: str,
    post_id: int | None = None,
    comment_id: int | None = None,
) -> None:
    """One listed event per recipient id that `recipients` selects (and accepts the kind):
    what the notifications list shows, "`text`", linking to `url`."""
    actor_id = actor.id
    payload = _payload(kind=kind, listed=True, actor=actor.username, url=url, text=text)
    now = utcnow()
    rows = select(
        User.id,
        # Typed, so PostgreSQL knows each parameter's type inside the SELECT list.
        literal(kind, Event.kind.type),
        literal(True, Event.listed.type),
        literal(actor_id, Event.actor_id.type),
        literal(post_id, Event.post_id.type),
        literal(comment_id, Event.comment_id.type),
        literal(payload, Event.payload.type),
        literal(now, Event.timestamp.type),
    ).where(User.id.in_(recipients), _accepts(kind, actor_id))
    statement = (
        insert(Event)
        .from_select(
            [
                "user_id",
                "kind",
                "listed",
                "actor_id",
                "post_id",
                "comment_id",
                "payload",
                "timestamp",
            ],
            rows,
        )
        .returning(Event.id, Event.user_id, Event.post_id)
    )
    written = (await session.execute(statement)).all()
    await bus.stage(session, [tuple(row) for row in written])


async def _add(session: AsyncSession, *events: Event) -> None:
    session.add_all(events)
    await session.flush()
    await bus.stage(session, [(e.id, e.user_id, e.post_id) for e in events])


async def follow(session: AsyncSession, follower: User, followed: User) -> None:
    """`followed` learns that `follower` follows them now."""
    await _notify(
        session,
        Kind.FOLLOWER,
        select(literal(followed.id, User.id.type)),
        actor=follower,
        url=url_for("main.user", username=follower.username),
        text=f"{follower.username} is now following you.",
    )


async def comment(
    session: AsyncSession, comment: Comment, author: User | TokenCaller, post: Any
) -> None:
    """The comment appears under the post for its readers, and the post's author is
    notified (`post` needs `id` and `author_id`)."""
    await session.flush()  # the comment's id and timestamp
    url = url_for("main.post", id=post.id, page=-1, _anchor=f"comment-{comment.id}")
    live = Event(
        kind=Kind.POST_COMMENT,
        post_id=post.id,
        actor_id=author.id,
        comment_id=comment.id,
        payload=_payload(
            kind=Kind.POST_COMMENT,
            id=comment.id,
            post_id=post.id,
            author=author.username,
            author_url=url_for("main.user", username=author.username),
            avatar=avatar_url(author),
            body_html=comment.body_html or "",
            timestamp=comment.timestamp.isoformat(),
        ),
    )
    await _add(session, live)
    if post.author_id != author.id:
        await _notify(
            session,
            Kind.COMMENT,
            select(literal(post.author_id, User.id.type)),
            actor=author,
            url=url,
            text=f"{author.username} commented on your post.",
            post_id=post.id,
            comment_id=comment.id,
        )


async def post(session: AsyncSession, post: Post, author: User | TokenCaller) -> None:
    """Everyone following the author (but the author) hears of the new post."""
    await session.flush()  # the post's id
    followers = select(Follow.follower_id).where(
        Follow.followed_id == author.id, Follow.follower_id != author.id
    )
    await _notify(
        session,
        Kind.POST,
        followers,
        actor=author,
        url=url_for("main.post", id=post.id),
        text=f"{author.username} published a new post.",
        post_id=post.id,
    )


async def message(
    session: AsyncSession, message: Message, sender: User | TokenCaller, recipient: User
) -> None:
    """The recipient's inbox count goes up; it is also a notification unless muted."""
    await session.flush()  # the message's id
    url = url_for("messages.inbox")
    listed = not recipient.notifications_muted & int(NOTIFICATION_KINDS[Kind.MESSAGE])
    event = Event(
        kind=Kind.MESSAGE,
        user_id=recipient.id,
        actor_id=sender.id,
        message_id=message.id,
        listed=listed,
        payload=_payload(
            kind=Kind.MESSAGE,
            listed=listed,
            actor=sender.username,
            url=url,
            text=f"{sender.username} sent you a message.",
            id=message.id,
            body=message.body,
        ),
    )
    await _add(session, event)


async def read_mark(session: AsyncSession, user_id: int, kind: str) -> None:
    """The user's other tabs set the messages (or notifications) badge to zero."""
    await _add(session, Event(kind=kind, user_id=user_id, payload=_payload(kind=kind)))


async def session_ended(session: AsyncSession, user_id: int) -> None:
    """Every open stream of the user closes; those still signed in reconnect."""
    await _add(session, Event(kind=Kind.SESSION_ENDED, user_id=user_id, payload="{}"))
