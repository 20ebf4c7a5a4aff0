"""Property-based tests over every form of the site (issue 8, point 5): random, huge and
strange input, missing and repeated fields, raw bytes. Whatever arrives, the answer is
never a 5xx; when the input is refused, nothing in the database changed; and whatever
was accepted still satisfies the rules the forms enforce.

Examples are kept few (FUZZ settings) so the suite stays fast; every run draws new ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from flasky.models import Comment, Follow, Post, User
from tests.factories import login_as, logout, make_comment, make_post, make_user

FUZZ = settings(
    max_examples=30,
    deadline=None,
    database=None,
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
        "", " ", "\t\n", "\x00", "a\x00b", "john", "john@example.com", "JOHN@EXAMPLE.COM ",
        "cat", "<script>alert(1)</script>", "' OR 1=1 --", "%s%n%x", "../../etc/passwd",
        "ünïcødé@exämple.com", "😀" * 10, "\u202e\u0000\ufeff", "y", "on", "true", "0", "-1",
        "99999999999999999999", "1e309", "NaN", "a" * 64, "a" * 65, "[x](javascript:alert(1))",
        "**bold** _it_ http://example.com", "\r\n.\r\n",
    ]
)
huge = st.builds(
    lambda ch, n: ch * n, characters, st.sampled_from([64, 65, 5_001, 50_001, 120_000])
)
value = st.one_of(tricky, st.text(characters, max_size=200), huge)


def form_data(fields: list[str]) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Each field missing, given once, or given several times; plus stray fields."""

    def field_pairs(name: str) -> st.SearchStrategy[list[tuple[str, str]]]:
        return st.lists(value, max_size=3).map(lambda values: [(name, v) for v in values])

    stray = st.lists(st.tuples(st.text(characters, max_size=10), value), max_size=2)
    return st.tuples(*(field_pairs(f) for f in fields), stray).map(
        lambda parts: [pair for part in parts for pair in part]
    )


raw_body = st.binary(max_size=300)

# -- the forms -----------------------------------------------------------------------------


@dataclass
class Form:
    path: str
    role: str  # who submits it: "anonymous", "User", "Administrator", "unconfirmed"
    fields: list[str]
    required: list[str] = field(default_factory=list)
    max_lengths: dict[str, int] = field(default_factory=dict)


FORMS = {
    "login": Form("/auth/login", "anonymous", ["email", "password", "remember_me"], ["email", "password"]),
    "register": Form(
        "/auth/register", "anonymous", ["email", "username", "password", "password2"],
        ["email", "username", "password", "password2"], {"username": 64},
    ),
    "reset_request": Form("/auth/reset", "anonymous", ["email"], ["email"]),
    "reset": Form("/auth/reset/{token}", "anonymous", ["password", "password2"], ["password", "password2"]),
    "change_password": Form(
        "/auth/change-password", "User", ["old_password", "password", "password2"],
        ["old_password", "password", "password2"],
    ),
    "change_email": Form("/auth/change_email", "User", ["email", "password"], ["email", "password"]),
    "resend_confirmation": Form("/auth/confirm", "unconfirmed", []),
    "logout": Form("/auth/logout", "User", []),
    "post": Form("/", "User", ["body"], ["body"], {"body": 50_000}),
    "comment": Form("/post/{post}", "User", ["body"], ["body"], {"body": 5_000}),
    "edit_post": Form("/edit/{post}", "author", ["body"], ["body"], {"body": 50_000}),
    "edit_profile": Form(
        "/edit-profile", "User", ["name", "location", "about_me"], [],
        {"name": 64, "location": 64, "about_me": 5_000},
    ),
    "edit_profile_admin": Form(
        "/edit-profile/{user}", "Administrator",
        ["email", "username", "confirmed", "role", "name", "location", "about_me"],
        ["email", "username"], {"username": 64, "name": 64, "location": 64, "about_me": 5_000},
    ),
}


@dataclass
class World:
    author: User
    other: User
    post: Post
    reset_token: str


@pytest.fixture
async def world(session) -> World:
    author = await make_user(session, username="author", email="author@example.com")
    other = await make_user(session, username="other", email="other@example.com")
    post = await make_post(session, author, body="the post")
    await make_comment(session, other, post, body="a comment")
    return World(author, other, post, other.generate_reset_token())


async def snapshot(database) -> tuple:
    """Everything a form could change (last_seen aside, which every visit updates)."""
    async with database.session() as s:
        users = (
            await s.execute(
                select(
                    User.id, User.email, User.username, User.role_id, User.password_hash,
                    User.confirmed, User.name, User.location, User.about_me,
                ).order_by(User.id)
            )
        ).all()
        posts = (await s.execute(select(Post.id, Post.body, Post.author_id).order_by(Post.id))).all()
        comments = (
            await s.execute(
                select(Comment.id, Comment.body, Comment.disabled, Comment.post_id).order_by(Comment.id)
            )
        ).all()
        follows = (
            await s.execute(select(Follow.follower_id, Follow.followed_id).order_by(Follow.follower_id, Follow.followed_id))
        ).all()
    return users, posts, comments, follows


USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.]*$")


def assert_stored_data_is_valid(state: tuple) -> None:
    users, posts, comments, _follows = state
    for user in users:
        assert USERNAME.match(user.username) and len(user.username) <= 64, user.username
        assert "@" in user.email and len(user.email) <= 64, user.email
        assert len(user.name or "") <= 64 and len(user.location or "") <= 64
    for post in posts:
        assert post.body.strip() and len(post.body) <= 50_000
    for comment in comments:
        assert comment.body.strip() and len(comment.body) <= 5_000


