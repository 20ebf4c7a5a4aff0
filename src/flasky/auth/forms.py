"""Account forms (SPEC §5 field names, §8 messages). Uniqueness is checked by async
validators, which quart-wtf runs concurrently: they share the request's session, which
allows one statement at a time, hence the lock in `_exists`."""

from __future__ import annotations

import asyncio
from typing import Any

from quart_wtf import QuartForm
from sqlalchemy import exists, select
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    StringField,
    SubmitField,
    ValidationError,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Regexp

from flasky import security
from flasky.db import get_session
from flasky.login import current_user
from flasky.models import User
from flasky.models.user import (
    USERNAME_MESSAGE,
    USERNAME_PATTERN,
    email_key,
    normalise_email,
    username_key,
)

# `autocomplete` tells password managers what each field is (a saved login, or a new
# password to generate and remember).
CURRENT_PASSWORD = {"autocomplete": "current-password"}
NEW_PASSWORD = {"autocomplete": "new-password"}


def email_field(label: str = "Email") -> EmailField:
    return EmailField(
        label,
        validators=[DataRequired(), Length(1, 64), Email()],
        filters=[normalise_email],
        render_kw={"autocomplete": "email"},
    )


def new_password_fields(label: str = "Password") -> tuple[PasswordField, PasswordField]:
    return (
        PasswordField(
            label,
            validators=[DataRequired(), EqualTo("password2", message="Passwords must match.")],
            render_kw=NEW_PASSWORD,
        ),
        PasswordField("Confirm password", validators=[DataRequired()], render_kw=NEW_PASSWORD),
    )


class NewPasswordForm(QuartForm):
    """A form that sets a password: the length and commonness rule of security.py, told to
    the user in a sentence. The account's own name and address count as guessable."""

    def password_user_inputs(self) -> list[str]:
        inputs = [getattr(self, name).data for name in ("username", "email") if name in self]
        user = current_user()
        if user.is_authenticated:
            inputs += [user.username, user.email]
        return [value for value in inputs if isinstance(value, str)]

    async def async_validators_password(self, field: PasswordField) -> None:
        if field.errors or not isinstance(field.data, str):
            return
        problem = await security.password_problem_async(field.data, self.password_user_inputs())
        if problem:
            raise ValidationError(problem)


class AccountForm(QuartForm):
    async def _exists(self, condition: Any) -> bool:
        lock = self.__dict__.setdefault("_query_lock", asyncio.Lock())
        async with lock:
            return bool(await get_session().scalar(select(exists().where(condition))))


class LoginForm(QuartForm):
    email = email_field()
    password = PasswordField("Password", validators=[DataRequired()], render_kw=CURRENT_PASSWORD)
    remember_me = BooleanField("Keep me logged in")
    submit = SubmitField("Log In")


class RegistrationForm(AccountForm, NewPasswordForm):
    email = email_field()
    username = StringField(
        "Username",
        validators=[DataRequired(), Length(1, 64), Regexp(USERNAME_PATTERN, 0, USERNAME_MESSAGE)],
        render_kw={"autocomplete": "username"},
    )
    password, password2 = new_password_fields()
    submit = SubmitField("Register")

    async def async_validators_email(self, field: StringField) -> None:
        if not field.errors and await self._exists(User.email_key == email_key(field.data)):
            raise ValidationError("Email already registered.")

    async def async_validators_username(self, field: StringField) -> None:
        if not field.errors and await self._exists(User.username_key == username_key(field.data)):
            raise ValidationError("Username already in use.")


class ChangePasswordForm(NewPasswordForm):
    old_password = PasswordField(
        "Old password", validators=[DataRequired()], render_kw=CURRENT_PASSWORD
    )
    password, password2 = new_password_fields("New password")
    submit = SubmitField("Update Password")


class PasswordResetRequestForm(QuartForm):
    email = email_field()
    submit = SubmitField("Reset Password")


class PasswordResetForm(NewPasswordForm):
    password, password2 = new_password_fields("New Password")
    submit = SubmitField("Reset Password")


class ChangeEmailForm(AccountForm):
    email = email_field("New Email")
    password = PasswordField("Password", validators=[DataRequired()], render_kw=CURRENT_PASSWORD)
    submit = SubmitField("Update Email Address")

    async def async_validators_email(self, field: StringField) -> None:
        if not field.errors and await self._exists(User.email_key == email_key(field.data)):
            raise ValidationError("Email already registered.")
