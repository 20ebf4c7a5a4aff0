"""The read layer: records are read from rows by column name, so a column added to a list
(anywhere in the select) cannot shift another figure, on the pages or in the API."""

from __future__ import annotations

import pytest
from sqlalchemy import literal

from flasky.queries import comments, posts
from flasky.queries.comments import CommentItem
from flasky.queries.posts import PostItem
from tests.factories import make_comment, make_post, make_user


def with_decoys(stmt):
    """The same statement with extra integer columns first and last, as a careless change
    adding a figure might place them."""
    return stmt.with_only_columns(
        literal(-7).label("decoy_first"), *stmt.selected_columns, literal(-9).label("decoy_last")
    )


async def test_a_column_added_to_the_post_list_shifts_no_other_figure(session):
    ann = await make_user(session, username="ann")
    post = await make_post(session, ann, body="counted")
    for _ in range(3):
        await make_comment(session, ann, post)
    await make_post(session, ann, body="uncommented")

    listing = posts._all_posts()
    plain = PostItem.from_rows((await session.execute(listing.stmt)).all())
    decoyed = (await session.execute(with_decoys(listing.stmt))).all()
    assert decoyed[0][0] == -7  # the decoy really is the first column
    assert PostItem.from_rows(decoyed) == plain
    assert {item.body: item.comment_count for item in plain} == {"counted": 3, "uncommented": 0}
    assert {item.body: item.word_count for item in plain} == {"counted": 1, "uncommented": 1}
    assert {item.author.username for item in plain} == {"ann"}

    page = await posts.all_posts_page(session, page=1, per_page=10)
    assert page.items == plain and page.total == 2


async def test_a_column_added_to_the_comment_list_shifts_no_other_figure(session):
    ann = await make_user(session, username="ann")
    bob = await make_user(session, username="bob")
    post = await make_post(session, ann)
    await make_comment(session, bob, post, body="hello", disabled=True)

    listing = comments._all_comments()
    plain = CommentItem.from_rows((await session.execute(listing.stmt)).all())
    decoyed = (await session.execute(with_decoys(listing.stmt))).all()
    assert CommentItem.from_rows(decoyed) == plain
    [item] = plain
    assert (item.body, item.disabled, item.post_id) == ("hello", True, post.id)
    assert (item.author_id, item.author.username) == (bob.id, "bob")


async def test_a_record_missing_a_labelled_column_is_an_error_not_a_wrong_figure(session):
    ann = await make_user(session, username="ann")
    await make_post(session, ann)
    stmt = posts._all_posts().stmt
    without_count = stmt.with_only_columns(
        *(column for column in stmt.selected_columns if column.name != "comment_count")
    )
    with pytest.raises(ValueError):
        PostItem.from_rows((await session.execute(without_count)).all())


async def test_the_post_page_reads_its_comment_count_and_counts_nothing(session):
    ann = await make_user(session, username="ann")
    post = await make_post(session, ann)
    for n in range(7):
        await make_comment(session, ann, post, body=f"comment {n}")
    other = await make_post(session, ann)
    await make_comment(session, ann, other)

    for page, shown in ((1, 3), (3, 1), (4, 0)):
        found = await comments.post_with_comments_page(session, post.id, page=page, per_page=3)
        assert found is not None
        item, listed = found
        assert item.comment_count == 7 and listed.total == 7
        assert len(listed.items) == shown

    # The count is the post's column, kept by the database (models/counters.py): a
    # popular post's 600 comments are not walked on every view.
    sql = str(comments._post_with_comment_page().compile(session.bind)).lower()
    assert "count(" not in sql
    # Nor per post of a list.
    assert "count(" not in str(posts._all_posts().stmt.compile(session.bind)).lower()


async def test_the_post_page_shares_the_columns_a_post_and_a_comment_both_have(session):
    """The post row and the comment rows share id, body, timestamp and the author card:
    one column each, not one per half (every cell is a call into the driver)."""
    from flasky.queries.records import ONE_ROW

    statement = comments._post_with_comment_page()
    labels = [column.key for column in statement.selected_columns]
    assert len(labels) == len(set(labels)) == 15
    assert {"id", "body_html", "timestamp", "author_username", ONE_ROW} <= set(labels)
    assert comments.COMMENTS_VERSION in labels

    ann = await make_user(session, username="ann")
    bob = await make_user(session, username="bob")
    post = await make_post(session, ann, body="the post")
    for n in range(3):
        await make_comment(session, bob, post, body=f"comment {n}")
    found = await comments.post_with_comments_page(session, post.id, page=1, per_page=10)
    assert found is not None
    item, listed = found
    assert (item.id, item.author.username, item.comment_count) == (post.id, "ann", 3)
    assert [c.body for c in listed.items] == ["comment 0", "comment 1", "comment 2"]
    assert {c.author.username for c in listed.items} == {"bob"}
    assert all(c.post_id == post.id and c.disabled is False for c in listed.items)


