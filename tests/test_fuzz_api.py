"""Property-based tests over every endpoint of the API (issue 8, point 5): JSON of any shape,
wrong types, missing fields, raw bytes and wrong content types, odd credentials, ids and
query strings. The answer is never a 5xx and always JSON; a refused write saves nothing;
an accepted one stores what was sent.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flasky.db import get_database
from flasky.models import Post, User
from tests.factories import api_token, basic_auth, make_comment, make_post, make_user
from tests.fuzzing import (
    FUZZ,
    assert_stored_data_is_valid,
    characters,
    huge,
    json_values,
    raw_body,
    snapshot,
    tricky,
    value,
)


@dataclass
class World:
    author: User
    reader: User
    post: Post
    token: str


@pytest.fixture
async def world(session) -> World:
    author = await make_user(session, username="author", email="author@example.com")
    reader = await make_user(session, username="reader", email="reader@example.com")
    post = await make_post(session, author, body="the post")
    await make_comment(session, reader, post, body="a comment")
    return World(author, reader, post, await api_token(session, author))


WRITES = [
    ("POST", "/api/v1/posts/"),
    ("PUT", "/api/v1/posts/{post}"),
    ("POST", "/api/v1/posts/{post}/comments/"),
]
READS = [
    "/api/v1/posts/",
    "/api/v1/posts/{post}",
    "/api/v1/users/{author}",
    "/api/v1/users/{author}/posts/",
    "/api/v1/users/{author}/timeline/",
    "/api/v1/comments/",
    "/api/v1/comments/1",
    "/api/v1/posts/{post}/comments/",
]

# What a well-meaning client sends, and what a careless or hostile one does.
bodies = st.one_of(
    st.fixed_dictionaries({"body": value}),
    st.fixed_dictionaries({"body": json_values}),
    st.dictionaries(value, json_values, max_size=3),
    json_values,
)


def fill(path: str, world: World) -> str:
    return path.format(post=world.post.id, author=world.author.id)


def assert_json_answer(response) -> None:
    assert response.status_code < 500, response.status_code
    assert response.content_type.startswith("application/json"), response.content_type


async def send(client, method: str, path: str, **kwargs):
    """A request from the post's author, with a password."""
    headers = {**basic_auth("author@example.com", "cat"), **kwargs.pop("headers", {})}
    return await client.open(path, method=method, headers=headers, **kwargs)


@pytest.mark.parametrize(("method", "path"), WRITES)
@FUZZ
@given(payload=bodies)
async def test_writes_take_any_json(app, client, world, method, path, payload):
    database = get_database(app)
    before = await snapshot(database)
    response = await send(client, method, fill(path, world), json=payload)
    assert_json_answer(response)
    after = await snapshot(database)
    if response.status_code not in (200, 201):
        assert after == before
        assert "message" in await response.get_json()
    else:
        # What was accepted is what was sent, and it passed the same rules as the forms.
        assert isinstance(payload, dict) and isinstance(payload.get("body"), str)
        assert payload["body"].strip()
        assert (await response.get_json())["body"] == payload["body"]
    assert_stored_data_is_valid(after)


@pytest.mark.parametrize(("method", "path"), WRITES)
@FUZZ
@given(
    body=st.one_of(raw_body, st.builds(lambda t: t.encode("utf-8", "surrogatepass"), st.text())),
    content_type=st.sampled_from(
        [
            "application/json",
            "application/json; charset=latin-1",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "",
        ]
    ),
)
async def test_writes_take_any_bytes(app, client, world, method, path, body, content_type):
    database = get_database(app)
    before = await snapshot(database)
    response = await send(
        client, method, fill(path, world), data=body, headers={"Content-Type": content_type}
    )
    assert_json_answer(response)
    if response.status_code not in (200, 201):
        assert await snapshot(database) == before


@pytest.mark.parametrize(("method", "path"), WRITES)
async def test_json_strings_the_databases_cannot_store_are_refused(
    app, client, world, method, path
):
    database = get_database(app)
    before = await snapshot(database)
    for raw in [b'{"body": "a\\u0000b"}', b'{"body": "\\ud800"}', b'{"body": "x\\udfff y"}']:
        response = await send(
            client,
            method,
            fill(path, world),
            data=raw,
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 400, raw
    assert await snapshot(database) == before


@FUZZ
@given(
    path=st.sampled_from(READS),
    query=st.lists(
        st.tuples(
            st.sampled_from(["page", "per_page", "x"]),
            st.one_of(st.integers().map(str), value),
        ),
        max_size=3,
    ),
)
async def test_reads_take_any_query_string(client, world, path, query):
    response = await send(client, "GET", fill(path, world), query_string=query)
    assert_json_answer(response)


@FUZZ
@given(
    template=st.sampled_from(
        [
            "/api/v1/posts/{}",
            "/api/v1/users/{}",
            "/api/v1/users/{}/posts/",
            "/api/v1/users/{}/timeline/",
            "/api/v1/comments/{}",
            "/api/v1/posts/{}/comments/",
        ]
    ),
    ident=st.one_of(st.integers(), st.text(characters, min_size=1, max_size=40), tricky),
)
async def test_any_id_in_the_url(client, world, template, ident):
    response = await send(client, "GET", template.format(quote(str(ident), safe="")))
    assert_json_answer(response)


# A header cannot carry line breaks or other control characters at all.
header_text = st.text(st.characters(exclude_categories=["Cs", "Cc"]), max_size=100)
credentials = st.one_of(
    st.builds(lambda u, p: basic_auth(u, p)["Authorization"], value, value),
    st.builds(lambda raw: "Basic " + base64.b64encode(raw).decode(), st.binary(max_size=100)),
    st.builds(lambda t: "Basic " + t, header_text),
    st.builds(lambda t: "Bearer " + t, header_text),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=100),
)


@FUZZ
@given(
    authorization=credentials,
    endpoint=st.sampled_from([("POST", "/api/v1/tokens/"), ("GET", "/api/v1/posts/")]),
)
async def test_any_credentials(client, world, authorization, endpoint):
    method, path = endpoint
    response = await client.open(
        path, method=method, headers={"Authorization": authorization, "Accept": "application/json"}
    )
    assert_json_answer(response)
    assert response.status_code in (200, 401, 400), response.status_code


@FUZZ
@given(token=st.one_of(st.text(characters, max_size=300), huge, tricky))
async def test_any_token(client, world, token):
    for path in ["/api/v1/posts/", "/api/v1/tokens/"]:
        response = await client.open(
            path, method="POST" if "tokens" in path else "GET", headers=basic_auth(token, "")
        )
        assert_json_answer(response)
        assert response.status_code in (400, 401), response.status_code


async def test_a_real_token_still_works(client, world):
    response = await client.get("/api/v1/posts/", headers=basic_auth(world.token, ""))
    assert response.status_code == 200


@pytest.mark.parametrize(("method", "path"), WRITES)
async def test_oversized_bodies_get_413_json_and_save_nothing(app, client, world, method, path):
    database = get_database(app)
    before = await snapshot(database)
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = await send(client, method, fill(path, world), json={"body": "x" * limit})
    assert response.status_code == 413
    assert (await response.get_json())["error"] == "payload too large"
    assert await snapshot(database) == before


async def test_deeply_nested_json_is_a_400(app, client, world):
    nested = b"[" * 100_000 + b"]" * 100_000
    response = await send(
        client,
        "POST",
        "/api/v1/posts/",
        data=nested,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert json.loads(await response.get_data(as_text=True))["error"] == "bad request"
