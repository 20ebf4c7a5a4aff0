"""Profiles: a user's page, editing a profile, following and the followers lists.

The signed-in user is `me`; the user whose page it is, `profile` (or `target` for the
one being followed or edited).
"""

from __future__ import annotations

from typing import Any

from quart import Response, abort, flash, redirect, render_template, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from flasky.db import get_session
from flasky.live import record
from flasky.login import (
    admin_required,
    current_user,
    login_required,
    permission_required,
    revoke_other_sessions,
)
from flasky.main import main
from flasky.main.forms import EditProfileAdminForm, EditProfileForm
from flasky.models import Permission, Role, User
from flasky.models.user import load_user
from flasky.queries import follows, posts, profiles, users
from flasky.queries.pagination import per_page, requested_page
from flasky.queries.users import AuthorCard


@main.route("/user/<username>")
async def user(username: str) -> str:
    session = get_session()
    me = current_user()
    # One's own profile needs no second load of the same row; another's comes with its
    # figures and page of posts in one statement.
    profile: User | users.ProfileCard
    if me.is_authenticated and me.username == username:
        profile = me  # type: ignore[assignment]
        stats = await users.profile_stats(session, profile, me.id)
        listed = await posts.user_posts_page(
            session,
            AuthorCard.of(profile),
            page=requested_page(),
            per_page=per_page("FLASKY_POSTS_PER_PAGE"),
            total=stats.post_count,
        )
    else:
        found = await profiles.profile_page(
            session,
            username,
            me.id,
            page=requested_page(),
            per_page=per_page("FLASKY_POSTS_PER_PAGE"),
        )
        if found is None:
            abort(404)
        profile, stats, listed = found
    return await render_template("main/user.html", user=profile, stats=stats, posts=listed)


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


@main.route("/edit-profile", methods=["GET", "POST"])
@login_required
async def edit_profile() -> Any:
    me: User = current_user()  # type: ignore[assignment]
    form = await EditProfileForm.create_form(
        data={"name": me.name, "location": me.location, "about_me": me.about_me}
    )
    if await form.validate_on_submit():
        me.name = _clean(form.name.data)
        me.location = _clean(form.location.data)
        me.about_me = _clean(form.about_me.data)
        await get_session().commit()
        await flash("Your profile has been updated.")
        return redirect(url_for(".user", username=me.username))
    return await render_template("main/edit_profile.html", form=form, user=me, admin=False)


@main.route("/edit-profile/<int:id>", methods=["GET", "POST"])
@admin_required
async def edit_profile_admin(id: int) -> Any:
    session = get_session()
    target = await load_user(session, id)
    if target is None:
        abort(404)
    roles = [
        (role_id, name)
        for role_id, name in (
            await session.execute(select(Role.id, Role.name).order_by(Role.permissions, Role.id))
        ).tuples()
    ]
    form = await EditProfileAdminForm.create_form(
        data={
            "email": target.email,
            "username": target.username,
            "confirmed": target.confirmed,
            "role": target.role_id,
            "name": target.name,
            "location": target.location,
            "about_me": target.about_me,
        },
    )
    form.user = target
    form.role.choices = roles
    if await form.validate_on_submit():
        # A new address, or an account no longer confirmed, ends the account's logins and
        # API tokens (an administrator editing themself keeps this browser's).
        ends_sessions = target.email != form.email.data or (
            target.confirmed and not form.confirmed.data
        )
        target.email = form.email.data  # normalised by the form
        target.username = form.username.data
        target.confirmed = form.confirmed.data
        target.role_id = form.role.data
        target.name = _clean(form.name.data)
        target.location = _clean(form.location.data)
        target.about_me = _clean(form.about_me.data)
        if ends_sessions:
            await revoke_other_sessions(target)
            await record.session_ended(session, target.id)
        try:
            await session.commit()
        except IntegrityError:
            # Someone took the email or username between the check and the commit; the
            # rollback expired every loaded row, so start over rather than render them.
            await session.rollback()
            await flash("That email or username was just taken; please try again.")
            return redirect(url_for(".edit_profile_admin", id=id))
        await flash("The profile has been updated.")
        return redirect(url_for(".user", username=target.username))
    return await render_template("main/edit_profile.html", form=form, user=target, admin=True)


# -- follows -------------------------------------------------------------------------------


async def _user_or_invalid(username: str) -> User | None:
    found = await users.user_by_username(get_session(), username)
    if found is None:
        await flash("Invalid user.")
    return found


@main.route("/follow/<username>", methods=["POST"])
@permission_required(Permission.FOLLOW)
async def follow(username: str) -> Response:
    return await _change_follow(username, follow=True)


@main.route("/unfollow/<username>", methods=["POST"])
@permission_required(Permission.FOLLOW)
async def unfollow(username: str) -> Response:
    return await _change_follow(username, follow=False)


async def _change_follow(username: str, *, follow: bool) -> Response:
    """Follow or unfollow the named user, then back to their profile with a message."""
    session = get_session()
    me: User = current_user()  # type: ignore[assignment]
    target = await _user_or_invalid(username)
    if target is None:
        return redirect(url_for(".index"))
    back = redirect(url_for(".user", username=username))
    if not follow:
        if target.id == me.id:
            # The self-follow keeps one's own posts in the Followed timeline.
            await flash("You cannot unfollow yourself.")
        elif not await me.unfollow(session, target):
            await flash("You are not following this user.")
        else:
            await session.commit()
            await flash(f"You are not following {username} anymore.")
        return back
    if not await me.follow(session, target):
        await flash("You are already following this user.")
        return back
    await record.follow(session, me, target)
    try:
        await session.commit()
    except IntegrityError:
        # A second click that raced the first one.
        await session.rollback()
        await flash("You are already following this user.")
        return back
    await flash(f"You are now following {username}.")
    return back


async def _follow_list(username: str, *, followers: bool) -> Any:
    target = await _user_or_invalid(username)
    if target is None:
        return redirect(url_for(".index"))
    entries = await follows.follows_page(
        get_session(),
        target,
        followers=followers,
        page=requested_page(),
        per_page=per_page("FLASKY_FOLLOWERS_PER_PAGE"),
    )
    return await render_template(
        "main/followers.html",
        user=target,
        entries=entries,
        title=f"Followers of {target.username}" if followers else f"Followed by {target.username}",
        endpoint="main.followers" if followers else "main.followed_by",
    )


@main.route("/followers/<username>")
async def followers(username: str) -> Any:
    return await _follow_list(username, followers=True)


@main.route("/followed_by/<username>")
async def followed_by(username: str) -> Any:
    return await _follow_list(username, followers=False)
