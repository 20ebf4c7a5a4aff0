from __future__ import annotations

from quart_wtf import QuartForm
from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from flasky.models.message import MESSAGE_MAX_LENGTH


class MessageForm(QuartForm):
    body = TextAreaField("Message", validators=[DataRequired(), Length(max=MESSAGE_MAX_LENGTH)])
    submit = SubmitField("Send")
