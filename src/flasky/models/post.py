from __future__ import annotations

import functools
import html
import math
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from markupsafe import Markup
from sqlalchemy import BigInteger, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flasky.db import Base, UTCDateTime, utcnow
from flasky.markdown import render_post
from flasky.models.search_index import plain_text

if TYPE_CHECKING:
    from flasky.models.comment import Comment
    from flasky.models.user import User


# Long enough for any blog post; short enough that rendering it stays a few milliseconds.
# The site's form and the API apply the same limit.
POST_MAX_LENGTH = 50_000


# A reader's pace for "N min read": 200 words a minute is the usual figure for screen text.
WORDS_PER_MINUTE = 200
_TAG = re.compile(r"<[^>]*>")
_WORD = re.compile(r"\w+(?:['’-]\w+)*")


def count_words(body_html: str) -> int:
    """The words a reader reads: those of the rendered text, so link targets and Markdown
    syntax do not count ("[post](http://example.com)" is one word)."""
    return len(_WORD.findall(html.unescape(_TAG.sub(" ", body_html))))


def reading_minutes(word_count: int) -> int:
    """Whole minutes to read that many words, at least one."""
    return max(1, math.ceil(word_count / WORDS_PER_MINUTE))


@functools.lru_cache(maxsize=4096)
def reading_time(word_count: int) -> Markup:
    """A post list's line for a post of that many words, as HTML: "230 words &middot;
    2 min read" (shown as "230 words · 2 min read").

    The dot is an entity so that a page whose text is ASCII stays an ASCII string: one
    non-ASCII character anywhere makes Python encode every character of the page one by
    one (~10 instructions each, 0.25 ms of CPU for a 26 kB page) where an ASCII page is
    copied. Remembered per count (a few thousand distinct counts at most in practice):
    the list shows it on every row, and one cached string costs the template nothing
    where the counts, plural and minutes cost four."""
    words = "word" if word_count == 1 else "words"
    return Markup(f"{word_count} {words} &middot; {reading_minutes(word_count)} min read")


def post_body_columns(body: str) -> dict[str, Any]:
    """A post's Markdown with what is derived from it on write, by column: its sanitised
    HTML, the plain text search indexes, its word count. For the model and for bulk
    inserts alike (CPU work: Markdown dominates; call it off the event loop)."""
    html = render_post(body)
    return {
        "body": body,
        "body_html": html,
        "body_text": plain_text(html),
        "word_count": count_words(html),
    }


class ValidationError(ValueError):
    """Input that cannot make a valid row (the API answers it with 400)."""


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = (Index("ix_posts_author_id_timestamp", "author_id", "timestamp"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    # The text readers see, which search indexes (flasky/models/search_index.py); only
    # search reads it, so loading a post leaves it out.
    body_text: Mapped[str | None] = mapped_column(Text, deferred=True, deferred_raiseload=True)
    # Counted on write with the HTML, so lists read it as a plain column.
    word_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # Kept by the database's triggers (flasky/models/counters.py), never written here.
    comment_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # Moved by the same triggers whenever the post page's comments could look different.
    comments_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # No single-column index: ix_posts_author_id_timestamp serves lookups by author_id too.
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))

    author: Mapped[User] = relationship(back_populates="posts", lazy="raise")
    comments: Mapped[list[Comment]] = relationship(
        back_populates="post", lazy="raise", passive_deletes=True
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if "body" in kwargs:
            self.set_body(kwargs["body"])

    def set_body(self, body: str) -> None:
        """Store the Markdown with what is derived from it (post_body_columns)."""
        for name, value in post_body_columns(body).items():
            setattr(self, name, value)

    @property
    def reading_minutes(self) -> int:
        return reading_minutes(self.word_count)

    def take_body(self, edited: Post) -> None:
        """Take the body and everything set_body derived from it from an edited copy
        (already rendered, so the Markdown is not rendered twice)."""
        for name in ("body", "body_html", "body_text", "word_count"):
            setattr(self, name, getattr(edited, name))

    @staticmethod
    def from_json(json_post: Any) -> Post:
        if not isinstance(json_post, dict):
            raise ValidationError("request body must be a JSON object")
        body = json_post.get("body")
        if not isinstance(body, str):
            raise ValidationError("post must have a body that is a string")
        if not body.strip():
            raise ValidationError("post does not have a body")
        return Post(body=body)

    def __repr__(self) -> str:
        return f"<Post {self.id}>"
