from __future__ import annotations

from quart import redirect, render_template, url_for

from flasky.auth import auth
from flasky.login import sign_out


@auth.route("/login", methods=["GET", "POST"])
async def login() -> str:
    return await render_template("index.html")


@auth.route("/logout", methods=["POST"])
async def logout():
    sign_out()
    return redirect(url_for("main.index"))


@auth.route("/register", methods=["GET", "POST"])
async def register() -> str:
    return await render_template("index.html")


@auth.route("/change-password", methods=["GET", "POST"])
async def change_password() -> str:
    return await render_template("index.html")


@auth.route("/change_email", methods=["GET", "POST"])
async def change_email_request() -> str:
    return await render_template("index.html")
