"""The request pipeline is declared in one place (flasky/pipeline.py): what runs, in order."""

from __future__ import annotations

import ast

from flasky import create_app, proxies
from flasky.config import ROOT
from flasky.disconnects import FinishAfterDisconnect

SRC = ROOT / "src" / "flasky"
# Registering an app-wide hook, on the app or from a blueprint.
APP_HOOKS = {
    "before_request",
    "after_request",
    "teardown_request",
    "teardown_appcontext",
    "before_serving",
    "after_serving",
    "while_serving",
    "context_processor",
    "errorhandler",
    "register_error_handler",
}
BLUEPRINT_APP_HOOKS = {
    "before_app_request",
    "after_app_request",
    "teardown_app_request",
    "app_context_processor",
    "app_errorhandler",
}


def test_the_app_runs_exactly_the_hooks_the_pipeline_declares():
    app = create_app("testing")
    declared = app.extensions["pipeline"]

    assert app.before_serving_funcs == declared["before_serving"]
    assert app.before_request_funcs[None] == declared["before_request"]
    # Quart runs after_request hooks last-registered first.
    assert list(reversed(app.after_request_funcs[None])) == declared["after_request"]
    assert app.teardown_appcontext_funcs == declared["teardown_appcontext"]
    assert app.after_serving_funcs == declared["after_serving"]
    assert not app.teardown_request_funcs.get(None)


def test_the_pipeline_reads_as_the_life_of_a_request():
    names = [
        hook.__name__ for hook in create_app("testing").extensions["pipeline"]["before_request"]
    ]

    # The host first (production refuses strangers), then health checks (no login, no
    # redirect), then who is asking, then the gates.
    order = [
        "refuse_unknown_host",
        "answer_health_checks",
        "redirect_to_https",
        "load_user_for_request",
        "csrf_protect",
        "refuse_json_for_forms",
    ]
    assert names[0] == order[0]
    assert [names.index(name) for name in order] == sorted(names.index(name) for name in order)
    assert names[-1] == "record_visit_and_gate_unconfirmed"


def test_middleware_order_outermost_first():
    app = create_app("testing")

    assert isinstance(app.asgi_app, proxies.ForwardedHeaders)
    assert isinstance(app.asgi_app.asgi_app, FinishAfterDisconnect)


def _registrations(path) -> list[str]:
    """`<receiver>.<hook>` for each app-wide hook registered in the module at path."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.attr in BLUEPRINT_APP_HOOKS or (
                node.attr in APP_HOOKS and node.value.id == "app"
            ):
                found.append(f"{node.value.id}.{node.attr}")
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr == "asgi_app"
                    and getattr(target.value, "id", None) == "app"
                ):
                    found.append("app.asgi_app =")
    return found


def _initialisers_taken_back_by_the_pipeline() -> set[str]:
    """Modules whose init_app the pipeline runs through hooks_registered_by."""
    modules = set()
    tree = ast.parse((SRC / "pipeline.py").read_text())
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", None) == "hooks_registered_by"
            and isinstance(node.args[1], ast.Attribute)
            and isinstance(node.args[1].value, ast.Name)
        ):
            modules.add(f"{node.args[1].value.id}.py")
    return modules


def test_no_module_but_the_pipeline_registers_an_app_wide_hook():
    allowed = {"pipeline.py", *_initialisers_taken_back_by_the_pipeline()}
    offenders = {
        str(path.relative_to(SRC)): _registrations(path)
        for path in SRC.rglob("*.py")
        if path.name not in allowed or path.parent != SRC
    }
    assert {path: found for path, found in offenders.items() if found} == {}
