"""Property-based tests over every form of the site: random, huge and
strange input, missing and repeated fields, raw bytes. Whatever arrives, the answer is
never a 5xx; when the input is refused, nothing in the database changed; and whatever
was accepted still satisfies the rules the forms enforce.

Examples are kept few (tests/fuzzing.py FUZZ) so the suite stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flasky.models import Post, User
from tests.factories import login_as, logout, make_comment, make_post, make_user
from tests.fuzzing import (
    FUZZ,
    assert_stored_data_is_valid,
    characters,
    form_data,
    huge,
    json_values,
    raw_body,
    snapshot,
    tricky,
    value,
)

# -- the forms -----------------------------------------------------------------------------

USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_.]*")  # the whole name (fullmatch)


def bad_name_or_address(values: dict[str, str]) -> bool:
    """A username outside the rule, or an address without "@" or longer than 64 characters
    once normalised (stripped and lowercased, as it is stored)."""
    username, email = values.get("username"), values.get("email")
    if username is not None and not USERNAME.fullmatch(username):
        return True
    return email is not None and ("@" not in email or len(email.strip().lower()) > 64)


def passwords_differ(values: dict[str, str]) -> bool:
    return values.get("password") != values.get("password2")


# Near misses of the rules beside the generic values: valid names with a trailing newline or
# space, a dash, an accent, a leading digit, up to 65 characters; addresses with spaces around
# them or letters that lowercasing lengthens ("İ" becomes two characters).
valid_usernames = st.from_regex(r"[A-Za-z][A-Za-z0-9_.]{0,62}", fullmatch=True)
username_near_misses = st.one_of(
    valid_usernames,
    valid_usernames.map(lambda name: name + "\n"),
    st.builds(str.__add__, valid_usernames, st.sampled_from([" ", "-", "é", "a", "aa"])),
    st.from_regex(r"[0-9_.][A-Za-z0-9_.]{0,5}", fullmatch=True),
)
email_near_misses = st.builds(
    lambda local, pad: f"{pad}{local}@example.com{pad}",
    st.one_of(
        st.from_regex(r"[A-Za-z0-9]{1,52}", fullmatch=True),
        st.text(st.sampled_from("aZ.İ"), min_size=1, max_size=55),
        # At most 64 characters as sent, more once lowercased.
        st.builds(lambda n, m: "İ" * n + "a" * m, st.integers(27, 52), st.integers(0, 10)),
    ),
    st.sampled_from(["", "", " "]),
)
valid_emails = st.from_regex(r"[a-z0-9]{1,40}", fullmatch=True).map("{}@example.com".format)
usernames = st.one_of(value, username_near_misses)
emails = st.one_of(value, email_near_misses)
roles = st.one_of(value, st.sampled_from(["1", "2", "3"]))  # the role ids
# Often the same in both fields, so that resets and registrations also succeed.
passwords = st.one_of(value, st.just("s3cret"))


@dataclass
class Form:
    path: str
    role: str  # who submits it: "anonymous", "User", "Administrator", "unconfirmed"
    fields: list[str]
    required: list[str] = field(default_factory=list)
    max_lengths: dict[str, int] = field(default_factory=dict)
    # Filled with the current values: WTForms keeps those for fields missing from the post.
    prefilled: bool = False
    # Further rules over the first value of each field: true when the form must refuse.
    refuses: Callable[[dict[str, str]], bool] | None = None
    # Fields drawn from their own strategy rather than the generic `value`.
    values: dict[str, st.SearchStrategy[str]] = field(default_factory=dict)


FORMS = {
    "login": Form(
        "/auth/login", "anonymous", ["email", "password", "remember_me"], ["email", "password"]
    ),
    "register": Form(
        "/auth/register",
        "anonymous",
        ["email", "username", "password", "password2"],
        ["email", "username", "password", "password2"],
        {"username": 64},
        refuses=lambda values: bad_name_or_address(values) or passwords_differ(values),
        values={
            "email": emails,
            "username": usernames,
            "password": passwords,
            "password2": passwords,
        },
    ),
    "reset_request": Form("/auth/reset", "anonymous", ["email"], ["email"]),
    "reset": Form(
        "/auth/reset/{token}",
        "anonymous",
        ["password", "password2"],
        ["password", "password2"],
        refuses=passwords_differ,
        values={"password": passwords, "password2": passwords},
    ),
    "change_password": Form(
        "/auth/change-password",
        "User",
        ["old_password", "password", "password2"],
        ["old_password", "password", "password2"],
    ),
    "change_email": Form(
        "/auth/change_email", "User", ["email", "password"], ["email", "password"]
    ),
    "resend_confirmation": Form("/auth/confirm", "unconfirmed", []),
    "logout": Form("/auth/logout", "User", []),
    "post": Form("/", "User", ["body"], ["body"], {"body": 50_000}),
    "comment": Form("/post/{post}", "User", ["body"], ["body"], {"body": 5_000}),
    "edit_post": Form(
        "/edit/{post}", "author", ["body"], ["body"], {"body": 50_000}, prefilled=True
    ),
    "edit_profile": Form(
        "/edit-profile",
        "User",
        ["name", "location", "about_me"],
        [],
        {"name": 64, "location": 64, "about_me": 5_000},
    ),
    "edit_profile_admin": Form(
        "/edit-profile/{user}",
        "Administrator",
        ["email", "username", "confirmed", "role", "name", "location", "about_me"],
        ["email", "username"],
        {"username": 64, "name": 64, "location": 64, "about_me": 5_000},
        prefilled=True,
        refuses=bad_name_or_address,
        values={"username": usernames, "email": emails, "role": roles},
    ),
}


@dataclass
class World:
    author: User
    other: User
    post: Post


@pytest.fixture
async def world(session) -> World:
    author = await make_user(session, username="author", email="author@example.com")
    other = await make_user(session, username="other", email="other@example.com")
    post = await make_post(session, author, body="the post")
    await make_comment(session, other, post, body="a comment")
    return World(author, other, post)


async def current_reset_token(app, world: World) -> str:
    """A password-reset link for `other` as things are now. Links are single-use (they
    carry a fingerprint of the password they were made against): one made once for the
    whole test is dead after the first example that resets the password, and every later
    example would only reach the bad-link branch."""
    from flasky.db import get_database

    async with get_database(app).session() as s:
        other = await s.get(User, world.other.id)
        assert other is not None
        return other.generate_reset_token()


def first_values(pairs: list[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, given_value in pairs:
        values.setdefault(name, given_value)
    return values


def must_be_refused(form: Form, pairs: list[tuple[str, str]]) -> bool:
    values = first_values(pairs)
    for name in form.required:
        if name not in values and form.prefilled:
            continue
        if not values.get(name, "").strip():
            return True
    if form.refuses is not None and form.refuses(values):
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
        session,
        role=None if form.role in ("User", "unconfirmed") else form.role,
        confirmed=form.role != "unconfirmed",
    )
    login_as(client, user)


def target(form: Form, world: World, token: str = "") -> str:
    return form.path.format(post=world.post.id, user=world.other.id, token=quote(token, safe=""))


async def submit_and_check(
    app,
    client,
    session,
    form: Form,
    world: World,
    body: bytes,
    content_type: str,
    refused: bool,
    token: str | None = None,
) -> None:
    from flasky.db import get_database

    database = get_database(app)
    if token is None and "{token}" in form.path:
        token = await current_reset_token(app, world)
    await act_as(client, session, form, world)
    before = await snapshot(database)
    response = await client.post(
        target(form, world, token or ""), data=body, headers={"Content-Type": content_type}
    )
    assert response.status_code < 500, (response.status_code, await response.get_data(as_text=True))
    after = await snapshot(database)
    if refused or response.status_code not in (302, 303):
        assert after == before, f"{form.path} changed the database on {response.status_code}"
    assert_stored_data_is_valid(after)


form_content_types = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "multipart/form-data",
        "application/json",
        "text/plain",
        "",
    ]
)


@pytest.mark.parametrize("name", sorted(FORMS))
@FUZZ
@given(data=st.data())
async def test_forms_never_fail_and_save_nothing_they_refuse(
    app, client, session, world, name, data
):
    form = FORMS[name]
    if data.draw(st.integers(0, 4), label="raw bytes?") == 0:
        # Random bytes may still decode to a valid submission: judge by the answer only.
        body = data.draw(raw_body, label="body")
        content_type = data.draw(form_content_types, label="content type")
        refused = False
    else:
        pairs = data.draw(form_data(form.fields, form.values), label="form")
        body, content_type = urlencode(pairs).encode(), "application/x-www-form-urlencoded"
        refused = must_be_refused(form, pairs)
    await submit_and_check(app, client, session, form, world, body, content_type, refused)


@FUZZ
@given(
    fields=st.one_of(
        st.tuples(username_near_misses, valid_emails),
        st.tuples(valid_usernames, email_near_misses),
    ),
    confirmed=st.booleans(),
)
async def test_admin_profile_edit_takes_only_valid_names_and_addresses(
    app, client, session, world, fields, confirmed
):
    """One field a near miss, the others valid, so that the edit is often accepted: whatever
    is accepted follows the rules (assert_stored_data_is_valid), the rest changes nothing."""
    form = FORMS["edit_profile_admin"]
    username, email = fields
    pairs = [("email", email), ("username", username), ("role", "1")]
    pairs += [("confirmed", "y")] if confirmed else []
    body = urlencode(pairs).encode()
    refused = must_be_refused(form, pairs)
    await submit_and_check(
        app, client, session, form, world, body, "application/x-www-form-urlencoded", refused
    )


@pytest.mark.parametrize(
    "pairs",
    [
        [("email", "other@example.com"), ("username", "other\n")],
        [("email", "İ" * 52 + "@example.com"), ("username", "other")],
    ],
    ids=["username-with-trailing-newline", "email-longer-than-64-once-lowercased"],
)
async def test_admin_profile_edit_refuses_near_misses(app, client, session, world, pairs):
    """Two near misses the form used to accept: "$" let a trailing newline into a username,
    and the length of an address was checked before lowercasing lengthened it."""
    form = FORMS["edit_profile_admin"]
    assert must_be_refused(form, pairs)
    body = urlencode(pairs).encode()
    await submit_and_check(
        app, client, session, form, world, body, "application/x-www-form-urlencoded", True
    )


@FUZZ
@given(token=st.one_of(st.text(characters, min_size=1, max_size=300), tricky.filter(bool)))
async def test_reset_with_any_token_never_fails(app, client, session, world, token):
    body = urlencode({"password": "new", "password2": "new"}).encode()
    await submit_and_check(
        app,
        client,
        session,
        FORMS["reset"],
        world,
        body,
        "application/x-www-form-urlencoded",
        refused=True,
        token=token,
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
    "/",
    "/user/author",
    "/post/{post}",
    "/followers/author",
    "/followed_by/author",
    "/moderate",
    "/auth/login",
    "/auth/register",
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
    ),
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
