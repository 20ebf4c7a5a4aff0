"""The API's messages, notifications and event stream: the same rows as the pages, with
token or password auth, every response checked against the OpenAPI document."""

from __future__ import annotations

import pytest

from tests.api_client import JOHN, SUSAN
from tests.factories import api_token, make_user
from tests.sse import TestStream

pytestmark = pytest.mark.parametrize("app_config", [{"FLASKY_MESSAGES_PER_PAGE": 2}])


async def test_send_and_list_messages(api, session, john, susan):
    sent = await api.post(f"/api/v1/users/{susan.id}/messages/", auth=JOHN, json={"body": " hi "})
    assert sent.status_code == 201
    assert sent.json["body"] == "hi"
    assert sent.json["recipient_url"] == f"http://localhost/api/v1/users/{susan.id}"
    for n in range(2):
        await api.post(f"/api/v1/users/{susan.id}/messages/", auth=JOHN, json={"body": f"m{n}"})

    page = await api.get("/api/v1/messages/", auth=SUSAN)
    assert [m["body"] for m in page.json["messages"]] == ["m1", "m0"]
    assert page.json["count"] == 3 and page.json["next"].endswith("/api/v1/messages/?page=2")
    assert all(m["unread"] for m in page.json["messages"])
    assert page.json["messages"][0]["sender_url"] == f"http://localhost/api/v1/users/{john.id}"
    assert (await api.get("/api/v1/messages/", auth=JOHN)).json["count"] == 0

    # The Location of a sent message reads back for both parties and nobody else.
    location = sent.headers["Location"].removeprefix("http://localhost")
    assert (await api.get(location, auth=JOHN)).json["unread"] is False
    assert (await api.get(location, auth=SUSAN)).json["body"] == "hi"
    await make_user(session, username="eve", email="eve@example.com", password="cat")
    assert (await api.get(location, auth=("eve@example.com", "cat"))).status_code == 404


@pytest.mark.parametrize(
    "body", [{}, {"body": ""}, {"body": "  "}, {"body": 3}, [], {"body": "x" * 2001}]
)
async def test_a_bad_message_is_400(api, john, susan, body):
    response = await api.post(f"/api/v1/users/{susan.id}/messages/", auth=JOHN, json=body)
    assert response.status_code == 400


async def test_messages_to_oneself_nobody_or_a_blocker_are_refused(api, client, john, susan):
    assert (
        await api.post(f"/api/v1/users/{john.id}/messages/", auth=JOHN, json={"body": "me"})
    ).status_code == 400
    assert (
        await api.post("/api/v1/users/99999/messages/", auth=JOHN, json={"body": "x"})
    ).status_code == 404
    from tests.factories import login_as

    login_as(client, susan)
    await client.post("/block/john")
    response = await api.post(f"/api/v1/users/{susan.id}/messages/", auth=JOHN, json={"body": "x"})
    assert response.status_code == 403 and "does not accept" in response.json["message"]


async def test_notifications_list(api, session, john, susan):
    await api.post(f"/api/v1/users/{susan.id}/messages/", auth=JOHN, json={"body": "hello"})
    await api.post("/api/v1/posts/", auth=SUSAN, json={"body": "nobody follows me yet"})
    page = await api.get("/api/v1/notifications/", auth=SUSAN)
    (item,) = page.json["notifications"]
    assert item["kind"] == "message" and item["text"] == "john sent you a message."
    assert item["url"] == "http://localhost/messages" and item["unread"] is True


async def test_anonymous_and_unconfirmed_clients_are_refused(api, session):
    await make_user(session, username="late", email="late@example.com", confirmed=False)
    for url in ("/api/v1/messages/", "/api/v1/notifications/"):
        assert (await api.get(url)).status_code == 401
        assert (await api.get(url, auth=("late@example.com", "cat"))).status_code == 403
    assert (await api.get("/api/v1/events")).status_code == 401


async def test_the_event_stream_with_a_token(app, api, client, session, john, susan):
    token = await api_token(session, susan)
    from tests.api_client import basic

    stream = await TestStream.open(client, "/api/v1/events", headers=basic(token))
    try:
        assert stream.status_code == 200
        await api.post(f"/api/v1/users/{susan.id}/messages/", auth=JOHN, json={"body": "live"})
        (event,) = await stream.next_events()
        assert event.kind == "message" and event.data["body"] == "live"
    finally:
        await stream.close()
