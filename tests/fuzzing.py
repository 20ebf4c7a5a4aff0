"""Shared by the property-based tests: hypothesis settings, input strategies, and a
snapshot of everything a request could change in the database."""

from __future__ import annotations

import os
import re

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import select

from flasky.models import Comment, Follow, Post, User

# Locally every run draws new examples; in CI (CI set) the draw is fixed, so a submission is
# judged on the same examples every time and a failure there can be replayed exactly.
FUZZ = settings(
    max_examples=30,
    deadline=None,
    database=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# -- input ---------------------------------------------------------------------------------

# Any character a browser could send (lone surrogates cannot be encoded at all).
characters = st.characters(exclude_categories=["Cs"])
tricky = st.sampled_from(
    [
        "",
        " ",
        "\t\n",
        "\x00",
        "a\x00b",
        "john",
        "john@example.com",
        "JOHN@EXAMPLE.COM ",
        "cat",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "%s%n%x",
        "../../etc/passwd",
        "ünïcødé@exämple.com",
        "😀" * 10,
        "\u202e\u0000\ufeff",
        "y",
        "on",
        "true",
        "0",
        "-1",
        "99999999999999999999",
        "1e309",
        "NaN",
        "a" * 64,
        "a" * 65,
        "[x](javascript:alert(1))",
        "**bold** _it_ http://example.com",
        "\r\n.\r\n",
    ]
)
huge = st.builds(
    lambda ch, n: ch * n, characters, st.sampled_from([64, 65, 5_001, 50_001, 120_000])
)
value = st.one_of(tricky, st.text(characters, max_size=200), huge)


def form_data(
    fields: list[str], values: dict[str, st.SearchStrategy[str]] | None = None
) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Each field missing, given once, or given several times; plus stray fields. `values`
    gives a field its own strategy instead of `value`."""

    def field_pairs(name: str) -> st.SearchStrategy[list[tuple[str, str]]]:
        strategy = (values or {}).get(name, value)
        return st.lists(strategy, max_size=3).map(lambda drawn: [(name, v) for v in drawn])

    stray = st.lists(st.tuples(st.text(characters, max_size=10), value), max_size=2)
    return st.tuples(*(field_pairs(f) for f in fields), stray).map(
        lambda parts: [pair for part in parts for pair in part]
    )


raw_body = st.binary(max_size=300)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | value,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(value, children, max_size=3),
    max_leaves=8,
)


async def snapshot(database) -> tuple:
    """Everything a form could change (last_seen aside, which every visit updates)."""
    async with database.session() as s:
        users = (
            await s.execute(
                select(
                    User.id,
                    User.email,
                    User.username,
                    User.role_id,
                    User.password_hash,
                    User.confirmed,
                    User.name,
                    User.location,
                    User.about_me,
                ).order_by(User.id)
            )
        ).all()
        posts = (
            await s.execute(select(Post.id, Post.body, Post.author_id).order_by(Post.id))
        ).all()
        comments = (
            await s.execute(
                select(Comment.id, Comment.body, Comment.disabled, Comment.post_id).order_by(
                    Comment.id
                )
            )
        ).all()
        follows = (
            await s.execute(
                select(Follow.follower_id, Follow.followed_id).order_by(
                    Follow.follower_id, Follow.followed_id
                )
            )
        ).all()
    return users, posts, comments, follows


USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_.]*")  # the whole name: fullmatch, not match + "$"


def assert_stored_data_is_valid(state: tuple) -> None:
    users, posts, comments, _follows = state
    for user in users:
        assert USERNAME.fullmatch(user.username) and len(user.username) <= 64, user.username
        assert "@" in user.email and len(user.email) <= 64, user.email
        assert len(user.name or "") <= 64 and len(user.location or "") <= 64
    for post in posts:
        assert post.body.strip() and len(post.body) <= 50_000
    for comment in comments:
        assert comment.body.strip() and len(comment.body) <= 5_000
