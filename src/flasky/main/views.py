"""The social pages: timeline, posts and their comments, moderation.

Reads come from the read layer (flasky.queries); writes go through the models here. The
signed-in user is `me` throughout.
"""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Response, abort, flash, jsonify, redirect, render_template, request, url_for
from quart_auth import Unauthorized
from sqlalchemy import delete

from flasky.db import get_session
from flasky.errors import json_error
from flasky.live import record
from flasky.login import current_user, login_required, permission_required
from flasky.main import main
from flasky.main.forms import CommentForm, PostForm
from flasky.markdown import render_comment, render_post
from flasky.models import Comment, Permission, Post
from flasky.models.comment import COMMENT_MAX_LENGTH
from flasky.models.post import POST_MAX_LENGTH
from flasky.models.role import may_delete
from flasky.queries import comments, posts
from flasky.queries.pagination import LAST_PAGE, per_page, requested_page

SHOW_FOLLOWED_COOKIE = "show_followed"
SHOW_FOLLOWED_MAX_AGE = 30 * 24 * 60 * 60


def require_permission(permission: int) -> None:
    """For views open to all on GET whose POST needs a permission."""
    me = current_user()
    if not me.is_authenticated:
        raise Unauthorized()
    if not me.can(permission):
        abort(403)


# -- home ----------------------------------------------------------------------------------


@main.route("/", methods=["GET", "POST"])
async def index() -> Any:
    session = get_session()
    me = current_user()
    # A form only for those who see it: building one makes a CSRF token, which puts a
    # session cookie on every anonymous page view (and costs ~0.5 ms per request).
    can_write = request.method == "POST" or me.can(Permission.WRITE)
    form = await PostForm.create_form() if can_write else None
    if request.method == "POST":
        require_permission(Permission.WRITE)
        if await form.validate_on_submit():
            post = Post(author_id=me.id)
            # Markdown is CPU work: render it off the event loop.
            await asyncio.to_thread(post.set_body, form.body.data)
            session.add(post)
            await record.post(session, post, me)
            await session.commit()
            return redirect(url_for(".index"))
    show_followed = me.is_authenticated and bool(request.cookies.get(SHOW_FOLLOWED_COOKIE))
    page, size = requested_page(), per_page("FLASKY_POSTS_PER_PAGE")
    if show_followed:
        listed = await posts.followed_posts_page(session, me.id, page=page, per_page=size)
    else:
        listed = await posts.all_posts_page(session, page=page, per_page=size)
    return await render_template(
        "main/index.html", form=form, posts=listed, show_followed=show_followed
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
    me = current_user()
    if not me.is_authenticated:
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
    if not me.can(permission):
        return json_error(403, f"You may not write a {kind}.")
    if len(body) > limit:
        return json_error(400, f"A {kind} is at most {limit} characters.")
    html = await asyncio.to_thread(render, body)
    return jsonify(html=html)


# -- posts and comments --------------------------------------------------------------------


@main.route("/post/<int:id>", methods=["GET", "POST"])
async def post(id: int) -> Any:
    session = get_session()
    me = current_user()
    if request.method == "POST":
        shown = await posts.post_by_id(session, id)
        if shown is None:
            abort(404)
        require_permission(Permission.COMMENT)
        form = await CommentForm.create_form()
        if await form.validate_on_submit():
            comment = Comment(post_id=shown.id, author_id=me.id)
            await asyncio.to_thread(comment.set_body, form.body.data)
            session.add(comment)
            await record.comment(session, comment, me, shown)
            await session.commit()
            await flash("Your comment has been published.")
            # The newest comment is on the last page.
            return redirect(url_for(".post", id=shown.id, page=LAST_PAGE, _anchor="comments"))
    else:
        form = await CommentForm.create_form() if me.can(Permission.COMMENT) else None
    # The post and the page of comments come in one statement (a post page is read far
    # more often than it is commented on).
    found = await comments.post_with_comments_page(
        session,
        id,
        page=requested_page(allow_last=True),
        per_page=per_page("FLASKY_COMMENTS_PER_PAGE"),
    )
    if found is None:
        abort(404)
    shown, listed = found
    return await render_template("main/post.html", post=shown, form=form, comments=listed)


@main.route("/edit/<int:id>", methods=["GET", "POST"])
@login_required
async def edit(id: int) -> Any:
    session = get_session()
    me = current_user()
    shown = await session.get(Post, id)
    if shown is None:
        abort(404)
    if me.id != shown.author_id and not me.can(Permission.ADMIN):
        abort(403)
    form = await PostForm.create_form(data={"body": shown.body})
    if await form.validate_on_submit():
        await asyncio.to_thread(shown.set_body, form.body.data)
        await session.commit()
        await flash("The post has been updated.")
        return redirect(url_for(".post", id=shown.id))
    return await render_template("main/edit_post.html", form=form, post=shown)


# -- deleting ------------------------------------------------------------------------------
# GET shows what is about to go with a confirm button; only the POST (CSRF-checked) deletes.


async def _deletable(model: type[Post] | type[Comment], id: int) -> Post | Comment:
    found = await get_session().get(model, id)
    if found is None:
        abort(404)
    if not may_delete(current_user(), found.author_id):
        abort(403)
    return found


@main.route("/post/<int:id>/delete", methods=["GET", "POST"])
@login_required
async def delete_post(id: int) -> Any:
    doomed = await _deletable(Post, id)
    if request.method == "POST":
        # The database deletes its comments with it (ON DELETE CASCADE).
        await get_session().execute(delete(Post).where(Post.id == id))
        await get_session().commit()
        await flash("The post has been deleted.")
        return redirect(url_for(".index"))
    return await render_template(
        "main/delete.html", what="post", item=doomed, cancel=url_for(".post", id=id)
    )


@main.route("/comment/<int:id>/delete", methods=["GET", "POST"])
@login_required
async def delete_comment(id: int) -> Any:
    doomed = await _deletable(Comment, id)
    back = url_for(".post", id=doomed.post_id, _anchor="comments")
    if request.method == "POST":
        await get_session().execute(delete(Comment).where(Comment.id == id))
        await get_session().commit()
        await flash("The comment has been deleted.")
        return redirect(back)
    return await render_template("main/delete.html", what="comment", item=doomed, cancel=back)


# -- moderation ----------------------------------------------------------------------------


@main.route("/moderate")
@permission_required(Permission.MODERATE)
async def moderate() -> str:
    page = requested_page()
    listed = await comments.all_comments_page(
        get_session(), page=page, per_page=per_page("FLASKY_COMMENTS_PER_PAGE")
    )
    return await render_template("main/moderate.html", comments=listed, page=page)


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
