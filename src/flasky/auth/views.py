"""The /auth pages of SPEC §5: login, logout, registration, confirmation, password and
email changes, and the app-wide hook that keeps last_seen fresh and gates unconfirmed users.

Password hashes are checked and made in a worker thread (User.check_password /
set_password). Before each hash a view ends its read transaction, so the database
connection — SQLite's only one in this process — is not held for the ~100 ms of scrypt.
"""

from __future__ import annotations

from datetime import timedelta

from quart import current_app, flash, redirect, render_template, request, url_for
from quart.typing import ResponseReturnValue
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError

from flasky import ratelimit, security
from flasky.auth import auth
from flasky.auth.forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    LoginForm,
    PasswordResetForm,
    PasswordResetRequestForm,
    RegistrationForm,
)
from flasky.auth.mail import send_confirmation, send_email_change, send_password_reset
from flasky.db import get_session, utcnow
from flasky.live import record
from flasky.login import (
    current_user,
    is_safe_next,
    log_in,
    log_out,
    login_required,
    revoke_other_sessions,
    sign_out,
)
from flasky.models import User
from flasky.models.login_session import revoke_sessions
from flasky.models.user import create_user, email_key, load_user
from flasky.queries.users import user_by_email

# SPEC §5 asks for last_seen on each request; writing it at most once a minute per user
# shows the same "last seen" to readers and spares a write transaction on every page view.
# FLASKY_LAST_SEEN_INTERVAL = 0 writes on every request.
DEFAULT_LAST_SEEN_INTERVAL = 60


def _is_static(endpoint: str | None) -> bool:
    return endpoint is not None and (endpoint == "static" or endpoint.endswith(".static"))


async def record_visit_and_gate_unconfirmed() -> ResponseReturnValue | None:
    """For a signed-in user on any page: keep last_seen fresh, and send an unconfirmed
    account to /auth/unconfirmed (the auth pages stay open to it). Placed by flasky.pipeline."""
    # The API authenticates each request itself and answers 403 JSON for unconfirmed users.
    if request.blueprint == "api" or _is_static(request.endpoint):
        return None
    user = current_user()
    if not user.is_authenticated:
        return None
    await record_last_seen(user)
    if not user.confirmed and request.endpoint and request.blueprint != "auth":
        return redirect(url_for("auth.unconfirmed"))
    return None


async def record_last_seen(user: User) -> None:
    interval = current_app.config.get("FLASKY_LAST_SEEN_INTERVAL", DEFAULT_LAST_SEEN_INTERVAL)
    if user.last_seen is None or utcnow() - user.last_seen >= timedelta(seconds=interval):
        user.ping()
        await get_session().commit()


async def end_read_transaction() -> None:
    """Commit the (read-only) transaction so its connection returns to the pool before a
    slow step; with expire_on_commit=False the loaded objects stay readable."""
    await get_session().commit()


async def rollback_keeping_current_user() -> None:
    """Roll back a failed write, then reload the current user, whose attributes the
    rollback expired (templates read them, and an implicit reload is not allowed)."""
    user = current_user()
    # The identity map key, not user.id: reading an attribute could trigger a load.
    user_id = sa_inspect(user).identity[0] if isinstance(user, User) else None
    await get_session().rollback()
    if user_id is not None:
        await load_user(get_session(), user_id)


async def password_matches(user: User | None, password: str) -> bool:
    if user is None or not user.password_hash:
        # Do the same work for an unknown address, so timing doesn't tell who has an account.
        await security.check_password_async(await _dummy_hash(), password)
        return False
    return await user.check_password(password)


async def _dummy_hash() -> str:
    method = current_app.config.get("PASSWORD_HASH_METHOD", security.DEFAULT_HASH_METHOD)
    cache = current_app.extensions.setdefault("auth_dummy_hashes", {})
    if method not in cache:
        cache[method] = await security.hash_password_async("not a real password")
    return cache[method]


def redirect_home() -> ResponseReturnValue:
    return redirect(url_for("main.index"))


# -- login and logout ------------------------------------------------------------------


@auth.route("/login", methods=["GET", "POST"])
async def login() -> ResponseReturnValue:
    form = await LoginForm.create_form()
    if await form.validate_on_submit():
        user = await user_by_email(get_session(), form.email.data)
        await end_read_transaction()
        # Counted per account, however the address is spelled.
        account = email_key(form.email.data)
        await ratelimit.refuse_account_if_exhausted(ratelimit.LOGIN_ACCOUNT_FAILURES, account)
        if await password_matches(user, form.password.data):
            assert user is not None
            await log_in(user, remember=form.remember_me.data)
            target = request.args.get("next")
            return redirect(target if is_safe_next(target) else url_for("main.index"))
        await ratelimit.count_wrong_password(ratelimit.LOGIN_ACCOUNT_FAILURES, account)
        await flash("Invalid email or password.")
    return await render_template("auth/login.html", form=form)


@auth.route("/logout", methods=["POST"])
@login_required
async def logout() -> ResponseReturnValue:
    # The user's open event streams close; those of logins still valid reconnect.
    await record.session_ended(get_session(), current_user().id)
    await log_out()
    await flash("You have been logged out.")
    return redirect_home()


@auth.route("/logout-everywhere", methods=["POST"])
@login_required
async def logout_everywhere() -> ResponseReturnValue:
    """End every login and API token of the account, this browser's included."""
    user = current_user()
    session = get_session()
    await revoke_sessions(session, user.id)
    await record.session_ended(session, user.id)
    await session.commit()
    sign_out()
    await flash("You have been logged out of every session and API token.")
    return redirect(url_for("auth.login"))


