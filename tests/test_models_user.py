"""The book's user-model tests, async: passwords, tokens, roles, timestamps, avatars, follows."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from flasky import security
from flasky.db import utcnow
from flasky.models import AnonymousUser, Follow, Permission, Role, User
from flasky.models.user import create_user, load_user
from flasky.queries.signed_in import verify_auth_token
from tests.factories import api_token, make_user

ALL_PERMISSIONS = [
    Permission.FOLLOW,
    Permission.COMMENT,
    Permission.WRITE,
    Permission.MODERATE,
    Permission.ADMIN,
]


@pytest.fixture
def clock(monkeypatch):
    """Moves the tokens' clock forward without sleeping."""

    class Clock:
        offset = 0.0

        def advance(self, seconds: float) -> None:
            self.offset += seconds

    clock = Clock()
    real_time = time.time
    monkeypatch.setattr(security.time, "time", lambda: real_time() + clock.offset)
    return clock


async def count(session, query) -> int:
    return await session.scalar(select(func.count()).select_from(query.subquery()))


# -- passwords ------------------------------------------------------------------------------


async def test_password_salts_are_random():
    u, u2 = User(), User()
    await u.set_password("cat")
    await u2.set_password("cat")
    assert u.password_hash != u2.password_hash
    assert "cat" not in u.password_hash


async def test_user_without_password_never_verifies():
    assert not await User().check_password("")


def test_password_is_not_an_attribute():
    # Only the async set_password hashes (in a thread): no setter runs scrypt on the loop.
    with pytest.raises(TypeError):
        User(password="cat")


async def test_async_password_hashing_off_the_loop(app):
    u = User()
    await u.set_password("cat")
    assert u.password_hash.startswith(app.config["PASSWORD_HASH_METHOD"].split(":")[0])
    assert await u.check_password("cat")
    assert not await u.check_password("dog")


# -- confirmation tokens --------------------------------------------------------------------


async def test_valid_confirmation_token(session):
    u = await make_user(session, confirmed=False)
    token = u.generate_confirmation_token()
    assert u.confirm(token)
    assert u.confirmed


async def test_invalid_confirmation_token(session):
    u1 = await make_user(session, confirmed=False)
    u2 = await make_user(session, confirmed=False)
    token = u1.generate_confirmation_token()
    assert not u2.confirm(token)
    assert not u2.confirmed


async def test_expired_confirmation_token(session, clock):
    u = await make_user(session, confirmed=False)
    token = u.generate_confirmation_token(1)
    clock.advance(2)
    assert not u.confirm(token)


@pytest.mark.parametrize(
    "mangle", [lambda t: t + "a", lambda t: t[:-2], lambda t: "", lambda t: "x.y"]
)
async def test_tampered_confirmation_token(session, mangle):
    u = await make_user(session, confirmed=False)
    assert not u.confirm(mangle(u.generate_confirmation_token()))


async def test_token_signed_with_another_key_is_rejected(session, app):
    u = await make_user(session, confirmed=False)
    forged = security.make_token(security.CONFIRM, {"confirm": u.id}, secret_key="other key")
    assert not u.confirm(forged)


async def test_reset_token_does_not_confirm(session):
    u = await make_user(session, confirmed=False)
    assert not u.confirm(u.generate_reset_token())
    assert not u.confirmed


# -- password reset tokens ------------------------------------------------------------------


async def test_valid_reset_token(session):
    u = await make_user(session, password="cat")
    token = u.generate_reset_token()
    assert await User.reset_password(session, token, "dog")
    await session.commit()
    assert await u.check_password("dog")


async def test_invalid_reset_token(session):
    u = await make_user(session, password="cat")
    token = u.generate_reset_token()
    assert not await User.reset_password(session, token + "a", "horse")
    assert await u.check_password("cat")


async def test_expired_reset_token(session, clock):
    u = await make_user(session, password="cat")
    token = u.generate_reset_token(60)
    clock.advance(61)
    assert not await User.reset_password(session, token, "horse")
    assert await u.check_password("cat")


async def test_confirmation_token_does_not_reset_password(session):
    u = await make_user(session, password="cat")
    assert not await User.reset_password(session, u.generate_confirmation_token(), "horse")
    assert await u.check_password("cat")


async def test_reset_token_of_deleted_user(session):
    u = await make_user(session, password="cat")
    token = u.generate_reset_token()
    await session.delete(u)
    await session.commit()
    assert not await User.reset_password(session, token, "horse")


async def test_reset_token_works_once(session):
    u = await make_user(session, password="cat")
    token = u.generate_reset_token()
    assert await User.reset_password(session, token, "dog")
    await session.commit()
    assert not await User.reset_password(session, token, "horse")
    assert await u.check_password("dog")


