"""The benchmark and the soak test of Flasky, async, a package apart from the application.

Installed by the `bench` extra (`pip install -e '.[bench]'`) and left out of the runtime
image. `flasky bench seed | run | report` (or `python -m flasky_bench ...`) compares the
async app with a threaded one; `flasky soak` (or `python -m flasky_bench.soak`) runs mixed
traffic against a 2-worker server and audits the database. The served app is
`flasky_bench.asgi:app`, the production app plus a statement-count header and an optional
database latency. The application package `flasky` never imports this one.
"""