# -- registration and confirmation -----------------------------------------------------


@auth.route("/register", methods=["GET", "POST"])
async def register() -> ResponseReturnValue:
    form = await RegistrationForm.create_form()
    if await form.validate_on_submit():
        await end_read_transaction()
        session = get_session()
        try:
            user = await create_user(
                session,
                email=form.email.data,
                username=form.username.data,
                password=form.password.data,
            )
            await session.commit()
        except IntegrityError:
            # Someone took the address or name between the check and the insert.
            await rollback_keeping_current_user()
            await form.validate()
        else:
            await send_confirmation(user)
            await flash("A confirmation email has been sent to you by email.")
            return redirect(url_for("auth.login"))
    return await render_template("auth/register.html", form=form)


@auth.route("/confirm/<token>")
@login_required
async def confirm(token: str) -> ResponseReturnValue:
    user = current_user()
    if user.confirmed:
        return redirect_home()
    if user.confirm(token):
        await get_session().commit()
        await flash("You have confirmed your account. Thanks!")
    else:
        await flash("The confirmation link is invalid or has expired.")
    return redirect_home()


@auth.route("/confirm", methods=["POST"])
@login_required
async def resend_confirmation() -> ResponseReturnValue:
    user = current_user()
    if user.confirmed:
        return redirect_home()
    await send_confirmation(user)
    await flash("A new confirmation email has been sent to you by email.")
    return redirect_home()


@auth.route("/unconfirmed")
async def unconfirmed() -> ResponseReturnValue:
    user = current_user()
    if user.is_anonymous or user.confirmed:
        return redirect_home()
    return await render_template("auth/unconfirmed.html")


# -- password --------------------------------------------------------------------------


@auth.route("/change-password", methods=["GET", "POST"])
@login_required
async def change_password() -> ResponseReturnValue:
    form = await ChangePasswordForm.create_form()
    if await form.validate_on_submit():
        user = current_user()
        await end_read_transaction()
        await ratelimit.refuse_account_if_exhausted(ratelimit.REAUTHENTICATION_FAILURES, user.id)
        if await user.check_password(form.old_password.data):
            await user.set_password(form.password.data)
            # Every other login and API token of this user ends; this browser carries on.
            await revoke_other_sessions(user)
            await record.session_ended(get_session(), user.id)
            await get_session().commit()
            await flash("Your password has been updated.")
            return redirect_home()
        await ratelimit.count_wrong_password(ratelimit.REAUTHENTICATION_FAILURES, user.id)
        await flash("Invalid password.")
    return await render_template("auth/change_password.html", form=form)


@auth.route("/reset", methods=["GET", "POST"])
async def password_reset_request() -> ResponseReturnValue:
    if not current_user().is_anonymous:
        return redirect_home()
    form = await PasswordResetRequestForm.create_form()
    if await form.validate_on_submit():
        user = await user_by_email(get_session(), form.email.data)
        await send_password_reset(user, form.email.data)
        # The same answer either way: the page must not reveal who has an account.
        await flash("An email with instructions to reset your password has been sent to you.")
        return redirect(url_for("auth.login"))
    return await render_template("auth/reset_password.html", form=form)


@auth.route("/reset/<token>", methods=["GET", "POST"])
async def password_reset(token: str) -> ResponseReturnValue:
    if not current_user().is_anonymous:
        return redirect_home()
    # The steps of User.reset_password, with the new hash made outside any transaction
    # (see the module docstring), and a dead link reported at once.
    session = get_session()
    user = await User.from_reset_token(session, token)
    if user is None:
        return await dead_reset_link()
    form = await PasswordResetForm.create_form()
    if await form.validate_on_submit():
        await end_read_transaction()
        new_hash = await security.hash_password_async(form.password.data)
        if not await user.replace_password_hash(session, new_hash):
            # The link was used by another request while this one was hashing.
            await session.rollback()
            return await dead_reset_link()
        await revoke_sessions(session, user.id)
        await record.session_ended(session, user.id)
        await session.commit()
        await flash("Your password has been updated.")
        return redirect(url_for("auth.login"))
    return await render_template("auth/reset_password.html", form=form)


async def dead_reset_link() -> ResponseReturnValue:
    await flash("The password reset link is invalid or has expired.")
    return redirect(url_for("auth.password_reset_request"))


# -- email address ---------------------------------------------------------------------


@auth.route("/change_email", methods=["GET", "POST"])
@login_required
async def change_email_request() -> ResponseReturnValue:
    form = await ChangeEmailForm.create_form()
    if await form.validate_on_submit():
        user = current_user()
        await end_read_transaction()
        await ratelimit.refuse_account_if_exhausted(ratelimit.REAUTHENTICATION_FAILURES, user.id)
        if await user.check_password(form.password.data):
            await send_email_change(user, form.email.data)
            await flash(
                "An email with instructions to confirm your new email address has been sent to you."
            )
            return redirect_home()
        await ratelimit.count_wrong_password(ratelimit.REAUTHENTICATION_FAILURES, user.id)
        await flash("Invalid email or password.")
    return await render_template("auth/change_email.html", form=form)


@auth.route("/change_email/<token>")
@login_required
async def change_email(token: str) -> ResponseReturnValue:
    session = get_session()
    user = current_user()
    if await user.change_email(session, token):
        await revoke_other_sessions(user)
        await record.session_ended(session, user.id)
        try:
            await session.commit()
        except IntegrityError:
            # The address was registered by someone else after the check.
            await rollback_keeping_current_user()
            await flash("Invalid request.")
        else:
            await flash("Your email address has been updated.")
    else:
        await flash("Invalid request.")
    return redirect_home()