async def test_reset_token_dies_when_the_password_changes_otherwise(session):
    u = await make_user(session, password="cat")
    token = u.generate_reset_token()
    await u.set_password("dog")
    await session.commit()
    assert await User.from_reset_token(session, token) is None
    assert not await User.reset_password(session, token, "horse")
    assert await u.check_password("dog")


async def test_reset_token_without_the_password_fingerprint_is_refused(session):
    u = await make_user(session, password="cat")
    token = security.make_token(security.RESET, {"reset": u.id})
    assert not await User.reset_password(session, token, "horse")


# -- email change tokens --------------------------------------------------------------------


async def test_valid_email_change_token(session):
    u = await make_user(session, email="john@example.com")
    token = u.generate_email_change_token("susan@example.org")
    assert await u.change_email(session, token)
    await session.commit()
    assert u.email == "susan@example.org"


async def test_email_change_updates_avatar_hash(session):
    u = await make_user(session, email="john@example.com")
    old_hash = u.avatar_hash
    assert await u.change_email(session, u.generate_email_change_token("susan@example.org"))
    assert u.avatar_hash != old_hash
    assert u.avatar_hash == User(email="susan@example.org").avatar_hash


async def test_invalid_email_change_token(session):
    u1 = await make_user(session, email="john@example.com")
    u2 = await make_user(session, email="susan@example.org")
    token = u1.generate_email_change_token("david@example.net")
    assert not await u2.change_email(session, token)
    assert u2.email == "susan@example.org"


async def test_duplicate_email_change_token(session):
    await make_user(session, email="john@example.com")
    u2 = await make_user(session, email="susan@example.org")
    token = u2.generate_email_change_token("john@example.com")
    assert not await u2.change_email(session, token)
    assert u2.email == "susan@example.org"


async def test_expired_email_change_token(session, clock):
    u = await make_user(session, email="john@example.com")
    token = u.generate_email_change_token("susan@example.org", 10)
    clock.advance(11)
    assert not await u.change_email(session, token)
    assert u.email == "john@example.com"


async def test_email_change_token_works_once(session):
    u = await make_user(session, email="john@example.com")
    first = u.generate_email_change_token("susan@example.org")
    second = u.generate_email_change_token("john2@example.com")
    assert await u.change_email(session, second)
    await session.commit()
    # Bound to the address it was mailed from: neither link works after the change.
    assert not await u.change_email(session, first)
    assert not await u.change_email(session, second)
    assert u.email == "john2@example.com"


async def test_email_change_token_dies_when_the_password_changes(session):
    u = await make_user(session, email="john@example.com")
    token = u.generate_email_change_token("susan@example.org")
    await u.set_password("dog")
    assert not await u.change_email(session, token)
    assert u.email == "john@example.com"


# -- API tokens -----------------------------------------------------------------------------


async def _value(value: str) -> str:
    return value


async def test_valid_auth_token(session):
    u = await make_user(session)
    found, _session_id = await verify_auth_token(session, await api_token(session, u))
    assert (found.id, found.username, found.email, found.confirmed) == (
        u.id,
        u.username,
        u.email,
        u.confirmed,
    )
    assert found.can(Permission.WRITE)  # the role came in the same statement
    assert not found.can(Permission.MODERATE) and not found.is_administrator()


async def test_a_token_caller_without_a_role_can_do_nothing(session):
    u = await make_user(session)
    token = await api_token(session, u)
    u.role = None
    await session.commit()
    found, _session_id = await verify_auth_token(session, token)
    assert found.permissions is None and not found.can(Permission.FOLLOW)


@pytest.mark.parametrize("kind", ["tampered", "expired", "confirmation", "unknown user"])
async def test_invalid_auth_token(session, clock, kind):
    u = await make_user(session)
    token = {
        "tampered": lambda: api_token(session, u),
        "expired": lambda: api_token(session, u, 5),
        "confirmation": lambda: _value(u.generate_confirmation_token()),
        "unknown user": lambda: _value(security.make_token(security.API, {"id": u.id + 1000})),
    }[kind]
    token = await token()
    if kind == "tampered":
        token += "x"
    clock.advance(6)
    assert await verify_auth_token(session, token) is None


# -- roles and permissions ------------------------------------------------------------------


async def test_new_user_gets_the_default_role(session):
    u = await make_user(session)
    assert u.role.name == "User"


