from __future__ import annotations

from quart_wtf import QuartForm
from wtforms import BooleanField, SubmitField


class NotificationSettingsForm(QuartForm):
    """Checked means "notify me"; the stored value is the set of kinds left unchecked."""

    follower = BooleanField("Someone follows me")
    comment = BooleanField("Someone comments on my post")
    message = BooleanField("Someone sends me a message")
    post = BooleanField("Someone I follow publishes a post")
    submit = SubmitField("Save")
