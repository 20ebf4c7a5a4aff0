"""The data model (docs/product.md), one module per thing modelled."""

from flasky.db import Base
from flasky.models import counters  # noqa: F401 - the count triggers' create/drop events
from flasky.models.comment import Comment
from flasky.models.event import Event
from flasky.models.follow import Follow
from flasky.models.login_session import LoginSession
from flasky.models.message import Block, Message
from flasky.models.post import Post, ValidationError
from flasky.models.role import Permission, Role
from flasky.models.user import AnonymousUser, User

__all__ = [
    "AnonymousUser",
    "Base",
    "Block",
    "Comment",
    "Event",
    "Follow",
    "LoginSession",
    "Message",
    "Permission",
    "Post",
    "Role",
    "User",
    "ValidationError",
]
