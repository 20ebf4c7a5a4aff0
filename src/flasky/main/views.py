"""The social pages of SPEC §5: timeline, profiles, posts, comments, follows, moderation."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from quart import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from quart_auth import Unauthorized
from quart_wtf import QuartForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from flasky.db import get_session
from flasky.errors import json_error
from flasky.login import (
    admin_required,
    current_user,
    login_required,
    permission_required,
    revoke_other_sessions,
)
from flasky.main import main, queries
from flasky.main.forms import (
    COMMENT_MAX_LENGTH,
    POST_MAX_LENGTH,
    CommentForm,
    EditProfileAdminForm,
    EditProfileForm,
    PostForm,
)
from flasky.markdown import render_comment, render_post
from flasky.models import Comment, Permission, Post, Role, User
from flasky.models.user import load_user

FormT = TypeVar("FormT", bound=QuartForm)

SHOW_FOLLOWED_COOKIE = "show_followed"
SHOW_FOLLOWED_MAX_AGE = 30 * 24 * 60 * 60


async def build_form(form_class: type[FormT], **kwargs: Any) -> FormT:
    # quart-wtf feeds a JSON body straight into the form, where a list or a number
    # becomes a 500; the pages' forms are only ever posted as form data.
    if request.method == "POST" and request.is_json:
        abort(400)
    return await form_class.create_form(**kwargs)  # type: ignore[return-value]


def require_permission(permission: int) -> None:
    """For views open to all on GET whose POST needs a permission (SPEC §5)."""
    user = current_user()
    if not user.is_authenticated:
        raise Unauthorized()
    if not user.can(permission):
        abort(403)


def requested_page(*, allow_last: bool = False) -> int:
    return queries.page_number(request.args.get("page", 1, type=int), allow_last=allow_last)


def per_page(setting: str) -> int:
    return max(1, int(current_app.config[setting]))


# -- home ----------------------------------------------------------------------------------


@main.route("/", methods=["GET", "POST"])
async def index() -> Any:
    session = get_session()
    user = current_user()
    # A form only for those who see it: building one makes a CSRF token, which puts a
    # session cookie on every anonymous page view (and costs ~0.5 ms per request).
    can_write = request.method == "POST" or user.can(Permission.WRITE)
    form = await build_form(PostForm) if can_write else None
    if request.method == "POST":
        require_permission(Permission.WRITE)
        if await form.validate_on_submit():
            post = Post(author_id=user.id)
            # Markdown is CPU work: render it off the event loop.
            await asyncio.to_thread(post.set_body, form.body.data)
            session.add(post)
            await session.commit()
            return redirect(url_for(".index"))
    show_followed = user.is_authenticated and bool(request.cookies.get(SHOW_FOLLOWED_COOKIE))
    posts = await queries.timeline_page(
        session,
        page=requested_page(),
        per_page=per_page("FLASKY_POSTS_PER_PAGE"),
        followed_by=user if show_followed else None,  # type: ignore[arg-type]
    )
    counts = posts.comment_counts
    return await render_template(
        "main/index.html",
        form=form,
        posts=posts,
        comment_counts=counts,
        show_followed=show_followed,
    )


def _timeline_choice(show_followed: bool) -> Response:
    response = redirect(url_for(".index"))
    response.set_cookie(
        SHOW_FOLLOWED_COOKIE,
        "1" if show_followed else "",
        max_age=SHOW_FOLLOWED_MAX_AGE,
        httponly=True,
        samesite="Lax",
    )
    return response


@main.route("/all")
@login_required
async def show_all() -> Response:
    return _timeline_choice(False)


@main.route("/followed")
@login_required
async def show_followed() -> Response:
    return _timeline_choice(True)


@main.route("/preview", methods=["POST"])
async def preview() -> Any:
    """The Markdown of the post (or comment) form rendered exactly as it will be saved."""
    user = current_user()
    if not user.is_authenticated:
        return json_error(401, "Log in to preview.")
    data = await request.get_json(silent=True)
    body = data.get("body") if isinstance(data, dict) else None
    kind = data.get("kind", "post") if isinstance(data, dict) else None
    if not isinstance(body, str) or kind not in ("post", "comment"):
        return json_error(400, 'Send {"body": "<markdown>", "kind": "post" or "comment"}.')
    if kind == "post":
        permission, render, limit = Permission.WRITE, render_post, POST_MAX_LENGTH
    else:
        permission, render, limit = Permission.COMMENT, render_comment, COMMENT_MAX_LENGTH
    if not user.can(permission):
        return json_error(403, f"You may not write a {kind}.")
    if len(body) > limit:
        return json_error(400, f"A {kind} is at most {limit} characters.")
    html = await asyncio.to_thread(render, body)
    return jsonify(html=html)


# -- profiles ------------------------------------------------------------------------------


@main.route("/user/<username>")
async def user(username: str) -> str:
    session = get_session()
    viewer = current_user()
    # One's own profile needs no second load of the same row; another's comes with its
    # figures in one statement.
    if viewer.is_authenticated and viewer.username == username:
        profile: User = viewer  # type: ignore[assignment]
        stats = await queries.profile_stats(session, profile, viewer.id)
    else:
        found = await queries.profile_by_username(session, username, viewer.id)
        if found is None:
            abort(404)
        profile, stats = found
    posts = await queries.user_posts_page(
        session,
        profile,
        page=requested_page(),
        per_page=per_page("FLASKY_POSTS_PER_PAGE"),
        total=stats.post_count,
    )
    counts = posts.comment_counts
    return await render_template(
        "main/user.html", user=profile, stats=stats, posts=posts, comment_counts=counts
    )


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


@main.route("/edit-profile", methods=["GET", "POST"])
@login_required
async def edit_profile() -> Any:
    me: User = current_user()  # type: ignore[assignment]
    form = await build_form(
        EditProfileForm, data={"name": me.name, "location": me.location, "about_me": me.about_me}
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
    form = await build_form(
        EditProfileAdminForm,
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
    found = await queries.user_by_username(get_session(), username)
    if found is None:
        await flash("Invalid user.")
    return found


@main.route("/follow/<username>", methods=["POST"])
@permission_required(Permission.FOLLOW)
async def follow(username: str) -> Response:
    session = get_session()
    me: User = current_user()  # type: ignore[assignment]
    target = await _user_or_invalid(username)
    if target is None:
        return redirect(url_for(".index"))
    back = redirect(url_for(".user", username=username))
    if not await me.follow(session, target):
        await flash("You are already following this user.")
        return back
    try:
        await session.commit()
    except IntegrityError:
        # A second click that raced the first one.
        await session.rollback()
        await flash("You are already following this user.")
        return back
    await flash(f"You are now following {username}.")
    return back


@main.route("/unfollow/<username>", methods=["POST"])
@permission_required(Permission.FOLLOW)
async def unfollow(username: str) -> Response:
    session = get_session()
    me: User = current_user()  # type: ignore[assignment]
    target = await _user_or_invalid(username)
    if target is None:
        return redirect(url_for(".index"))
    back = redirect(url_for(".user", username=username))
    if target.id == me.id:
        # The self-follow keeps one's own posts in the Followed timeline.
        await flash("You cannot unfollow yourself.")
        return back
    if not await me.unfollow(session, target):
        await flash("You are not following this user.")
        return back
    await session.commit()
    await flash(f"You are not following {username} anymore.")
    return back


async def _follow_list(username: str, *, followers: bool) -> Any:
    session = get_session()
    target = await _user_or_invalid(username)
    if target is None:
        return redirect(url_for(".index"))
    lister = queries.followers_page if followers else queries.followed_page
    entries = await lister(
        session, target, page=requested_page(), per_page=per_page("FLASKY_FOLLOWERS_PER_PAGE")
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


# -- posts and comments --------------------------------------------------------------------


@main.route("/post/<int:id>", methods=["GET", "POST"])
async def post(id: int) -> Any:
    session = get_session()
    shown = await queries.post_with_author(session, id)
    if shown is None:
        abort(404)
    can_comment = request.method == "POST" or current_user().can(Permission.COMMENT)
    form = await build_form(CommentForm) if can_comment else None
    if request.method == "POST":
        require_permission(Permission.COMMENT)
        if await form.validate_on_submit():
            comment = Comment(post_id=shown.id, author_id=current_user().id)
            await asyncio.to_thread(comment.set_body, form.body.data)
            session.add(comment)
            await session.commit()
            await flash("Your comment has been published.")
            # The newest comment is on the last page.
            return redirect(
                url_for(".post", id=shown.id, page=queries.LAST_PAGE, _anchor="comments")
            )
    comments = await queries.post_comments_page(
        session,
        shown,
        page=requested_page(allow_last=True),
        per_page=per_page("FLASKY_COMMENTS_PER_PAGE"),
    )
    return await render_template(
        "main/post.html",
        post=shown,
        form=form,
        comments=comments,
        comment_counts={shown.id: comments.total},
    )


@main.route("/edit/<int:id>", methods=["GET", "POST"])
@login_required
async def edit(id: int) -> Any:
    session = get_session()
    user = current_user()
    shown = await session.get(Post, id)
    if shown is None:
        abort(404)
    if user.id != shown.author_id and not user.can(Permission.ADMIN):
        abort(403)
    form = await build_form(PostForm, data={"body": shown.body})
    if await form.validate_on_submit():
        await asyncio.to_thread(shown.set_body, form.body.data)
        await session.commit()
        await flash("The post has been updated.")
        return redirect(url_for(".post", id=shown.id))
    return await render_template("main/edit_post.html", form=form, post=shown)


# -- moderation ----------------------------------------------------------------------------


@main.route("/moderate")
@permission_required(Permission.MODERATE)
async def moderate() -> str:
    page = requested_page()
    comments = await queries.moderation_page(
        get_session(), page=page, per_page=per_page("FLASKY_COMMENTS_PER_PAGE")
    )
    return await render_template("main/moderate.html", comments=comments, page=page)


async def _set_comment_disabled(id: int, disabled: bool) -> Response:
    session = get_session()
    comment = await session.get(Comment, id)
    if comment is None:
        abort(404)
    comment.disabled = disabled
    await session.commit()
    return redirect(url_for(".moderate", page=requested_page()))


@main.route("/moderate/enable/<int:id>", methods=["POST"])
@permission_required(Permission.MODERATE)
async def moderate_enable(id: int) -> Response:
    return await _set_comment_disabled(id, False)


@main.route("/moderate/disable/<int:id>", methods=["POST"])
@permission_required(Permission.MODERATE)
async def moderate_disable(id: int) -> Response:
    return await _set_comment_disabled(id, True)
