"""What `flasky bench run` serves: the production app (`create_app()` from the environment)
plus the bench-only instruments of `flasky_bench.instrument`."""

from __future__ import annotations

import os

from quart import Response, g

from flasky import create_app
from flasky_bench.instrument import (
    COMMITTED_HEADER,
    STATEMENTS_HEADER,
    WORKER_HEADER,
    committed_at,
    db_latency_seconds,
    install_async_latency,
    install_commit_clock,
)

app = create_app()
install_async_latency(db_latency_seconds())
install_commit_clock()


@app.after_request
async def _count_statements(response: Response) -> Response:
    response.headers[STATEMENTS_HEADER] = str(g.get("statement_count", 0))
    response.headers[WORKER_HEADER] = str(os.getpid())
    session = g.get("db_session")
    committed = committed_at(session.info) if session is not None else None
    if committed is not None:
        response.headers[COMMITTED_HEADER] = f"{committed:.6f}"
    return response
