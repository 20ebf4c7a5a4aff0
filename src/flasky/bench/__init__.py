"""The async-vs-threaded benchmark (issue 7): seed a data set, serve, load, report.

`flasky bench seed | run | report` (or `python -m flasky.bench ...`). Nothing here is
imported by the application itself; the served app is `flasky.bench.asgi:app`, the
production app plus a statement-count header and an optional database latency.
"""
