"""posts.comment_count, kept by the database (flasky/models/counters.py): right however a
comment comes or goes. Runs on SQLite and on TEST_DATABASE_URL."""

from __future__ import annotations

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
