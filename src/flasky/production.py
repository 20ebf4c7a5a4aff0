"""Placeholder: filled in by its issue."""

from quart import Quart


def init_app(app: Quart) -> None:
    pass
