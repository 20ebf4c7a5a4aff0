"""Records to the book's JSON shapes, with absolute URLs: one function per resource, each
built from the read layer's record (or the user row), never from positional columns."""

from __future__ import annotations

from typing import Any

from quart import current_app

from flasky.compat.quart_templating import current_url_adapter
from flasky.memo import BoundedTable
from flasky.models import Permission, User
from flasky.queries.comments import CommentItem
from flasky.queries.pagination import Page
from flasky.queries.posts import PostItem
from flasky.queries.signed_in import TokenCaller
from flasky.templating import url_for

# What the site shows in place of a comment a moderator disabled.
DISABLED_COMMENT = "This comment has been disabled by a moderator."


def absolute_url_for(endpoint: str, **values: Any) -> str:
    return url_for(endpoint, _external=True, **values)


def post_json(post: PostItem) -> dict[str, Any]:
    """A post's JSON. A list builds three absolute URLs per post (most of its cost): the
    representation is kept per post record and URL base (scheme, host and mount point,
    which the URLs depend on) and handed out as a copy, so a caller may change it."""
    adapter = current_url_adapter()
    if adapter is None:
        return _post_json(post)
    try:
        table = current_app.extensions[POST_JSON_TABLE]
    except KeyError:
        table = current_app.extensions[POST_JSON_TABLE] = BoundedTable(POST_JSON_CAPACITY)
    key = (adapter.url_scheme, adapter.server_name, adapter.script_name, post)
    try:
        return dict(table[key])
    except KeyError:
        return dict(table.store(key, _post_json(post)))


POST_JSON_TABLE = "api_post_json"
POST_JSON_CAPACITY = 4096


def _post_json(post: PostItem) -> dict[str, Any]:
    return {
        "url": absolute_url_for("api.get_post", id=post.id),
        "body": post.body,
        "body_html": post.body_html,
        "timestamp": post.timestamp.isoformat(),
        "author_url": absolute_url_for("api.get_user", id=post.author_id),
        "comments_url": absolute_url_for("api.get_post_comments", id=post.id),
        "comment_count": post.comment_count,
        "word_count": post.word_count,
    }


def comment_json(comment: CommentItem, me: User | TokenCaller) -> dict[str, Any]:
    """The book's comment JSON plus `disabled`. A moderator's verdict holds in the API too:
    only moderators read the text of a disabled comment, as on the site."""
    hidden = comment.disabled and not me.can(Permission.MODERATE)
    return {
        "url": absolute_url_for("api.get_comment", id=comment.id),
        "post_url": absolute_url_for("api.get_post", id=comment.post_id),
        "body": DISABLED_COMMENT if hidden else comment.body,
        "body_html": f"<i>{DISABLED_COMMENT}</i>" if hidden else comment.body_html,
        "timestamp": comment.timestamp.isoformat(),
        "author_url": absolute_url_for("api.get_user", id=comment.author_id),
        "disabled": comment.disabled,
    }


def user_json(user: User, post_count: int) -> dict[str, Any]:
    return {
        "url": absolute_url_for("api.get_user", id=user.id),
        "username": user.username,
        "member_since": user.member_since.isoformat(),
        "last_seen": user.last_seen.isoformat(),
        "posts_url": absolute_url_for("api.get_user_posts", id=user.id),
        "followed_posts_url": absolute_url_for("api.get_user_followed_posts", id=user.id),
        "post_count": post_count,
    }


def page_json(page: Page, name: str, items: list[Any], endpoint: str, **values: Any) -> dict:
    """A page of a list as the book's API shapes it: the items under `name`, then the
    absolute URLs of the previous and next pages (or null) and the total count."""
    return {
        name: items,
        "prev": absolute_url_for(endpoint, page=page.page - 1, **values) if page.has_prev else None,
        "next": absolute_url_for(endpoint, page=page.page + 1, **values) if page.has_next else None,
        "count": page.total,
    }
