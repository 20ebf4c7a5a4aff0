"""What ships where: the application package `flasky` stands alone; the benchmark and soak test
(`flasky_bench`, the `bench` extra) plug their commands into `flasky` and stay out of the image."""

from __future__ import annotations

import ast
import importlib
import sys
import tomllib

import click
import pytest
from click.testing import CliRunner

from flasky.cli import BENCH_COMMANDS, add_installed_commands
from flasky.config import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def imported_modules(path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_application_package_imports_nothing_from_the_bench():
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name for name in imported_modules(path) if name.split(".")[0] == "flasky_bench"
        )
        for path in (ROOT / "src" / "flasky").rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_packages_config_installs_both_packages_and_the_image_only_the_application():
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    assert {"flasky", "flasky_bench"} <= set(include)
    dockerfile = (ROOT / "Dockerfile").read_text()
    copies = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("COPY src")]
    assert copies == ["src/flasky"]
    assert "src/flasky_bench" in (ROOT / ".dockerignore").read_text().splitlines()


@pytest.mark.parametrize("name", sorted(BENCH_COMMANDS))
def test_declared_bench_commands_load_as_click_commands(name):
    target = PYPROJECT["project"]["entry-points"]["flasky.commands"][name]
    module, attribute = target.split(":")
    command = getattr(importlib.import_module(module), attribute)
    assert isinstance(command, click.Command)
    assert CliRunner().invoke(command, ["--help"]).exit_code == 0


@pytest.fixture
def without_bench_package(monkeypatch):
    """As in the runtime image: `import flasky_bench` fails."""
    for module in [m for m in sys.modules if m.split(".")[0] == "flasky_bench"]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "flasky_bench", None)


@pytest.mark.parametrize("name", sorted(BENCH_COMMANDS))
def test_bench_commands_say_how_to_install_when_the_package_is_missing(without_bench_package, name):
    group = click.Group("flasky")
    add_installed_commands(group)
    result = CliRunner().invoke(group, [name, "run", "--smoke"])
    assert result.exit_code == 1
    assert "pip install -e '.[bench]'" in result.output
    assert name in group.list_commands(click.Context(group))
