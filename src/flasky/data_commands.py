"""`flasky fake` and `flasky users`: commands that write or list the database's data.

Registered on the `flasky` group in cli.py, which passes each command its AppHolder (the
app, built on first use) as the click context's object.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from flasky.cli import AppHolder

T = TypeVar("T")
# From this many rows up, `flasky fake` shows a progress bar.
PROGRESS_THRESHOLD = 100


@click.group()
def fake() -> None:
    """Fill the database with fake users, posts and comments."""


def _fake(holder: AppHolder, what: str, count: int, seed: int | None) -> None:
    from flasky.cli import run_in_app
    from flasky.db import get_database
    from flasky.fake import FakeData, NotEnoughData

    app = holder.app

    async def make(advance: Callable[[int], None]) -> int:
        database = get_database(app)
        async with database.running(), database.session() as session:
            data = FakeData(session, seed)
            if what == "users":
                return await data.users(
                    count, hash_method=app.config["PASSWORD_HASH_METHOD"], progress=advance
                )
            return await getattr(data, what)(count, progress=advance)

    try:
        if count >= PROGRESS_THRESHOLD:
            with click.progressbar(length=count, label=f"Adding {what}", show_pos=True) as bar:
                made = run_in_app(app, lambda: make(bar.update))
        else:
            made = run_in_app(app, lambda: make(lambda n: None))
    except NotEnoughData as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Added {made} fake {what}.")


def _fake_command(what: str) -> click.Command:
    @click.argument("count", type=click.IntRange(min=0), default=100)
    @click.option("--seed", type=int, help="Make the same data every time.")
    @click.pass_obj
    def command(holder: AppHolder, count: int, seed: int | None) -> None:
        _fake(holder, what, count, seed)

    command.__doc__ = f"Add COUNT fake {what} (default 100)."
    return fake.command(what)(command)


for _what in ("users", "posts", "comments"):
    _fake_command(_what)


@click.group()
def users() -> None:
    """List accounts and give them roles."""


def _in_database(holder: AppHolder, work: Callable[[Any], Awaitable[T]]) -> T:
    from flasky.cli import run_in_app
    from flasky.db import get_database

    app = holder.app

    async def run() -> T:
        database = get_database(app)
        async with database.running(), database.session() as session:
            return await work(session)

    return run_in_app(app, run)


@users.command("list")
@click.pass_obj
def list_users(holder: AppHolder) -> None:
    """Every account: id, username, email, role, confirmed."""
    from flasky.accounts import list_accounts

    accounts = _in_database(holder, list_accounts)
    if not accounts:
        click.echo("No accounts yet.")
    for account in accounts:
        confirmed = "confirmed" if account.confirmed else "unconfirmed"
        click.echo(
            f"{account.id:>5}  {account.username:<24} {account.email:<32} "
            f"{account.role:<13} {confirmed}"
        )


@users.command()
@click.argument("email")
@click.option("--role", default="Administrator", show_default=True, help="Role to give.")
@click.pass_obj
def promote(holder: AppHolder, email: str, role: str) -> None:
    """Give the account of EMAIL a role (Administrator by default)."""
    from flasky.accounts import AccountError, set_role

    try:
        username, previous = _in_database(holder, lambda session: set_role(session, email, role))
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{username} ({email}) is now {role} (was {previous}).")
