"""Quart and Flask internals the templating speed-ups read.

Touches `quart.globals._cv_request` (Quart 0.22.0) and
`flask.templating._default_template_ctx_processor` (Flask 3.1.3); see the index in
flasky/compat/__init__.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flask.templating
from quart.globals import _cv_request

# Flask's processor, which every Quart blueprint inherits (Quart's Blueprint is Flask's
# Scaffold): it reads Flask's request context, never set under Quart, and returns nothing.
# None once Flask drops it; then there is nothing to remove.
FLASK_DEFAULT_CONTEXT_PROCESSOR: Callable[[], Any] | None = getattr(
    flask.templating, "_default_template_ctx_processor", None
)


def current_url_adapter() -> Any | None:
    """The URL adapter of the request being handled, or None outside a request: the
    context variable itself, without the LocalProxy's lookups."""
    context = _cv_request.get(None)
    return None if context is None else context.url_adapter