def first_values(pairs: list[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, given_value in pairs:
        values.setdefault(name, given_value)
    return values


def must_be_refused(form: Form, pairs: list[tuple[str, str]]) -> bool:
    values = first_values(pairs)
    if any(not values.get(name, "").strip() for name in form.required):
        return True
    # Optional fields treat blank input as empty, whatever its length.
    return any(
        len(given_value) > limit and given_value.strip()
        for name, limit in form.max_lengths.items()
        if (given_value := values.get(name, ""))
    )


async def act_as(client, session, form: Form, world: World) -> None:
    logout(client)
    if form.role == "anonymous":
        return
    if form.role == "author":
        login_as(client, world.author)
        return
    user = await make_user(
        session, role=None if form.role in ("User", "unconfirmed") else form.role,
        confirmed=form.role != "unconfirmed",
    )
    login_as(client, user)


def target(form: Form, world: World, token: str | None = None) -> str:
    return form.path.format(
        post=world.post.id, user=world.other.id, token=quote(token or world.reset_token, safe="")
    )


async def submit_and_check(app, client, session, form: Form, world: World, body: bytes,
                           content_type: str, refused: bool, token: str | None = None) -> None:
    from flasky.db import get_database

    database = get_database(app)
    await act_as(client, session, form, world)
    before = await snapshot(database)
    response = await client.post(
        target(form, world, token), data=body, headers={"Content-Type": content_type}
    )
    assert response.status_code < 500, (response.status_code, await response.get_data(as_text=True))
    after = await snapshot(database)
    if refused or response.status_code not in (302, 303):
        assert after == before, f"{form.path} changed the database on {response.status_code}"
    assert_stored_data_is_valid(after)


form_content_types = st.sampled_from(
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
     "multipart/form-data", "application/json", "text/plain", ""]
)


@pytest.mark.parametrize("name", sorted(FORMS))
@FUZZ
@given(data=st.data())
async def test_forms_never_fail_and_save_nothing_they_refuse(app, client, session, world, name, data):
    form = FORMS[name]
    if data.draw(st.integers(0, 4), label="raw bytes?") == 0:
        # Random bytes may still decode to a valid submission: judge by the answer only.
        body = data.draw(raw_body, label="body")
        content_type = data.draw(form_content_types, label="content type")
        refused = False
    else:
        pairs = data.draw(form_data(form.fields), label="form")
        body, content_type = urlencode(pairs).encode(), "application/x-www-form-urlencoded"
        refused = must_be_refused(form, pairs)
    await submit_and_check(app, client, session, form, world, body, content_type, refused)


@FUZZ
@given(token=st.one_of(st.text(characters, min_size=1, max_size=300), tricky.filter(bool)))
async def test_reset_with_any_token_never_fails(app, client, session, world, token):
    body = urlencode({"password": "new", "password2": "new"}).encode()
    await submit_and_check(
        app, client, session, FORMS["reset"], world, body, "application/x-www-form-urlencoded",
        refused=True, token=token,
    )


@FUZZ
@given(
    action=st.sampled_from(["follow", "unfollow"]),
    username=st.one_of(st.text(characters, min_size=1, max_size=100), huge, tricky.filter(bool)),
)
async def test_follow_and_unfollow_any_name(app, client, world, action, username):
    from flasky.db import get_database

    database = get_database(app)
    login_as(client, world.author)
    before = await snapshot(database)
    response = await client.post(f"/{action}/{quote(username, safe='')}")
    assert response.status_code < 500
    if username not in ("other", "author"):
        assert await snapshot(database) == before


@pytest.fixture
async def moderator(session) -> User:
    return await make_user(session, username="moderator", role="Moderator")


@FUZZ
@given(
    action=st.sampled_from(["enable", "disable"]),
    comment_id=st.one_of(st.integers(), st.text(characters, min_size=1, max_size=30)),
    page=st.one_of(st.integers(), st.text(characters, max_size=30)),
)
async def test_moderation_of_any_id(client, moderator, world, action, comment_id, page):
    login_as(client, moderator)
    path = f"/moderate/{action}/{quote(str(comment_id), safe='')}"
    response = await client.post(path, query_string={"page": str(page)})
    assert response.status_code < 500


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | value,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(value, children, max_size=3),
    max_leaves=8,
)


@FUZZ
@given(
    payload=st.one_of(
        json_values,
        st.fixed_dictionaries({"body": json_values, "kind": json_values}),
        st.fixed_dictionaries({"body": value, "kind": st.sampled_from(["post", "comment"])}),
    )
)
async def test_preview_takes_any_json(client, world, payload):
    login_as(client, world.author)
    response = await client.post("/preview", json=payload)
    assert response.status_code in (200, 400, 413), response.status_code


PAGES = [
    "/", "/user/author", "/post/{post}", "/followers/author", "/followed_by/author", "/moderate",
    "/auth/login", "/auth/register",
]


@FUZZ
@given(
    path=st.sampled_from(PAGES),
    query=st.lists(
        st.tuples(
            st.sampled_from(["page", "next", "show_followed", "x"]),
            st.one_of(st.integers().map(str), value),
        ),
        max_size=3,
    )
)
async def test_pages_take_any_query_string(client, moderator, world, path, query):
    login_as(client, moderator)
    response = await client.get(target(Form(path, "", []), world), query_string=query)
    assert response.status_code < 500


async def test_oversized_form_posts_get_413_and_save_nothing(app, client, session, world):
    from flasky.db import get_database

    database = get_database(app)
    login_as(client, world.author)
    before = await snapshot(database)
    limit = app.config["MAX_CONTENT_LENGTH"]
    for path in ["/", f"/post/{world.post.id}", "/auth/login", "/edit-profile"]:
        response = await client.post(path, form={"body": "x" * limit, "about_me": "y"})
        assert response.status_code == 413
        assert response.content_type.startswith("text/html")
    assert await snapshot(database) == before
