from __future__ import annotations

from flasky.api import api


@api.route("/posts/<int:id>")
async def get_post(id: int):
    return {}


@api.route("/users/<int:id>")
async def get_user(id: int):
    return {}


@api.route("/users/<int:id>/posts/")
async def get_user_posts(id: int):
    return {}


@api.route("/users/<int:id>/timeline/")
async def get_user_followed_posts(id: int):
    return {}


@api.route("/posts/<int:id>/comments/")
async def get_post_comments(id: int):
    return {}


@api.route("/comments/<int:id>")
async def get_comment(id: int):
    return {}
