from __future__ import annotations

from typing import Any

from quart import flash, redirect, render_template, url_for

from flasky.db import get_session
from flasky.live import record
from flasky.live.stream import event_stream
from flasky.login import current_user, login_required
from flasky.models import User
from flasky.models.event import NOTIFICATION_KINDS, Kind
from flasky.notifications import notifications
from flasky.notifications.forms import NotificationSettingsForm
from flasky.queries import notifications as queries
from flasky.queries.pagination import per_page, requested_page


@notifications.route("/notifications")
@login_required
async def index() -> str:
    me: User = current_user()  # type: ignore[assignment]
    items = await queries.notifications_page(
        get_session(),
        me.id,
        me.notifications_read_id,
        page=requested_page(),
        per_page=per_page("FLASKY_NOTIFICATIONS_PER_PAGE"),
    )
    return await render_template("notifications/index.html", notifications=items)


@notifications.route("/notifications/read", methods=["POST"])
@login_required
async def mark_all_read() -> Any:
    session = get_session()
    me: User = current_user()  # type: ignore[assignment]
    if await queries.mark_notifications_read(session, me.id):
        await record.read_mark(session, me.id, Kind.NOTIFICATIONS_READ)
        await session.commit()
    await flash("All notifications are marked as read.")
    return redirect(url_for(".index"))


@notifications.route("/settings/notifications", methods=["GET", "POST"])
@login_required
async def settings() -> Any:
    me: User = current_user()  # type: ignore[assignment]
    current = {
        kind: not me.notifications_muted & int(bit) for kind, bit in NOTIFICATION_KINDS.items()
    }
    form = await NotificationSettingsForm.create_form(data=current)
    if await form.validate_on_submit():
        muted = 0
        for kind, bit in NOTIFICATION_KINDS.items():
            if not form[kind].data:
                muted |= int(bit)
        me.notifications_muted = muted
        await get_session().commit()
        await flash("Your notification settings have been updated.")
        return redirect(url_for(".settings"))
    return await render_template("notifications/settings.html", form=form)


@notifications.route("/events")
@login_required
async def events() -> Any:
    """The signed-in user's live events (text/event-stream); see flasky.live.stream."""
    return await event_stream(get_session(), current_user().id)
