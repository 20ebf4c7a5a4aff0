"""Forms of the main pages (field names are the book's, SPEC §5)."""

from __future__ import annotations

from typing import Any, TypeVar

from quart_wtf import QuartForm
from sqlalchemy import exists, select
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from flasky.db import get_session
from flasky.models import User
from flasky.models.comment import COMMENT_MAX_LENGTH
from flasky.models.post import POST_MAX_LENGTH
from flasky.models.user import (
    USERNAME_MESSAGE,
    USERNAME_PATTERN,
    email_key,
    normalise_email,
    username_key,
)

FormT = TypeVar("FormT", bound=QuartForm)

USERNAME_RULE = Regexp(USERNAME_PATTERN, message=USERNAME_MESSAGE)


class PostForm(QuartForm):
    body = TextAreaField(
        "What's on your mind?", validators=[DataRequired(), Length(max=POST_MAX_LENGTH)]
    )
    submit = SubmitField("Submit")


class CommentForm(QuartForm):
    body = TextAreaField(
        "Enter your comment", validators=[DataRequired(), Length(max=COMMENT_MAX_LENGTH)]
    )
    submit = SubmitField("Submit")


class EditProfileForm(QuartForm):
    name = StringField("Real name", validators=[Optional(), Length(max=64)])
    location = StringField("Location", validators=[Optional(), Length(max=64)])
    about_me = TextAreaField("About me", validators=[Optional(), Length(max=5_000)])
    submit = SubmitField("Submit")


class EditProfileAdminForm(QuartForm):
    # Normalised before the validators, so that the length checked is the length stored:
    # lowercasing can lengthen an address ("İ" becomes two characters), and one of 64
    # characters became a 500 on PostgreSQL (varchar(64)) and longer than 64 on SQLite.
    email = StringField(
        "Email", validators=[DataRequired(), Length(1, 64), Email()], filters=[normalise_email]
    )
    username = StringField("Username", validators=[DataRequired(), Length(1, 64), USERNAME_RULE])
    confirmed = BooleanField("Confirmed")
    role = SelectField("Role", coerce=int)
    name = StringField("Real name", validators=[Optional(), Length(max=64)])
    location = StringField("Location", validators=[Optional(), Length(max=64)])
    about_me = TextAreaField("About me", validators=[Optional(), Length(max=5_000)])
    submit = SubmitField("Submit")

    user: User  # the user being edited, set by the view before validation

    async def validate(self, extra_validators: dict[str, Any] | None = None) -> bool:
        # The uniqueness checks run one after the other here rather than as quart-wtf's
        # async_validators_*, which it gathers concurrently: one AsyncSession must not be
        # used by two coroutines at once.
        valid = await super().validate(extra_validators)
        session = get_session()
        # Compared in normalised form, as the database's unique indexes compare them; the
        # user being edited may respell their own name or address.
        email = self.email.data or ""
        if not self.email.errors and email != self.user.email:
            taken = exists().where(User.email_key == email_key(email), User.id != self.user.id)
            if await session.scalar(select(taken)):
                self.email.errors.append("Email already registered.")
                valid = False
        username = self.username.data or ""
        if not self.username.errors and username != self.user.username:
            taken = exists().where(
                User.username_key == username_key(username), User.id != self.user.id
            )
            if await session.scalar(select(taken)):
                self.username.errors.append("Username already in use.")
                valid = False
        return valid
