"""With REDIS_URL set: live events travel through Redis pub/sub, and the per-user stream cap
counts the user's streams on every worker and machine (leases in Redis)."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as redis

from tests.factories import login_as, make_user
from tests.sse import TestStream


@pytest.fixture
def app_config(redis_url, redis_prefix) -> dict:
    return {
        "REDIS_URL": redis_url,
        "FLASKY_REDIS_PREFIX": redis_prefix,
        "FLASKY_EVENTS_CHANNEL": f"{redis_prefix}_events",
        "FLASKY_MAX_STREAMS_PER_USER": 2,
    }


@pytest.fixture
async def shared_redis(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_events_arrive_through_redis(app, session):
    ann = await make_user(session, username="ann")
    bob = await make_user(session, username="bob")
    ann_client, bob_client = app.test_client(), app.test_client()
    login_as(ann_client, ann)
    login_as(bob_client, bob)
    assert app.extensions["live"].transport.name == "redis"
    stream = await TestStream.open(bob_client)
    try:
        await ann_client.post("/send_message/bob", form={"body": "via redis"})
        (event,) = await stream.next_events()
        assert event.data["body"] == "via redis"
    finally:
        await stream.close()


async def test_the_stream_cap_counts_streams_held_on_other_workers(
    app, session, shared_redis, redis_prefix
):
    bob = await make_user(session, username="bob")
    client = app.test_client()
    login_as(client, bob)
    key = f"{redis_prefix}:streams:{bob.id}"

    first = await TestStream.open(client)
    assert first.status_code == 200 and await shared_redis.zcard(key) == 1
    # Another worker holds one more of bob's streams: the cap of 2 is reached.
    await shared_redis.zadd(key, {"held-elsewhere": time.time() + 60})
    refused = await TestStream.open(client)
    assert refused.status_code == 429
    await refused.close()

    # That worker's lease lapses (it died, or the stream closed): room again.
    await shared_redis.zadd(key, {"held-elsewhere": time.time() - 1})
    second = await TestStream.open(client)
    assert second.status_code == 200
    await first.close()
    await second.close()
    for _ in range(50):  # leases are released in the background
        if await shared_redis.zcard(key) == 0:
            break
        await asyncio.sleep(0.05)
    assert await shared_redis.zcard(key) == 0
