"""Private messages: sending (form + CSRF), inbox newest first and paginated, the sent view,
the navbar's unread count reset by opening the inbox, and blocking."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from flasky.models import Event, Message
from flasky.models.event import Kind
from tests.factories import login_as, make_user

pytestmark = pytest.mark.parametrize("app_config", [{"FLASKY_MESSAGES_PER_PAGE": 2}])


async def text_of(response) -> str:
    return await response.get_data(as_text=True)


def badge(html: str, name: str) -> int:
    """The count the navbar's badge shows (0 when hidden)."""
    found = re.search(rf'id="{name}-badge"( hidden)?>(\d+)<', html)
    assert found, f"no {name} badge"
    return 0 if found.group(1) else int(found.group(2))


@pytest.fixture
async def ann_and_bob(app, session):
    ann = await make_user(session, username="ann")
    bob = await make_user(session, username="bob")
    ann_client, bob_client = app.test_client(), app.test_client()
    login_as(ann_client, ann)
    login_as(bob_client, bob)
    return ann_client, bob_client


async def count(session, model, *where) -> int:
    found = await session.scalar(select(func.count()).select_from(model).where(*where))
    await session.commit()  # SQLite has one pooled connection: don't keep it from the app
    return found


async def test_a_sent_message_reaches_the_inbox_and_the_badge_resets(ann_and_bob, session):
    ann, bob = ann_and_bob
    response = await ann.post("/send_message/bob", form={"body": "hello <b>bob</b>"})
    assert response.status_code == 302 and response.headers["Location"] == "/user/bob"
    assert "Your message has been sent." in await text_of(await ann.get("/user/bob"))

    home = await text_of(await bob.get("/"))
    assert badge(home, "messages") == 1
    assert badge(home, "notifications") == 1

    inbox = await text_of(await bob.get("/messages"))
    assert "hello &lt;b&gt;bob&lt;/b&gt;" in inbox  # plain text, escaped
    assert 'class="message mb-3 message-unread"' in inbox
    assert badge(inbox, "messages") == 0
    assert badge(await text_of(await bob.get("/")), "messages") == 0
    # The notification stays unread until the notifications are marked read.
    assert badge(await text_of(await bob.get("/")), "notifications") == 1

    sent = await text_of(await ann.get("/messages/sent"))
    assert "hello &lt;b&gt;bob&lt;/b&gt;" in sent and "To <a" in sent
    assert "hello" not in await text_of(await ann.get("/messages"))


async def test_the_message_and_its_event_are_written_together(ann_and_bob, session):
    ann, _ = ann_and_bob
    await ann.post("/send_message/bob", form={"body": "one"})
    message_id = await session.scalar(select(Message.id))
    await session.commit()
    assert (
        await count(session, Event, Event.message_id == message_id, Event.kind == Kind.MESSAGE) == 1
    )


async def test_inbox_is_newest_first_and_paginated(ann_and_bob):
    ann, bob = ann_and_bob
    for n in range(3):
        await ann.post("/send_message/bob", form={"body": f"message number {n}"})
    first = await text_of(await bob.get("/messages"))
    assert first.index("message number 2") < first.index("message number 1")
    assert "message number 0" not in first
    second = await text_of(await bob.get("/messages?page=2"))
    assert "message number 0" in second and "message number 2" not in second
    assert "No messages." in await text_of(await bob.get("/messages?page=9"))


@pytest.mark.parametrize("body", ["", "   ", "x" * 2001])
async def test_an_empty_or_too_long_message_is_a_form_error(ann_and_bob, session, body):
    ann, _ = ann_and_bob
    response = await ann.post("/send_message/bob", form={"body": body})
    assert response.status_code == 200
    assert "invalid-feedback" in await text_of(response)
    assert await count(session, Message) == 0


async def test_nobody_messages_themself_or_an_unknown_user(ann_and_bob, session):
    ann, _ = ann_and_bob
    response = await ann.post("/send_message/ann", form={"body": "me"})
    assert response.status_code == 302
    assert (await ann.get("/send_message/nobody")).status_code == 404
    assert await count(session, Message) == 0


async def test_a_json_body_is_400(ann_and_bob):
    ann, _ = ann_and_bob
    response = await ann.post("/send_message/bob", json={"body": ["x"]})
    assert response.status_code == 400


@pytest.mark.parametrize("url", ["/messages", "/messages/sent", "/send_message/bob"])
async def test_anonymous_visitors_are_sent_to_login(client, session, url):
    await make_user(session, username="bob")
    response = await client.get(url)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


async def test_a_blocked_user_cannot_send_and_unblocking_lets_them(ann_and_bob, session):
    ann, bob = ann_and_bob
    response = await bob.post("/block/ann")
    assert response.status_code == 302
    assert "You have blocked ann" in await text_of(await bob.get("/user/ann"))
    assert "Unblock" in await text_of(await bob.get("/send_message/ann"))

    await ann.post("/send_message/bob", form={"body": "let me in"})
    assert "bob does not accept messages from you." in await text_of(await ann.get("/user/bob"))
    assert await count(session, Message) == 0
    # Blocking also silences what the blocked user does: no follow notification.
    await ann.post("/follow/bob")
    assert await count(session, Event, Event.listed.is_(True)) == 0

    await bob.post("/unblock/ann")
    await ann.post("/send_message/bob", form={"body": "thanks"})
    assert await count(session, Message) == 1


@pytest.mark.parametrize("url", ["/block/bob", "/unblock/bob"])
async def test_get_on_block_is_405(ann_and_bob, url):
    ann, _ = ann_and_bob
    assert (await ann.get(url)).status_code == 405


async def test_profile_links_to_send_a_message(ann_and_bob):
    ann, _ = ann_and_bob
    html = await text_of(await ann.get("/user/bob"))
    assert 'href="/send_message/bob"' in html
    assert 'href="/send_message/ann"' not in await text_of(await ann.get("/user/ann"))
