# Flasky, async — production image. Build: docker build -t flasky-async .
# Run with PostgreSQL: docker compose up (see compose.yaml and docs/deploy.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FLASKY_CONFIG=docker \
    FLASKY_ROOT=/app

# An unprivileged account runs the app; it owns only the data directory.
RUN groupadd --system flasky \
    && useradd --system --gid flasky --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin flasky

WORKDIR /app

# Dependencies and the package first, so editing templates does not reinstall them.
COPY pyproject.toml README.md ./
# Only the application package: the benchmark (src/flasky_bench) stays out of the image.
COPY src/flasky ./src/flasky
# The installed copy in site-packages is the one that runs; the source is not kept.
RUN pip install . && rm -rf src build

# What the installed package reads from the checkout (FLASKY_ROOT): templates, static
# files, migrations and the server settings.
COPY alembic.ini hypercorn.toml ./
COPY alembic ./alembic
COPY templates ./templates
COPY static ./static
COPY docker/boot.sh ./docker/boot.sh
RUN chmod 0755 docker/boot.sh \
    && mkdir -p /app/data \
    && chown flasky:flasky /app/data

USER flasky
EXPOSE 8000

# /healthz answers 200 only when the database answers SELECT 1 within 2 s.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

ENTRYPOINT ["/app/docker/boot.sh"]
