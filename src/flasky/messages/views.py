"""Pages of private messages. Sending writes the message and its event in one transaction;
opening the inbox moves the user's read mark (the navbar count goes to zero everywhere)."""

from __future__ import annotations

from typing import Any

from quart import abort, flash, redirect, render_template, url_for
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from flasky.db import get_session
from flasky.live import record
from flasky.login import current_user, login_required
from flasky.messages import messages
from flasky.messages.forms import MessageForm
from flasky.models import Block, Message, User
from flasky.models.event import Kind
from flasky.queries import messages as queries
from flasky.queries.pagination import per_page, requested_page
from flasky.queries.users import user_by_username


async def _recipient(username: str) -> User:
    found = await user_by_username(get_session(), username)
    if found is None:
        abort(404)
    return found


@messages.route("/send_message/<username>", methods=["GET", "POST"])
@login_required
async def send_message(username: str) -> Any:
    session = get_session()
    me: User = current_user()  # type: ignore[assignment]
    recipient = await _recipient(username)
    if recipient.id == me.id:
        await flash("You cannot send a message to yourself.")
        return redirect(url_for("main.user", username=username))
    form = await MessageForm.create_form()
    if await form.validate_on_submit():
        if await queries.blocks(session, recipient.id, me.id):
            await flash(f"{recipient.username} does not accept messages from you.")
            return redirect(url_for("main.user", username=username))
        message = Message(sender_id=me.id, recipient_id=recipient.id, body=form.body.data.strip())
        session.add(message)
        await record.message(session, message, me, recipient)
        await session.commit()
        await flash("Your message has been sent.")
        return redirect(url_for("main.user", username=username))
    blocked = await queries.blocks(session, me.id, recipient.id)
    return await render_template(
        "messages/send_message.html", form=form, recipient=recipient, blocked=blocked
    )


@messages.route("/messages")
@login_required
async def inbox() -> str:
    session = get_session()
    me: User = current_user()  # type: ignore[assignment]
    read_id = me.messages_read_id
    page = await queries.inbox_page(
        session,
        me.id,
        read_id,
        page=requested_page(),
        per_page=per_page("FLASKY_MESSAGES_PER_PAGE"),
    )
    if me.unread_messages and await queries.mark_messages_read(session, me.id):
        await record.read_mark(session, me.id, Kind.MESSAGES_READ)
        await session.commit()
        me.unread_messages = 0
    return await render_template("messages/messages.html", messages=page, sent=False)


@messages.route("/messages/sent")
@login_required
async def sent() -> str:
    me: User = current_user()  # type: ignore[assignment]
    page = await queries.sent_page(
        get_session(), me.id, page=requested_page(), per_page=per_page("FLASKY_MESSAGES_PER_PAGE")
    )
    return await render_template("messages/messages.html", messages=page, sent=True)


@messages.route("/block/<username>", methods=["POST"])
@login_required
async def block(username: str) -> Any:
    session = get_session()
    me: User = current_user()  # type: ignore[assignment]
    target = await _recipient(username)
    if target.id == me.id:
        await flash("You cannot block yourself.")
    elif await queries.blocks(session, me.id, target.id):
        await flash(f"You have already blocked {username}.")
    else:
        session.add(Block(blocker_id=me.id, blocked_id=target.id))
        try:
            await session.commit()
        except IntegrityError:  # a second click that raced the first
            await session.rollback()
        await flash(f"You have blocked {username}: they cannot send you messages.")
    return redirect(url_for("main.user", username=username))


@messages.route("/unblock/<username>", methods=["POST"])
@login_required
async def unblock(username: str) -> Any:
    session = get_session()
    me: User = current_user()  # type: ignore[assignment]
    target = await _recipient(username)
    result = await session.execute(
        delete(Block).where(Block.blocker_id == me.id, Block.blocked_id == target.id)
    )
    await session.commit()
    if result.rowcount:
        await flash(f"You have unblocked {username}.")
    else:
        await flash(f"You have not blocked {username}.")
    return redirect(url_for("main.user", username=username))
