"""posts.comment_count and posts.comments_version, kept by the database
(flasky/models/counters.py): right however a comment, or what it shows of its author,
changes. Runs on SQLite and on TEST_DATABASE_URL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, select, update

from flasky.models import Comment, Post, User
from tests.factories import make_comment, make_post, make_user


async def counts(session, *posts: Post) -> list[int]:
    rows = await session.execute(
        select(Post.id, Post.comment_count).where(Post.id.in_([p.id for p in posts]))
    )
    found = dict(rows.all())
    return [found.get(p.id) for p in posts]


async def counted(session, post: Post) -> int:
    """The count the slow way."""
    return await session.scalar(
        select(func.count()).select_from(Comment).where(Comment.post_id == post.id)
    )


async def test_comments_added_deleted_moderated_and_moved_are_counted(session):
    ann = await make_user(session, username="ann")
    first, second = await make_post(session, ann), await make_post(session, ann)
    assert await counts(session, first, second) == [0, 0]

    made = [await make_comment(session, ann, first, body=f"c{n}") for n in range(3)]
    await make_comment(session, ann, second)
    assert await counts(session, first, second) == [3, 1]

    # Moderation changes the row, not the count.
    await session.execute(update(Comment).where(Comment.id == made[0].id).values(disabled=True))
    await session.commit()
    assert await counts(session, first, second) == [3, 1]

    await session.execute(delete(Comment).where(Comment.id == made[1].id))
    await session.commit()
    assert await counts(session, first, second) == [2, 1]

    # A comment moved to another post (no page does it; SQL typed by hand may).
    await session.execute(update(Comment).where(Comment.id == made[2].id).values(post_id=second.id))
    await session.commit()
    assert await counts(session, first, second) == [1, 2]
    assert [await counted(session, first), await counted(session, second)] == [1, 2]


async def test_a_bulk_insert_and_a_rolled_back_comment(session):
    ann = await make_user(session, username="ann")
    post = await make_post(session, ann)
    await session.execute(
        insert(Comment),
        [
            {"body": f"c{n}", "body_html": f"<p>c{n}</p>", "author_id": ann.id, "post_id": post.id}
            for n in range(5)
        ],
    )
    await session.commit()
    assert await counts(session, post) == [5]

    session.add(Comment(body="never saved", author_id=ann.id, post_id=post.id))
    await session.flush()
    assert await counts(session, post) == [6]  # this transaction sees its own comment
    post_id = post.id
    await session.rollback()
    assert await session.scalar(select(Post.comment_count).where(Post.id == post_id)) == 5


async def test_an_author_deleted_with_their_comments_leaves_other_posts_counted(session):
    ann = await make_user(session, username="ann")
    bob = await make_user(session, username="bob")
    anns = await make_post(session, ann)
    bobs = await make_post(session, bob)
    for _ in range(2):
        await make_comment(session, bob, anns)
    await make_comment(session, ann, anns)
    await make_comment(session, ann, bobs)
    assert await counts(session, anns, bobs) == [3, 1]

    # The database deletes bob's posts and comments with him (ON DELETE CASCADE).
    await session.execute(delete(User).where(User.id == bob.id))
    await session.commit()
    assert await counts(session, anns, bobs) == [1, None]
    assert await counted(session, anns) == 1


async def test_a_post_deleted_with_its_comments(session):
    ann = await make_user(session, username="ann")
    doomed, kept = await make_post(session, ann), await make_post(session, ann)
    for post in (doomed, doomed, kept):
        await make_comment(session, ann, post)
    await session.execute(delete(Post).where(Post.id == doomed.id))
    await session.commit()
    assert await counts(session, doomed, kept) == [None, 1]


async def test_the_post_page_and_the_home_page_show_the_kept_count(session, client):
    ann = await make_user(session, username="ann")
    post = await make_post(session, ann)
    for _ in range(4):
        await make_comment(session, ann, post)
    for url in (f"/post/{post.id}", "/"):
        page = await (await client.get(url)).get_data(as_text=True)
        assert "4 Comments" in page, url


# -- posts.comments_version ------------------------------------------------------------------


async def versions(session, *posts: Post) -> list[int | None]:
    rows = await session.execute(
        select(Post.id, Post.comments_version).where(Post.id.in_([p.id for p in posts]))
    )
    found = dict(rows.all())
    return [found.get(p.id) for p in posts]


async def test_a_post_never_commented_has_version_0_and_every_comment_change_moves_it(session):
    ann = await make_user(session, username="ann")
    post, other = await make_post(session, ann), await make_post(session, ann)
    assert await versions(session, post, other) == [0, 0]

    seen = [0]

    async def moved() -> bool:
        now, untouched = await versions(session, post, other)
        fresh = now not in seen
        seen.append(now)
        return fresh and untouched == 0

    comment = await make_comment(session, ann, post)
    assert await moved()
    for change in ({"disabled": True}, {"body_html": "<p>edited</p>"}, {"disabled": False}):
        await session.execute(update(Comment).where(Comment.id == comment.id).values(**change))
        await session.commit()
        assert await moved(), change
    await session.execute(delete(Comment).where(Comment.id == comment.id))
    await session.commit()
    assert await moved()


async def test_a_moved_comment_moves_both_posts_versions(session):
    ann = await make_user(session, username="ann")
    first, second = await make_post(session, ann), await make_post(session, ann)
    comment = await make_comment(session, ann, first)
    before = await versions(session, first, second)
    await session.execute(update(Comment).where(Comment.id == comment.id).values(post_id=second.id))
    await session.commit()
    after = await versions(session, first, second)
    assert after[0] != before[0] and after[1] != before[1]


async def test_what_a_comment_shows_of_its_author_moves_the_versions_of_their_posts(session):
    ann = await make_user(session, username="ann")
    bob = await make_user(session, username="bob")
    commented, elsewhere = await make_post(session, ann), await make_post(session, ann)
    await make_comment(session, bob, commented)
    await make_comment(session, ann, elsewhere)  # ann's changes are not bob's
    before = await versions(session, commented, elsewhere)

    # Seen by nobody on a comment: the versions stay.
    seen_now = datetime.now(UTC)
    await session.execute(
        update(User).where(User.id == bob.id).values(name="Bob", about_me="hi", last_seen=seen_now)
    )
    await session.commit()
    assert await versions(session, commented, elsewhere) == before

    for change in (
        {"username": "robert"},
        {"avatar_file": "robert.png"},
        {"email": "robert@example.com", "avatar_hash": "0" * 32},
    ):
        await session.execute(update(User).where(User.id == bob.id).values(**change))
        await session.commit()
        now = await versions(session, commented, elsewhere)
        assert now[0] != before[0] and now[1] == before[1], change
        before = now


def test_every_author_column_a_comment_row_shows_moves_the_version():
    """A column added to the author card must be added to the version's triggers too, or
    a kept page of comments would go on showing its old value."""
    from flasky.models.counters import AUTHOR_SHOWN
    from flasky.queries.users import AUTHOR_COLUMNS

    shown = {column.element.key for column in AUTHOR_COLUMNS}
    assert shown <= set(AUTHOR_SHOWN)