async def test_flasky_admin_becomes_administrator(session, app):
    app.config["FLASKY_ADMIN"] = "Boss@Example.com"
    u = await create_user(session, email="boss@example.com", username="boss", password="cat")
    await session.commit()
    assert u.role.name == "Administrator"
    assert u.is_administrator()


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("User", {Permission.FOLLOW, Permission.COMMENT, Permission.WRITE}),
        (
            "Moderator",
            {Permission.FOLLOW, Permission.COMMENT, Permission.WRITE, Permission.MODERATE},
        ),
        ("Administrator", set(ALL_PERMISSIONS)),
    ],
)
async def test_role_permissions(session, role, allowed):
    u = await make_user(session, role=role)
    for permission in ALL_PERMISSIONS:
        assert u.can(permission) == (permission in allowed), (role, permission)
    assert u.is_administrator() == (role == "Administrator")


def test_anonymous_user():
    u = AnonymousUser()
    for permission in ALL_PERMISSIONS:
        assert not u.can(permission)
    assert not u.is_administrator()
    assert not u.is_authenticated


def test_user_without_role_can_do_nothing():
    assert not User(email="x@example.com").can(Permission.FOLLOW)


async def test_insert_roles_is_idempotent_and_repairs_permissions(session):
    moderator = await session.scalar(select(Role).where(Role.name == "Moderator"))
    moderator.permissions = 0
    moderator.default = True
    await session.commit()
    await Role.insert_roles(session)
    await Role.insert_roles(session)
    roles = {r.name: r for r in (await session.scalars(select(Role))).all()}
    assert sorted(roles) == ["Administrator", "Moderator", "User"]
    assert roles["Moderator"].has_permission(Permission.MODERATE)
    assert not roles["Moderator"].default
    assert [r.name for r in roles.values() if r.default] == ["User"]


# -- timestamps, ping, avatar ---------------------------------------------------------------


async def test_timestamps(session):
    u = await make_user(session)
    now = utcnow()
    assert u.member_since.tzinfo is not None
    assert timedelta(0) <= now - u.member_since < timedelta(seconds=10)
    assert timedelta(0) <= now - u.last_seen < timedelta(seconds=10)


async def test_timestamps_read_back_as_aware_utc(session, database):
    u = await make_user(session)
    async with database.session() as other:
        loaded = await other.get(User, u.id)
        assert loaded.member_since.utcoffset() == timedelta(0)
        assert abs(loaded.member_since - u.member_since) < timedelta(seconds=1)


async def test_ping(session):
    u = await make_user(session)
    before = u.last_seen
    u.ping()
    await session.commit()
    assert u.last_seen > before


async def test_gravatar(session):
    u = await make_user(session, email="john@example.com")
    gravatar = u.gravatar()
    gravatar_256 = u.gravatar(size=256)
    gravatar_pg = u.gravatar(rating="pg")
    gravatar_retro = u.gravatar(default="retro")
    assert "https://secure.gravatar.com/avatar/d4c74594d841139328695756648b6bd6" in gravatar
    assert "s=256" in gravatar_256
    assert "r=pg" in gravatar_pg
    assert "d=retro" in gravatar_retro


def test_gravatar_hash_is_cached_from_the_email():
    u = User(email="John@Example.com ")
    assert u.avatar_hash == "d4c74594d841139328695756648b6bd6"


# -- follows --------------------------------------------------------------------------------


async def test_follows(session):
    u1 = await make_user(session)
    u2 = await make_user(session)
    assert not await u1.is_following(session, u2)

    timestamp_before = utcnow()
    assert await u1.follow(session, u2)
    await session.commit()
    timestamp_after = utcnow()
    assert not await u1.follow(session, u2)  # already following: nothing to do
    assert await u1.is_following(session, u2)
    assert not await u2.is_following(session, u1)
    # Counts include the self-follow every user has.
    assert await count(session, select(Follow).where(Follow.follower_id == u1.id)) == 2
    assert await count(session, select(Follow).where(Follow.followed_id == u2.id)) == 2
    follow = await session.get(Follow, (u1.id, u2.id))
    assert timestamp_before - timedelta(seconds=1) <= follow.timestamp <= timestamp_after

    assert await u1.unfollow(session, u2)
    await session.commit()
    assert not await u1.unfollow(session, u2)
    assert not await u1.is_following(session, u2)
    assert await count(session, select(Follow).where(Follow.follower_id == u1.id)) == 1
    assert await count(session, select(Follow).where(Follow.followed_id == u2.id)) == 1
    assert await count(session, select(Follow)) == 2

    await u2.follow(session, u1)
    await session.commit()
    await session.delete(u2)
    await session.commit()
    # The database cascades u2's follows (both ways) away with u2.
    assert await count(session, select(Follow)) == 1


async def test_every_user_follows_themself(session):
    u = await make_user(session)
    assert await u.is_following(session, u)


async def test_load_user_comes_with_role(session, database):
    u = await make_user(session, role="Moderator")
    async with database.session() as fresh:
        loaded = await load_user(fresh, u.id)
        assert loaded.role.name == "Moderator"  # no lazy load needed
        assert await load_user(fresh, u.id + 1000) is None
