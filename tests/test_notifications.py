"""Notifications: new follower, comment on your post, new message, post by someone you
follow; opting out per kind; the list (newest first, paginated) and "mark all read"."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from flasky.models import Event
from flasky.models.event import Kind
from tests.factories import login_as, make_post, make_user
from tests.test_messages import badge, text_of

pytestmark = pytest.mark.parametrize(
    "app_config", [{"FLASKY_NOTIFICATIONS_PER_PAGE": 2, "FLASKY_MESSAGES_PER_PAGE": 2}]
)


@pytest.fixture
async def signed_in(app, session):
    """Log in a new user per name on a client of its own: await signed_in("ann")."""

    async def sign_in(username: str, **fields):
        user = await make_user(session, username=username, **fields)
        client = app.test_client()
        login_as(client, user)
        return user, client

    return sign_in


async def listed(session, user) -> list[tuple[str, dict]]:
    rows = (
        await session.execute(
            select(Event.kind, Event.payload)
            .where(Event.user_id == user.id, Event.listed.is_(True))
            .order_by(Event.id)
        )
    ).all()
    await session.commit()
    return [(kind, json.loads(payload)) for kind, payload in rows]


async def test_each_kind_notifies_and_mark_all_read_resets_the_badge(signed_in, session):
    ann, ann_client = await signed_in("ann")
    bob, bob_client = await signed_in("bob")

    await ann_client.post("/follow/bob")  # bob: new follower
    post = await make_post(session, bob, body="bob's post")
    await ann_client.post(f"/post/{post.id}", form={"body": "nice"})  # bob: comment
    await ann_client.post("/send_message/bob", form={"body": "hi"})  # bob: message
    await bob_client.post("/follow/ann")  # ann: new follower
    await ann_client.post("/", form={"body": "ann writes"})  # bob follows ann: post

    kinds = [kind for kind, _ in await listed(session, bob)]
    assert kinds == [Kind.FOLLOWER, Kind.COMMENT, Kind.MESSAGE, Kind.POST]
    page = await text_of(await bob_client.get("/notifications"))
    assert badge(page, "notifications") == 4
    # Newest first, two per page.
    assert page.index("ann published a new post.") < page.index("ann sent you a message.")
    assert "ann is now following you." not in page
    page2 = await text_of(await bob_client.get("/notifications?page=2"))
    assert "ann is now following you." in page2 and "ann commented on your post." in page2

    response = await bob_client.post("/notifications/read")
    assert response.status_code == 302
    page = await text_of(await bob_client.get("/notifications"))
    assert badge(page, "notifications") == 0
    assert "notification-unread" not in page


async def test_own_actions_notify_nobody(signed_in, session):
    ann, ann_client = await signed_in("ann")
    post = await make_post(session, ann)
    await ann_client.post(f"/post/{post.id}", form={"body": "my own comment"})
    await ann_client.post("/", form={"body": "my own post"})
    assert await listed(session, ann) == []


async def test_a_post_notifies_every_follower_in_one_statement(signed_in, session, database):
    ann, ann_client = await signed_in("ann")
    followers = []
    for n in range(3):
        user, client = await signed_in(f"follower{n}")
        await client.post("/follow/ann")
        followers.append(user)
    muted, muted_client = await signed_in("muted", notifications_muted=8)
    await muted_client.post("/follow/ann")

    before = database.statement_count
    await ann_client.post("/", form={"body": "news"})
    statements = database.statement_count - before
    for user in followers:
        assert [kind for kind, _ in await listed(session, user)] == [Kind.POST]
    assert await listed(session, muted) == []
    # Writing the post plus its notifications does not grow with the followers.
    followers.append(await make_user(session))
    await (await signed_in("late"))[1].post("/follow/ann")
    before = database.statement_count
    await ann_client.post("/", form={"body": "more news"})
    assert database.statement_count - before == statements


@pytest.mark.parametrize("kind", ["follower", "comment", "message", "post"])
async def test_opting_out_of_a_kind_stops_it(signed_in, session, kind):
    ann, ann_client = await signed_in("ann")
    bob, bob_client = await signed_in("bob")
    settings = await text_of(await bob_client.get("/settings/notifications"))
    assert settings.count('type="checkbox"') == 4 and settings.count("checked") == 4
    form = {name: "y" for name in ("follower", "comment", "message", "post") if name != kind}
    response = await bob_client.post("/settings/notifications", form=form)
    assert response.status_code == 302
    settings = await text_of(await bob_client.get("/settings/notifications"))
    assert settings.count("checked") == 3

    await bob_client.post("/follow/ann")
    await ann_client.post("/follow/bob")
    post = await make_post(session, bob)
    await ann_client.post(f"/post/{post.id}", form={"body": "a comment"})
    await ann_client.post("/send_message/bob", form={"body": "a message"})
    await ann_client.post("/", form={"body": "a post"})

    kinds = [k for k, _ in await listed(session, bob)]
    assert kind not in kinds and len(kinds) == 3
    if kind == "message":
        # Muted as a notification, the message still counts in the inbox badge.
        home = await text_of(await bob_client.get("/"))
        assert badge(home, "messages") == 1 and badge(home, "notifications") == 3


async def test_a_comment_is_also_an_event_for_the_post_readers(signed_in, session):
    ann, ann_client = await signed_in("ann")
    post = await make_post(session, ann)
    _, bob_client = await signed_in("bob")
    await bob_client.post(f"/post/{post.id}", form={"body": "**bold**"})
    row = (
        await session.execute(
            select(Event.payload).where(Event.post_id == post.id, Event.kind == Kind.POST_COMMENT)
        )
    ).scalar_one()
    await session.commit()
    payload = json.loads(row)
    assert payload["body_html"] == "<strong>bold</strong>" and payload["author"] == "bob"


async def test_anonymous_visitors_are_sent_to_login(client):
    for url in ("/notifications", "/settings/notifications"):
        response = await client.get(url)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert (await client.post("/notifications/read")).status_code == 302


async def statements(database, client, url: str) -> int:
    before = database.statement_count
    response = await client.get(url)
    assert response.status_code == 200, url
    return database.statement_count - before


async def test_the_lists_run_the_same_statements_whatever_their_length(
    signed_in, database, session
):
    ann, ann_client = await signed_in("ann")
    _, bob_client = await signed_in("bob")
    pages = ["/messages", "/messages/sent", "/notifications"]

    async def measure() -> list[int]:
        for url in pages:  # the inbox's first visit moves the read mark: measure the next
            await bob_client.get(url)
        return [await statements(database, bob_client, url) for url in pages]

    async def add_one() -> None:
        await ann_client.post("/send_message/bob", form={"body": "hi"})
        await bob_client.post("/send_message/ann", form={"body": "hello"})

    await add_one()
    one = await measure()
    for _ in range(3):  # past a page (two per page here)
        await add_one()
    full = await measure()
    assert one == full
    # The signed-in user with the badge counts, then the page with its total.
    assert max(full) <= 2
