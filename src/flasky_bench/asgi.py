"""What `flasky bench run` serves: the production app (`create_app()` from the environment)
plus the bench-only instruments of `flasky_bench.instrument`."""

from __future__ import annotations

from quart import Response, g

from flasky import create_app
from flasky_bench.instrument import STATEMENTS_HEADER, db_latency_seconds, install_async_latency

app = create_app()
install_async_latency(db_latency_seconds())


@app.after_request
async def _count_statements(response: Response) -> Response:
    response.headers[STATEMENTS_HEADER] = str(g.get("statement_count", 0))
    return response
