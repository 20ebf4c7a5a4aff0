from __future__ import annotations

from quart import render_template

from flasky.main import main


@main.route("/")
async def index() -> str:
    return await render_template("index.html")


@main.route("/user/<username>")
async def user(username: str) -> str:
    return await render_template("index.html")


@main.route("/moderate")
async def moderate() -> str:
    return await render_template("index.html")
