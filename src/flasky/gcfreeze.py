"""gc.freeze() once the app is loaded, in the production configs (FLASKY_GC_FREEZE)."""

from __future__ import annotations

import gc
import logging

from quart import Quart, current_app

log = logging.getLogger("flasky.gcfreeze")

_frozen = False


def freeze_startup_objects(app: Quart) -> bool:
    """Move everything alive once the app is loaded out of the garbage collector's sight.

    Modules, mappers, routes and compiled statements live as long as the process, yet every
    full collection walked them all, a pause that every request in flight waits out
    (docs/benchmarks.md has the measurements). Production configs only, once per process:
    frozen objects are never freed, harmless for what lives as long as the process, not
    for the many apps a test run builds.
    """
    global _frozen
    if _frozen or not app.config["FLASKY_GC_FREEZE"]:
        return False
    gc.collect()  # what is garbage now must not be frozen with the rest
    gc.freeze()
    _frozen = True
    log.debug("Froze %d startup objects out of garbage collection", gc.get_freeze_count())
    return True


async def freeze_at_startup() -> None:
    freeze_startup_objects(current_app._get_current_object())  # type: ignore[attr-defined]