def test_a_label_of_two_types_in_the_two_halves_is_refused():
    from sqlalchemy import Integer, String, cast, literal_column, select

    from flasky.queries.records import one_row_and_window

    one = select(cast(literal_column("1"), Integer).label("x"))
    window = select(cast(literal_column("'a'"), String).label("x")).subquery()
    with pytest.raises(ValueError, match="label them apart"):
        one_row_and_window(one, window)


async def test_plain_column_reads_skip_the_orm_but_see_this_sessions_writes(session):
    from sqlalchemy import func, select

    from flasky.models import Post, User
    from flasky.queries.records import plain_columns, read_rows, read_scalar
    from tests.factories import make_user

    assert plain_columns(select(Post.id.label("id"), func.count(Post.id)))
    assert not plain_columns(select(User, Post.id.label("id")))
    ann = await make_user(session, username="ann")
    session.add(Post(body="not flushed yet", author_id=ann.id))
    rows = await read_rows(session, select(Post.body.label("body")), {})
    assert [row.body for row in rows] == ["not flushed yet"]
    assert await read_scalar(session, select(func.count(Post.id)), {}) == 1
    assert await read_scalar(session, select(Post.id).where(Post.id < 0), {}) is None
    await session.rollback()


def test_counts_are_count_star():
    """Rows are counted with count(*): SQLite counts a table from its b-tree pages (6 µs
    for 2,000 posts) but evaluates count(posts.id) row by row (98 µs), and either is the
    same number (an id is never NULL)."""
    import re

    from sqlalchemy.dialects import postgresql, sqlite

    from flasky.queries import follows, messages, notifications, profiles, signed_in

    statements = [
        listing.stmt
        for listing in (
            posts._all_posts(),
            posts._followed_posts(),
            posts._posts_by_user(),
            comments._comments_of_post(),
            comments._all_comments(),
            messages._inbox(),
            messages._sent(),
            notifications._notifications(),
            follows._follows(True),
        )
    ]
    statements += [
        listing.window_with_total
        for listing in (posts._all_posts(), posts._followed_posts(), comments._all_comments())
    ]
    statements += [
        comments._post_with_comment_page(),
        profiles._profile_with_posts(False),
        profiles._profile_with_posts(True),
        signed_in._signed_in_user(),
    ]
    for statement in statements:
        for dialect in (sqlite.dialect(), postgresql.dialect()):
            sql = str(statement.compile(dialect=dialect))
            assert not re.search(r"count\(\w+\.\w+\)", sql), sql
    assert "count(*)" in str(posts._all_posts().window_with_total.compile())


async def test_the_post_page_reads_its_comments_again_only_when_they_changed(session, monkeypatch):
    """Each worker keeps the comment records of the pages it showed, with the post's
    comments_version; the statement skips the window while the version is the kept one."""
    from sqlalchemy import update

    from flasky.models import Comment, User

    read = []
    real_read_rows = comments.read_rows

    async def counting_read_rows(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        rows = await real_read_rows(*args, **kwargs)
        read.append(len(rows))
        return rows

    monkeypatch.setattr(comments, "read_rows", counting_read_rows)
    ann = await make_user(session, username="ann")
    bob = await make_user(session, username="bob")
    post = await make_post(session, ann, body="the post")
    made = [await make_comment(session, bob, post, body=f"comment {n}") for n in range(3)]
    await session.commit()

    async def view() -> list:
        found = await comments.post_with_comments_page(session, post.id, page=1, per_page=10)
        assert found is not None and found[0].comment_count == len(found[1].items)
        return found[1].items

    first = await view()
    again = await view()
    assert again is first  # the kept records themselves
    assert read == [4, 1]  # the post and its 3 comments, then the post row alone

    await make_comment(session, ann, post, body="a new one")
    await session.commit()
    added = await view()
    assert [c.body for c in added][-1] == "a new one" and read[-1] == 5

    await session.execute(update(Comment).where(Comment.id == made[0].id).values(disabled=True))
    await session.commit()
    assert (await view())[0].disabled is True

    await session.execute(update(User).where(User.id == bob.id).values(username="robert"))
    await session.commit()
    renamed = await view()
    assert [c.author.username for c in renamed] == ["robert"] * 3 + ["ann"]
    assert await view() is renamed and read[-1] == 1

    # Another page, or another page size, is kept apart.
    other = await comments.post_with_comments_page(session, post.id, page=2, per_page=2)
    assert other is not None and [c.body for c in other[1].items] == ["comment 2", "a new one"]
