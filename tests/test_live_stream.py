"""The live event stream (GET /events, text/event-stream): delivery, ids and replay after
Last-Event-ID, authorisation, heartbeats, the per-user cap, and closing on logout."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import update

from flasky.live.bus import get_live
from flasky.models import Comment
from tests.factories import login_as, make_post, make_user
from tests.sse import TestStream

pytestmark = pytest.mark.parametrize(
    "app_config", [{"FLASKY_SSE_HEARTBEAT": 0.2, "FLASKY_MAX_STREAMS_PER_USER": 2}]
)


@pytest.fixture
async def people(app, session):
    """ann, bob and carol, each signed in on a client of their own."""
    found = {}
    for name in ("ann", "bob", "carol"):
        user = await make_user(session, username=name)
        client = app.test_client()
        login_as(client, user)
        found[name] = (user, client)
    return found


@pytest.fixture
async def streams():
    opened: list[TestStream] = []

    async def open_stream(client, url="/events", headers=None) -> TestStream:
        stream = await TestStream.open(client, url, headers)
        opened.append(stream)
        return stream

    yield open_stream
    for stream in opened:
        await stream.close()


async def test_a_message_reaches_the_recipients_open_stream(people, streams):
    _, ann = people["ann"]
    _, bob = people["bob"]
    stream = await streams(bob)
    assert stream.status_code == 200
    assert stream.connection.headers["Content-Type"].startswith("text/event-stream")
    assert stream.connection.headers["Cache-Control"].startswith("no-cache")

    await ann.post("/send_message/bob", form={"body": "live hello"})
    (event,) = await stream.next_events()
    assert event.kind == "message" and event.data["body"] == "live hello"
    assert event.data["listed"] is True and event.id > 0
    assert stream.parser.retry is not None


async def test_a_stream_carries_only_its_users_events(people, streams):
    _, ann = people["ann"]
    _, carol = people["carol"]
    carols = await streams(carol)
    await ann.post("/send_message/bob", form={"body": "for bob only"})
    await ann.post("/follow/bob")
    assert await carols.nothing_within(0.8)


async def test_reconnecting_with_last_event_id_replays_in_order_without_duplicates(people, streams):
    _, ann = people["ann"]
    _, bob = people["bob"]
    first = await streams(bob)
    await ann.post("/send_message/bob", form={"body": "one"})
    (seen,) = await first.next_events()
    await first.close()

    for body in ("two", "three", "four"):
        await ann.post("/send_message/bob", form={"body": body})
    again = await streams(bob, headers={"Last-Event-ID": str(seen.id)})
    events = await again.next_events(3)
    assert [e.data["body"] for e in events] == ["two", "three", "four"]
    assert [e.id for e in events] == sorted(e.id for e in events) and events[0].id > seen.id
    await ann.post("/send_message/bob", form={"body": "five"})
    (live,) = await again.next_events()
    assert live.data["body"] == "five"
    assert await again.nothing_within(0.5)


async def test_since_in_the_url_stands_for_last_event_id(people, streams):
    _, ann = people["ann"]
    bob_user, bob = people["bob"]
    home = await (await bob.get("/")).get_data(as_text=True)
    assert "/events?since=" in home
    since = home.split("/events?since=", 1)[1].split('"', 1)[0]
    await ann.post("/send_message/bob", form={"body": "sent after the page"})
    stream = await streams(bob, f"/events?since={since}")
    (event,) = await stream.next_events()
    assert event.data["body"] == "sent after the page"


async def test_replay_is_bounded_and_says_when_more_was_missed(app, people, streams):
    app.config["FLASKY_SSE_REPLAY_LIMIT"] = 2
    _, ann = people["ann"]
    _, bob = people["bob"]
    for n in range(4):
        await ann.post("/send_message/bob", form={"body": f"m{n}"})
    stream = await streams(bob, "/events?since=0")
    events = await stream.next_events(3)
    assert events[0].kind == "resync"
    assert [e.data["body"] for e in events[1:]] == ["m2", "m3"]


async def test_comments_reach_readers_of_the_post_unless_disabled(people, streams, session):
    ann_user, ann = people["ann"]
    _, bob = people["bob"]
    post = await make_post(session, ann_user)
    other = await make_post(session, ann_user)
    reader = await streams(bob, f"/events?post={post.id}")
    await ann.post(f"/post/{other.id}", form={"body": "elsewhere"})
    await ann.post(f"/post/{post.id}", form={"body": "*here*"})
    (event,) = await reader.next_events()
    assert event.kind == "post_comment" and event.data["body_html"] == "<em>here</em>"

    # A disabled comment is not replayed to a reader who reconnects.
    await ann.post(f"/post/{post.id}", form={"body": "rude"})
    (rude,) = await reader.next_events()
    await session.execute(update(Comment).where(Comment.body == "rude").values(disabled=True))
    await session.commit()
    again = await streams(bob, f"/events?post={post.id}&since={event.id}")
    assert await again.nothing_within(0.5)
    assert rude.id > event.id


async def test_heartbeats_keep_a_quiet_stream_alive(people, streams):
    _, bob = people["bob"]
    stream = await streams(bob)
    assert await stream.nothing_within(0.7)
    assert stream.parser.comments >= 2


async def test_a_user_holds_at_most_the_configured_number_of_streams(people, streams):
    _, bob = people["bob"]
    _, carol = people["carol"]
    first = await streams(bob)
    await streams(bob)
    third = await streams(bob)
    assert third.status_code == 429
    assert (await streams(carol)).status_code == 200  # the cap is per user
    await first.close()
    await asyncio.sleep(0.1)
    assert (await streams(bob)).status_code == 200


async def test_anonymous_visitors_get_no_stream(client):
    response = await client.get("/events")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


async def test_logging_out_closes_the_users_streams(app, people, streams):
    _, bob = people["bob"]
    stream = await streams(bob)
    await bob.post("/auth/logout")
    await stream.until_end(within=5)
    assert get_live(app).hub.stream_count == 0


async def test_shutdown_closes_open_streams(app, people, streams):
    _, bob = people["bob"]
    stream = await streams(bob)
    await get_live(app).stop()
    await stream.until_end(within=5)
    await get_live(app).start()
