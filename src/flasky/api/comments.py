"""/comments/ and /posts/<id>/comments/: read comments, comment on a post."""

from __future__ import annotations

from typing import Any

from quart import current_app
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from flasky.api import api
from flasky.api.authentication import api_user, permission_required
from flasky.api.inputs import build_from_json, json_body
from flasky.api.pagination import paginate
from flasky.api.posts import get_post_or_404
from flasky.api.queries import valid_id
from flasky.api.representations import absolute_url_for, comment_json
from flasky.db import get_session
from flasky.live import record
from flasky.models import Comment, Permission


@api.route("/comments/")
async def get_comments() -> Any:
    statement = select(Comment).order_by(Comment.timestamp.desc(), Comment.id.desc())
    page = await paginate(get_session(), statement, current_app.config["FLASKY_COMMENTS_PER_PAGE"])
    viewer = api_user()
    return {
        "comments": [comment_json(comment, viewer) for comment in page.items],
        **page.links("api.get_comments"),
    }


@api.route("/comments/<int:id>")
async def get_comment(id: int) -> Any:
    comment = await get_session().get(Comment, id) if valid_id(id) else None
    if comment is None:
        raise NotFound("Comment not found")
    return comment_json(comment, api_user())


@api.route("/posts/<int:id>/comments/")
async def get_post_comments(id: int) -> Any:
    post = await get_post_or_404(id)
    # Oldest first, as under a post on the site.
    statement = (
        select(Comment)
        .where(Comment.post_id == post.id)
        .order_by(Comment.timestamp.asc(), Comment.id.asc())
    )
    page = await paginate(get_session(), statement, current_app.config["FLASKY_COMMENTS_PER_PAGE"])
    viewer = api_user()
    return {
        "comments": [comment_json(comment, viewer) for comment in page.items],
        **page.links("api.get_post_comments", id=post.id),
    }


@api.route("/posts/<int:id>/comments/", methods=["POST"])
@permission_required(Permission.COMMENT)
async def new_post_comment(id: int) -> Any:
    post = await get_post_or_404(id)
    comment = await build_from_json(Comment.from_json, await json_body())
    comment.author_id = api_user().id
    comment.post_id = post.id
    session = get_session()
    session.add(comment)
    await record.comment(session, comment, api_user(), post)
    await session.commit()
    location = absolute_url_for("api.get_comment", id=comment.id)
    return comment_json(comment, api_user()), 201, {"Location": location}
