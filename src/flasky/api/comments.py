"""/comments/ and /posts/<id>/comments/: read comments, comment on a post."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from werkzeug.exceptions import Forbidden, NotFound

from flasky.api import api
from flasky.api.authentication import api_user, permission_required
from flasky.api.inputs import build_from_json, json_body
from flasky.api.posts import get_post_or_404
from flasky.api.representations import absolute_url_for, comment_json, page_json
from flasky.db import get_session
from flasky.live import record
from flasky.models import Comment, Permission
from flasky.models.role import may_delete
from flasky.queries import comments
from flasky.queries.comments import CommentItem
from flasky.queries.pagination import Page, per_page, requested_page


def _comments_json(page: Page[CommentItem], endpoint: str, **values: Any) -> dict[str, Any]:
    me = api_user()
    items = [comment_json(comment, me) for comment in page.items]
    return page_json(page, "comments", items, endpoint, **values)


async def get_comment_or_404(id: int) -> CommentItem:
    comment = await comments.comment_by_id(get_session(), id)
    if comment is None:
        raise NotFound("Comment not found")
    return comment


@api.route("/comments/")
async def get_comments() -> Any:
    page = await comments.all_comments_page(
        get_session(), page=requested_page(), per_page=per_page("FLASKY_COMMENTS_PER_PAGE")
    )
    return _comments_json(page, "api.get_comments")


@api.route("/comments/<int:id>")
async def get_comment(id: int) -> Any:
    return comment_json(await get_comment_or_404(id), api_user())


@api.route("/comments/<int:id>", methods=["DELETE"])
async def delete_comment(id: int) -> Any:
    session = get_session()
    comment = await session.get(Comment, id)
    if comment is None:
        raise NotFound("Comment not found")
    if not may_delete(api_user(), comment.author_id):
        raise Forbidden("Insufficient permissions")
    await session.execute(delete(Comment).where(Comment.id == id))
    await session.commit()
    return "", 204


@api.route("/posts/<int:id>/comments/")
async def get_post_comments(id: int) -> Any:
    post = await get_post_or_404(id)
    # Oldest first, as under a post on the site.
    page = await comments.post_comments_page(
        get_session(),
        post.id,
        page=requested_page(),
        per_page=per_page("FLASKY_COMMENTS_PER_PAGE"),
    )
    return _comments_json(page, "api.get_post_comments", id=post.id)


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
    return (
        comment_json(await get_comment_or_404(comment.id), api_user()),
        201,
        {"Location": location},
    )
