"""The account mails: each carries a signed, expiring token in an absolute link."""

from __future__ import annotations

from email.message import EmailMessage

from quart import current_app

from flasky.email import render_email, send_email, send_message
from flasky.models import User


def token_lifetime() -> int:
    return int(current_app.config.get("FLASKY_TOKEN_EXPIRATION", 3600))


def describe_duration(seconds: int) -> str:
    """3600 -> "1 hour", 5400 -> "90 minutes": how long a mailed link works."""
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


async def send_confirmation(user: User) -> None:
    lifetime = token_lifetime()
    token = user.generate_confirmation_token(lifetime)
    await send_email(
        user.email,
        "Confirm Your Account",
        "confirm",
        user=user,
        token=token,
        expires_in=describe_duration(lifetime),
    )


async def password_reset_message(user: User) -> EmailMessage:
    lifetime = token_lifetime()
    token = user.generate_reset_token(lifetime)
    return await render_email(
        user.email,
        "Reset Your Password",
        "reset_password",
        user=user,
        token=token,
        expires_in=describe_duration(lifetime),
    )


async def send_password_reset(user: User | None, address: str) -> None:
    """Mail user a reset link; for an address with no account (user None), do the same
    work and send nothing, so the time taken does not tell whether the account exists."""
    if user is None:
        # A stand-in that is never stored: its mail is built like a real one, then dropped.
        user = User(id=0, username="nobody", email=address, password_hash="-")
        await password_reset_message(user)
        return
    send_message(current_app._get_current_object(), await password_reset_message(user))  # type: ignore[attr-defined]


async def send_email_change(user: User, new_email: str) -> None:
    lifetime = token_lifetime()
    token = user.generate_email_change_token(new_email, lifetime)
    await send_email(
        new_email,
        "Confirm your email address",
        "change_email",
        user=user,
        token=token,
        expires_in=describe_duration(lifetime),
    )
