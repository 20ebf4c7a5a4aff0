"""The `flasky` command. Commands are thin: the work lives in deploy, fake, shell and
profiling. The app is built on first use, from --config or FLASKY_CONFIG."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from quart import Quart

from flasky.config import ROOT, ConfigError
from flasky.data_commands import fake, users

T = TypeVar("T")
HYPERCORN_TOML = ROOT / "hypercorn.toml"


class AppHolder:
    def __init__(self, config_name: str | None) -> None:
        self.config_name = config_name
        self._app: Quart | None = None

    @property
    def app(self) -> Quart:
        if self._app is None:
            from flasky import create_app

            try:
                self._app = create_app(self.config_name)
            except ConfigError as error:
                raise click.ClickException(str(error)) from error
        return self._app


pass_app = click.make_pass_decorator(AppHolder)


def run_in_app(app: Quart, work: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        async with app.app_context():
            return await work()

    return asyncio.run(main())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_name",
    envvar="FLASKY_CONFIG",
    type=click.Choice(["development", "testing", "production", "docker", "unix"]),
    help="Configuration to run with (default: FLASKY_CONFIG, else development).",
)
@click.pass_context
def cli(ctx: click.Context, config_name: str | None) -> None:
    """Flasky, async: the social blogging app of Flask Web Development."""
    if config_name:
        # Hypercorn's worker processes build the app from the environment.
        os.environ["FLASKY_CONFIG"] = config_name
    ctx.obj = AppHolder(config_name)


# The data commands (fake, users) live in data_commands.py.
cli.add_command(fake)
cli.add_command(users)


# -- serving ----------------------------------------------------------------------------------


def _prepare_development_database(app: Quart) -> None:
    """On a fresh clone `flasky run` must just work: create/upgrade the SQLite dev database."""
    from flasky.deploy import UnversionedDatabase, deploy, sqlite_file

    url = app.config["SQLALCHEMY_DATABASE_URL"]
    path = sqlite_file(url)
    if app.config["FLASKY_CONFIG"] != "development" or path is None:
        return
    if not path.exists():
        click.echo(f"Creating the development database {path}")
    try:
        report = run_in_app(app, lambda: deploy(app))
    except UnversionedDatabase as error:
        raise click.ClickException(str(error)) from error
    if report.upgraded:
        click.echo(f"Database upgraded to revision {report.revision_after}")


def _hypercorn_config(bind: tuple[str, ...], workers: int | None, reload: bool | None) -> Any:
    from hypercorn.config import Config

    config = Config.from_toml(HYPERCORN_TOML) if HYPERCORN_TOML.exists() else Config()
    config.application_path = "flasky.asgi:app"
    if bind:
        config.bind = list(bind)
    if workers is not None:
        config.workers = workers
    if reload is not None:
        config.use_reloader = reload
    return config


@cli.command()
@click.option(
    "--bind",
    "-b",
    multiple=True,
    help="Address to serve on (default from hypercorn.toml: 127.0.0.1:5000).",
)
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(min=1),
    help="Worker processes (development: 1, else from hypercorn.toml).",
)
@click.option(
    "--reload/--no-reload",
    default=None,
    help="Restart when the code changes (on by default in development).",
)
@pass_app
def run(holder: AppHolder, bind: tuple[str, ...], workers: int | None, reload: bool | None) -> None:
    """Serve the app with Hypercorn, configured by hypercorn.toml."""
    from hypercorn.run import run as hypercorn_run

    from flasky.serving import run_workers

    app = holder.app
    _prepare_development_database(app)
    if app.config["FLASKY_CONFIG"] == "development":
        # As `flask run` does: one process that restarts when a module changes; templates
        # are re-read when they change (Jinja's auto_reload follows DEBUG).
        workers = 1 if workers is None else workers
        reload = True if reload is None else reload
    config = _hypercorn_config(bind, workers, reload)
    for address in config.bind:
        click.echo(f"Serving Flasky ({app.config['FLASKY_CONFIG']}) on http://{address}/")
    # The reloader is Hypercorn's; otherwise our master, whose exit status is meaningful.
    sys.exit(hypercorn_run(config) if config.use_reloader else run_workers(config))


@cli.command()
@click.option(
    "--bind", "-b", multiple=True, help="Address to serve on (default from hypercorn.toml)."
)
@click.option("--workers", "-w", type=click.IntRange(min=1), help="Worker processes.")
@pass_app
def serve(holder: AppHolder, bind: tuple[str, ...], workers: int | None) -> None:
    """Production: check the configuration, the database and its schema, then serve with
    Hypercorn (hypercorn.toml). Exits non-zero when the server cannot start."""
    from flasky.serving import NotReady, check_database, run_workers

    app = holder.app  # a configuration error stops here, in one line
    try:
        run_in_app(app, lambda: check_database(app))
    except NotReady as error:
        raise click.ClickException(str(error)) from error
    config = _hypercorn_config(bind, workers, reload=False)
    for address in config.bind:
        click.echo(
            f"Serving Flasky ({app.config['FLASKY_CONFIG']}) on http://{address}/ "
            f"with {config.workers} worker{'s' if config.workers != 1 else ''}"
        )
    sys.exit(run_workers(config))


@cli.command()
@click.option(
    "--length", default=25, show_default=True, help="Lines of each request's call tree shown."
)
@click.option(
    "--profile-dir",
    type=click.Path(file_okay=False),
    help="Also write an HTML report per request here (open it in a browser).",
)
@click.option("--bind", "-b", multiple=True, help="Address to serve on.")
@pass_app
def profile(holder: AppHolder, length: int, profile_dir: str | None, bind: tuple[str, ...]) -> None:
    """Serve the app in one process with a profile of each request (pyinstrument)."""
    from hypercorn.asyncio import serve

    from flasky.profiling import ProfilerMiddleware

    app = holder.app
    _prepare_development_database(app)
    config = _hypercorn_config(bind, workers=1, reload=False)
    profiled = ProfilerMiddleware(app, length=length, profile_dir=profile_dir)
    for address in config.bind:
        click.echo(f"Profiling Flasky ({app.config['FLASKY_CONFIG']}) on http://{address}/")
    asyncio.run(serve(profiled, config))


# -- database ---------------------------------------------------------------------------------


@cli.command()
@pass_app
def deploy(holder: AppHolder) -> None:
    """Upgrade the database to the newest migration, update roles, add missing self-follows."""
    from flasky.deploy import UnversionedDatabase
    from flasky.deploy import deploy as run_deploy

    app = holder.app
    try:
        report = run_in_app(app, lambda: run_deploy(app))
    except UnversionedDatabase as error:
        raise click.ClickException(str(error)) from error
    if report.upgraded:
        before = report.revision_before or "empty"
        click.echo(f"Upgraded the database: {before} -> {report.revision_after}.")
    else:
        click.echo(f"The database is at the newest revision ({report.revision_after}).")
    roles = report.roles
    if roles.created:
        click.echo(f"Created the roles {', '.join(roles.created)}.")
    if roles.updated:
        click.echo(f"Updated the permissions of the roles {', '.join(roles.updated)}.")
    if not (roles.created or roles.updated):
        click.echo("The roles are up to date.")
    if report.self_follows_added:
        click.echo(f"Added {report.self_follows_added} missing self-follows.")


@cli.command()
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Rows rendered and committed at a time.",
)
@pass_app
def rerender(holder: AppHolder, batch_size: int) -> None:
    """Render every post and comment again with the current Markdown rules.

    Each batch is committed on its own: safe to interrupt and run again."""
    from flasky.db import get_database
    from flasky.rerender import count_rows
    from flasky.rerender import rerender as rerender_rows

    app = holder.app

    async def work() -> list[str]:
        database = get_database(app)
        summary = []
        async with database.running(), database.session() as session:
            for what in ("posts", "comments"):
                total = await count_rows(session, what)
                label = f"Rendering {what}"
                with click.progressbar(length=total, label=label, show_pos=True) as bar:
                    done = await rerender_rows(session, what, batch_size, bar.update)
                summary.append(f"Rendered {done.rows} {what}: {done.changed} with new HTML.")
        return summary

    for line in run_in_app(app, work):
        click.echo(line)


# -- development ------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--plain", is_flag=True, help="Use the plain Python console even if IPython is installed."
)
@pass_app
def shell(holder: AppHolder, plain: bool) -> None:
    """An interactive shell with the app and models loaded (`await` works)."""
    from flasky.shell import start_shell

    start_shell(holder.app, plain=plain)


def _absolute_if_path(arg: str) -> str:
    # pytest runs from the repository root; paths given relative to here must still work.
    path = arg.split("::", 1)
    if not arg.startswith("-") and Path(path[0]).exists():
        path[0] = str(Path(path[0]).resolve())
        return "::".join(path)
    return arg


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option(
    "--coverage/--no-coverage",
    default=False,
    help="Branch coverage: a summary here, HTML in htmlcov/.",
)
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def test(coverage: bool, pytest_args: tuple[str, ...]) -> None:
    """Run the tests with pytest (extra arguments are passed on to pytest)."""
    command = [sys.executable, "-m", "pytest"]
    if coverage:
        command += [
            "--cov=flasky",
            "--cov-branch",
            "--cov-report=term",
            f"--cov-report=html:{ROOT / 'htmlcov'}",
        ]
    command += [_absolute_if_path(arg) for arg in pytest_args]
    code = subprocess.call(command, cwd=ROOT)
    if coverage:
        click.echo(f"HTML coverage report: {ROOT / 'htmlcov' / 'index.html'}")
    sys.exit(code)


# -- commands from other packages -------------------------------------------------------------
# The benchmark and the soak test live in the separate `flasky_bench` package (the `bench`
# extra), which the runtime image does not ship. It declares its commands as entry points
# in the "flasky.commands" group; the runtime only looks them up by that group.
COMMAND_ENTRY_POINTS = "flasky.commands"
BENCH_INSTALL_HINT = (
    "`flasky {name}` comes with the benchmark package, which is not installed here. "
    "Install it from a checkout of the repository: pip install -e '.[bench]'"
)
BENCH_COMMANDS = {
    "bench": "Benchmark the app against a threaded server (needs the bench extra).",
    "soak": "Run mixed traffic against a 2-worker server, then audit (needs the bench extra).",
}


def _not_installed(name: str, help_text: str) -> click.Command:
    @click.command(
        name,
        help=help_text,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        add_help_option=False,
    )
    def command() -> None:
        raise click.ClickException(BENCH_INSTALL_HINT.format(name=name))

    return command


def add_installed_commands(group: click.Group) -> None:
    from importlib.metadata import entry_points

    for entry_point in entry_points(group=COMMAND_ENTRY_POINTS):
        try:
            group.add_command(entry_point.load(), entry_point.name)
        except ModuleNotFoundError as error:
            # Declared by this distribution, but the package (or a library of its extra) was
            # left out, as in the runtime image. A missing product module is a real error.
            if (error.name or "").split(".")[0] == "flasky":
                raise
            continue
    for name, help_text in BENCH_COMMANDS.items():
        if name not in group.commands:
            group.add_command(_not_installed(name, help_text))


add_installed_commands(cli)


def main() -> None:
    cli(prog_name="flasky")


if __name__ == "__main__":
    main()
