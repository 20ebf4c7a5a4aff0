"""`/healthz` for load balancers and container health checks: is the database answering?"""

from __future__ import annotations

import asyncio
import logging
import time

from quart import Response, current_app, jsonify, request
from sqlalchemy import text

log = logging.getLogger("flasky.health")


async def healthz() -> tuple[Response, int]:
    """200 {"status": "ok"} when the database answers SELECT 1 within FLASKY_HEALTH_TIMEOUT
    and its schema is not behind the code, else 503 with the reason."""
    from flasky.db import get_database
    from flasky.schema import read_schema

    started = time.perf_counter()
    try:
        async with asyncio.timeout(current_app.config["FLASKY_HEALTH_TIMEOUT"]):
            async with get_database().start().connect() as connection:
                await connection.execute(text("SELECT 1"))
                schema = await read_schema(current_app._get_current_object(), connection)
    except Exception as error:  # any failure to answer means "not healthy"; say which
        reason = "timeout" if isinstance(error, TimeoutError) else type(error).__name__
        log.warning(
            "Health check failed after %.2fs: %s %s", time.perf_counter() - started, reason, error
        )
        response = jsonify({"status": "unavailable", "database": reason})
        response.headers["Cache-Control"] = "no-store"
        response.headers["Retry-After"] = "5"
        return response, 503
    if schema.behind:
        response = jsonify(
            {"status": "schema behind", "revision": schema.revision, "head": schema.head}
        )
        response.headers["Cache-Control"] = "no-store"
        response.headers["Retry-After"] = "30"
        return response, 503
    response = jsonify({"status": "ok"})
    response.headers["Cache-Control"] = "no-store"
    return response, 200


async def answer_health_checks() -> tuple[Response, int] | None:
    """Answer /healthz before any other hook: a health check needs no login, is never sent
    to HTTPS or rate limited, and opens no session of its own."""
    if request.endpoint == "healthz":
        return await healthz()
    return None
