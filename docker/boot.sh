#!/bin/sh
# Container entrypoint: bring the database to the newest migration, then serve.
# `flasky deploy` is safe to repeat; it is retried while the database is still starting.
set -eu

attempts="${FLASKY_DEPLOY_ATTEMPTS:-10}"
n=1
until flasky deploy; do
    if [ "$n" -ge "$attempts" ]; then
        echo "boot: 'flasky deploy' failed $n times; giving up" >&2
        exit 1
    fi
    echo "boot: 'flasky deploy' failed (attempt $n of $attempts); retrying in 3 s" >&2
    n=$((n + 1))
    sleep 3
done

# hypercorn.toml holds the production settings; a container must listen on every
# interface, so the bind (and, when given, the worker count) is set here.
set -- --bind "${HYPERCORN_BIND:-0.0.0.0:8000}"
if [ -n "${HYPERCORN_WORKERS:-}" ]; then
    set -- "$@" --workers "$HYPERCORN_WORKERS"
fi
# exec: `flasky serve` replaces this shell and receives SIGTERM itself, so `docker stop`
# lets the requests in flight finish (graceful_timeout in hypercorn.toml). It checks the
# configuration and the schema first, and exits non-zero when the server cannot start.
exec flasky serve "$@"
