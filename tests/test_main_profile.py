"""Profiles: the profile page, edit profile, and the administrator's edit profile."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from flasky.models import Role, User
from tests.factories import ROLES, login_as, make_comment, make_post, make_user, sign_in_as


async def text_of(response) -> str:
    return await response.get_data(as_text=True)


async def reload(session, user: User) -> User:
    session.expunge_all()
    fresh = await session.scalar(select(User).where(User.id == user.id))
    await session.commit()  # SQLite has one pooled connection: don't keep it from the app
    return fresh


# -- profile page ----------------------------------------------------------------------------


async def test_unknown_user_is_404(client):
    assert (await client.get("/user/nobody")).status_code == 404
    as_json = await client.get("/user/nobody", headers={"Accept": "application/json"})
    assert as_json.status_code == 404
    assert await as_json.get_json() == {"error": "not found"}


async def test_profile_shows_the_user_and_their_figures(client, session):
    ann = await make_user(
        session, username="ann", name="Ann Smith", location="Lisbon", about_me="I write."
    )
    bob = await make_user(session, username="bob")
    cid = await make_user(session, username="cid")
    post = await make_post(session, ann, body="ann's **post**")
    await make_post(session, ann, body="second")
    await make_comment(session, ann, post)
    await bob.follow(session, ann)
    await cid.follow(session, ann)
    await ann.follow(session, bob)
    await session.commit()

    response = await client.get("/user/ann")
    assert response.status_code == 200
    html = await text_of(response)
    assert "<h1>ann</h1>" in html
    assert "Ann Smith" in html and "Lisbon" in html and "I write." in html
    assert "2 blog posts." in html and "1 comment." in html
    # The self-follow is left out of both counts.
    assert 'Followers: <span class="badge bg-secondary">2</span>' in html
    assert 'Following: <span class="badge bg-secondary">1</span>' in html
    assert 'href="/followers/ann"' in html and 'href="/followed_by/ann"' in html
    assert 'data-format="date"' in html  # member since, as a date
    assert "Last seen" in html
    assert f'src="/avatar/{ann.avatar_hash}.svg"' in html  # drawn by the site itself
    assert "<p>ann&#39;s <strong>post</strong></p>" in html or "<strong>post</strong>" in html
    assert f'href="/post/{post.id}"' in html


@pytest.mark.parametrize("role", ROLES)
async def test_profile_buttons_and_links_by_role(client, session, role):
    ann = await make_user(session, username="ann")
    viewer = await sign_in_as(client, session, role)
    html = await text_of(await client.get("/user/ann"))
    if viewer is None:
        assert 'action="/follow/ann"' not in html
    else:
        assert 'action="/follow/ann"' in html and 'method="post"' in html
    assert ("Edit Profile [Admin]" in html) == (role == "Administrator")
    assert (f'href="/edit-profile/{ann.id}"' in html) == (role == "Administrator")
    assert ("mailto:ann@example.com" in html) == (role == "Administrator")
    assert 'href="/edit-profile"' not in html


async def test_own_profile_has_edit_link_and_no_follow_button(client, session):
    ann = await sign_in_as(client, session, "User", username="ann")
    html = await text_of(await client.get("/user/ann"))
    assert 'href="/edit-profile"' in html
    assert 'action="/follow/ann"' not in html and 'action="/unfollow/ann"' not in html
    assert "Follows you" not in html
    assert ann.username in html


async def test_profile_shows_unfollow_and_follows_you(client, session):
    ann = await sign_in_as(client, session, "User", username="ann")
    bob = await make_user(session, username="bob")
    html = await text_of(await client.get("/user/bob"))
    assert 'action="/follow/bob"' in html and "Follows you" not in html

    await ann.follow(session, bob)
    await bob.follow(session, ann)
    await session.commit()
    html = await text_of(await client.get("/user/bob"))
    assert 'action="/unfollow/bob"' in html and 'action="/follow/bob"' not in html
    assert "Follows you" in html


@pytest.mark.parametrize("app_config", [{"FLASKY_POSTS_PER_PAGE": 2}])
async def test_profile_posts_are_paginated(client, session):
    ann = await make_user(session, username="ann")
    for n in range(1, 4):
        await make_post(session, ann, body=f"post number {n}")
    first = await text_of(await client.get("/user/ann"))
    assert "post number 3" in first and "post number 1" not in first
    assert 'href="/user/ann?page=2"' in first
    second = await text_of(await client.get("/user/ann?page=2"))
    assert "post number 1" in second and "post number 3" not in second
    past = await client.get("/user/ann?page=5")
    assert past.status_code == 200 and "post number" not in await text_of(past)


# -- edit profile ----------------------------------------------------------------------------


async def test_edit_profile_needs_a_login(client):
    response = await client.get("/edit-profile")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


async def test_edit_profile_prefills_and_updates(client, session):
    ann = await sign_in_as(client, session, "User", username="ann", location="Porto")
    html = await text_of(await client.get("/edit-profile"))
    assert 'value="Porto"' in html

    response = await client.post(
        "/edit-profile", form={"name": "Ann", "location": "Lisbon", "about_me": "Hi there"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/user/ann"
    html = await text_of(await client.get("/user/ann"))
    assert "Your profile has been updated." in html
    ann = await reload(session, ann)
    assert (ann.name, ann.location, ann.about_me) == ("Ann", "Lisbon", "Hi there")


async def test_edit_profile_rejects_overlong_fields(client, session):
    ann = await sign_in_as(client, session, "User", username="ann")
    response = await client.post("/edit-profile", form={"name": "x" * 65})
    assert response.status_code == 200
    assert "invalid-feedback" in await text_of(response)
    assert (await reload(session, ann)).name is None


# -- administrator's edit profile ------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
async def test_admin_edit_profile_is_for_administrators(client, session, role):
    ann = await make_user(session, username="ann")
    await sign_in_as(client, session, role)
    response = await client.get(f"/edit-profile/{ann.id}")
    if role == "anonymous":
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/auth/login")
    elif role == "Administrator":
        assert response.status_code == 200
    else:
        assert response.status_code == 403


async def test_admin_edit_profile_shows_role_names(client, session):
    ann = await make_user(session, username="ann")
    await sign_in_as(client, session, "Administrator")
    html = await text_of(await client.get(f"/edit-profile/{ann.id}"))
    assert '<select class="form-select" id="role" name="role">' in html
    for name in ("User", "Moderator", "Administrator"):
        assert f">{name}</option>" in html
    assert 'value="ann@example.com"' in html and 'value="ann"' in html


async def test_admin_edits_every_field(client, session):
    ann = await make_user(session, username="ann", confirmed=False)
    await sign_in_as(client, session, "Administrator")
    moderator = await session.scalar(select(Role).where(Role.name == "Moderator"))
    await session.commit()
    response = await client.post(
        f"/edit-profile/{ann.id}",
        form={
            "email": "Annie@Example.com",
            "username": "annie",
            "confirmed": "y",
            "role": str(moderator.id),
            "name": "Annie",
            "location": "Faro",
            "about_me": "Moderating.",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/user/annie"
    assert "The profile has been updated." in await text_of(await client.get("/user/annie"))
    ann = await reload(session, ann)
    assert ann.email == "annie@example.com"
    assert ann.username == "annie" and ann.confirmed and ann.role_id == moderator.id
    assert (ann.name, ann.location, ann.about_me) == ("Annie", "Faro", "Moderating.")


def admin_form(user: User, **changes: str) -> dict[str, str]:
    form = {"email": user.email, "username": user.username, "role": str(user.role_id)}
    form.update(changes)
    return form


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"email": "bob@example.com"}, "Email already registered."),
        ({"email": "BOB@example.com"}, "Email already registered."),
        ({"username": "bob"}, "Username already in use."),
        (
            {"username": "no spaces"},
            "Usernames must have only letters, numbers, dots or underscores",
        ),
        ({"email": "not-an-email"}, "Invalid email address."),
        ({"role": "999"}, "Not a valid choice."),
        ({"role": "admin"}, "Invalid Choice: could not coerce."),
    ],
)
async def test_admin_edit_profile_errors(client, session, changes, message):
    ann = await make_user(session, username="ann")
    await make_user(session, username="bob")
    await sign_in_as(client, session, "Administrator")
    response = await client.post(f"/edit-profile/{ann.id}", form=admin_form(ann, **changes))
    assert response.status_code == 200
    assert message in await text_of(response)
    assert (await reload(session, ann)).username == "ann"


async def test_admin_may_keep_the_same_email_and_username(client, session):
    ann = await make_user(session, username="ann")
    await sign_in_as(client, session, "Administrator")
    response = await client.post(f"/edit-profile/{ann.id}", form=admin_form(ann, name="Ann"))
    assert response.status_code == 302
    assert (await reload(session, ann)).name == "Ann"


async def test_admin_edit_profile_of_unknown_user_is_404(client, session):
    await sign_in_as(client, session, "Administrator")
    assert (await client.get("/edit-profile/9999")).status_code == 404


async def test_admin_can_edit_their_own_profile(client, session):
    admin = await make_user(session, username="boss", role="Administrator")
    login_as(client, admin)
    response = await client.post(f"/edit-profile/{admin.id}", form=admin_form(admin, name="Boss"))
    assert response.status_code == 302
    assert (await reload(session, admin)).name == "Boss"


async def test_profile_by_username_reads_the_same_figures_as_profile_stats(session):
    from flasky.queries import users as queries

    ann = await make_user(session, username="ann")
    bob = await make_user(session, username="bob")
    carl = await make_user(session, username="carl")
    await make_post(session, ann, body="one")
    await make_post(session, ann, body="two")
    await bob.follow(session, ann)
    await ann.follow(session, bob)
    await session.commit()
    for viewer in (None, ann.id, bob.id, carl.id):
        found = await queries.profile_by_username(session, "ann", viewer)
        assert found is not None
        profile, stats = found
        assert profile == queries.ProfileCard(
            ann.id,
            "ann",
            ann.email,
            ann.name,
            ann.location,
            ann.about_me,
            ann.member_since,
            ann.last_seen,
            ann.avatar_hash,
            ann.avatar_file,
        )
        assert stats == await queries.profile_stats(session, ann, viewer)
        assert stats.post_count == 2 and stats.follower_count == 1
        assert stats.viewer_follows == (viewer == bob.id)
        assert stats.follows_viewer == (viewer == bob.id)
    assert await queries.profile_by_username(session, "nobody", ann.id) is None


async def test_profile_page_reads_what_the_profile_and_its_posts_page_read(session):
    from flasky.queries import posts as post_queries
    from flasky.queries import profiles
    from flasky.queries import users as queries
    from flasky.queries.pagination import MAX_OFFSET
    from flasky.queries.users import AuthorCard

    ann = await make_user(session, username="ann")
    bob = await make_user(session, username="bob")
    for n in range(7):
        await make_post(session, ann, body=f"post {n}")
    await bob.follow(session, ann)
    await session.commit()
    far = MAX_OFFSET // 3 + 2  # past MAX_OFFSET: the two-statement path
    for viewer in (None, ann.id, bob.id):
        for page in (1, 2, 3, 4, far):
            found = await profiles.profile_page(session, "ann", viewer, page=page, per_page=3)
            assert found is not None
            profile, stats, listed = found
            expected_profile, expected_stats = await queries.profile_by_username(
                session, "ann", viewer
            )
            expected = await post_queries.user_posts_page(
                session, AuthorCard.of(ann), page=page, per_page=3, total=7
            )
            assert (profile, stats) == (expected_profile, expected_stats)
            assert listed == expected, (viewer, page)
    assert [post.body for post in listed.items] == []
    first = await profiles.profile_page(session, "ann", None, page=1, per_page=3)
    assert [post.body for post in first[2].items] == ["post 6", "post 5", "post 4"]
    assert await profiles.profile_page(session, "nobody", None, page=1, per_page=3) is None
