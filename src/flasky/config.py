"""Configuration read from the environment (SPEC §3), one class per config name."""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import load_dotenv

# The repository root holds templates/, static/, alembic.ini and the dev database.
# FLASKY_ROOT names it when the package is installed non-editable (`pip install .`, Docker).
ROOT = Path(os.environ.get("FLASKY_ROOT") or Path(__file__).resolve().parents[2]).resolve()
DEFAULT_SECRET_KEY = "hard to guess string"

_TRUE = {"1", "true", "yes", "on"}


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in _TRUE


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def async_database_url(url: str) -> str:
    """Map the URLs people write to the async drivers (postgresql+asyncpg, sqlite+aiosqlite)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("postgresql+psycopg2://") or url.startswith("postgresql+psycopg://"):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


def sqlite_url(filename: str) -> str:
    return f"sqlite:///{ROOT / filename}"


class ConfigError(RuntimeError):
    """The configuration cannot be used (for example a production app without SECRET_KEY)."""


class Config:
    """Settings shared by every config; read when the app is created, not at import."""

    NAME = "base"

    def __init__(self) -> None:
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or DEFAULT_SECRET_KEY
        self.MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
        self.MAIL_PORT = env_int("MAIL_PORT", 587)
        self.MAIL_USE_TLS = env_flag("MAIL_USE_TLS", True)
        self.MAIL_USE_SSL = env_flag("MAIL_USE_SSL", False)
        self.MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
        self.MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
        self.MAIL_TIMEOUT = env_float("MAIL_TIMEOUT", 10.0)
        # Seconds queued mail may still take at shutdown before it is logged instead (email.py).
        self.MAIL_SHUTDOWN_TIMEOUT = env_float("MAIL_SHUTDOWN_TIMEOUT", 10.0)
        # "smtp" when a server is configured, else "log" (dev) — testing overrides with "memory".
        self.MAIL_BACKEND = os.environ.get("MAIL_BACKEND") or ("smtp" if self.MAIL_SERVER else "log")
        self.FLASKY_MAIL_SUBJECT_PREFIX = os.environ.get("FLASKY_MAIL_SUBJECT_PREFIX", "[Flasky]")
        self.FLASKY_MAIL_SENDER = os.environ.get(
            "FLASKY_MAIL_SENDER", "Flasky Admin <flasky@example.com>"
        )
        self.FLASKY_ADMIN = os.environ.get("FLASKY_ADMIN", "")
        self.FLASKY_POSTS_PER_PAGE = env_int("FLASKY_POSTS_PER_PAGE", 20)
        self.FLASKY_FOLLOWERS_PER_PAGE = env_int("FLASKY_FOLLOWERS_PER_PAGE", 50)
        self.FLASKY_COMMENTS_PER_PAGE = env_int("FLASKY_COMMENTS_PER_PAGE", 30)
        # A search ranks and lists at most this many of the newest matching posts.
        self.FLASKY_SEARCH_MAX_RESULTS = env_int("FLASKY_SEARCH_MAX_RESULTS", 1000)
        self.FLASKY_SLOW_DB_QUERY_TIME = env_float("FLASKY_SLOW_DB_QUERY_TIME", 0.5)
        # "local": avatars drawn by this site (and uploads); "gravatar": Gravatar's, with the
        # local one as fallback in the page. Uploaded pictures go under FLASKY_UPLOAD_DIR.
        self.FLASKY_AVATARS = (os.environ.get("FLASKY_AVATARS") or "local").strip().lower()
        self.FLASKY_UPLOAD_DIR = os.environ.get("FLASKY_UPLOAD_DIR") or str(ROOT / "uploads")
        self.FLASKY_TOKEN_EXPIRATION = env_int("FLASKY_TOKEN_EXPIRATION", 3600)
        # last_seen is written at most once per this many seconds per user (0 = every request).
        self.FLASKY_LAST_SEEN_INTERVAL = env_int("FLASKY_LAST_SEEN_INTERVAL", 60)
        # The site's public address (https://blog.example.com): every absolute URL in mail,
        # in the API and in redirects is built from it (flasky/site.py).
        self.FLASKY_BASE_URL = os.environ.get("FLASKY_BASE_URL", "").strip().rstrip("/")
        # Other Host names accepted in production, comma-separated (aliases, localhost).
        self.FLASKY_ALLOWED_HOSTS = os.environ.get("FLASKY_ALLOWED_HOSTS", "")
        # Production refuses requests for hosts other than those two (400).
        self.FLASKY_HOST_CHECK = False
        self.SSL_REDIRECT = env_flag("SSL_REDIRECT", False)
        # Number of proxies in front of the app whose X-Forwarded-* headers are trusted.
        self.FLASKY_PROXY_COUNT = env_int("FLASKY_PROXY_COUNT", 0)
        self.FLASKY_RATE_LIMITS = env_flag("FLASKY_RATE_LIMITS", False)
        # Where every worker counts rate limits (redis://host:port/db); empty: each worker
        # counts alone, in memory.
        self.REDIS_URL = os.environ.get("REDIS_URL", "")
        # Seconds a Redis call may take before the limits fail open for that request.
        self.REDIS_TIMEOUT = env_float("REDIS_TIMEOUT", 0.5)
        # Prefix of this site's keys, so several sites can share one Redis database.
        self.FLASKY_REDIS_PREFIX = os.environ.get("FLASKY_REDIS_PREFIX", "flasky")
        # Per client address, "<count>/<period>" joined by ";" (flasky/ratelimit.py).
        self.RATELIMIT_LOGIN = os.environ.get("RATELIMIT_LOGIN", "10/minute;50/hour")
        # Wrong passwords per account, whatever the client address.
        self.RATELIMIT_LOGIN_ACCOUNT = os.environ.get(
            "RATELIMIT_LOGIN_ACCOUNT", "10/minute;50/hour"
        )
        self.RATELIMIT_REAUTHENTICATION = os.environ.get(
            "RATELIMIT_REAUTHENTICATION", "5/15minutes"
        )
        self.RATELIMIT_REGISTER = os.environ.get("RATELIMIT_REGISTER", "5/minute;20/hour")
        self.RATELIMIT_PASSWORD_RESET = os.environ.get("RATELIMIT_PASSWORD_RESET", "5/minute;20/hour")
        self.RATELIMIT_RESEND_CONFIRMATION = os.environ.get(
            "RATELIMIT_RESEND_CONFIRMATION", "3/minute;10/hour"
        )
        self.RATELIMIT_API_TOKEN = os.environ.get("RATELIMIT_API_TOKEN", "20/minute;200/hour")
        self.RATELIMIT_API_PASSWORD_FAILURES = os.environ.get(
            "RATELIMIT_API_PASSWORD_FAILURES", "10/minute;50/hour"
        )
        # The live preview asks after each pause in typing: generous for a person.
        self.RATELIMIT_PREVIEW = os.environ.get("RATELIMIT_PREVIEW", "120/minute;2000/hour")
        # Strict-Transport-Security max-age on HTTPS responses; 0 = no header (headers.py).
        self.FLASKY_HSTS_MAX_AGE = env_int("FLASKY_HSTS_MAX_AGE", 0)
        self.SQLALCHEMY_DATABASE_URL = async_database_url(self.database_url())
        self.SQLALCHEMY_ECHO = env_flag("SQLALCHEMY_ECHO", False)
        self.DB_POOL_SIZE = env_int("DB_POOL_SIZE", 10)
        self.DB_MAX_OVERFLOW = env_int("DB_MAX_OVERFLOW", 10)
        self.DB_POOL_TIMEOUT = env_float("DB_POOL_TIMEOUT", 10.0)
        # Seconds to wait for a new database connection before answering 503.
        self.DB_CONNECT_TIMEOUT = env_float("DB_CONNECT_TIMEOUT", 5.0)
        # Seconds a PostgreSQL statement may run (0 = no limit); a server that stops answering
        # mid-connection then gives a 503 instead of a request that hangs.
        self.DB_COMMAND_TIMEOUT = env_float("DB_COMMAND_TIMEOUT", 10.0)
        self.SQLITE_BUSY_TIMEOUT_MS = env_int("SQLITE_BUSY_TIMEOUT_MS", 15000)
        self.MAX_CONTENT_LENGTH = env_int("MAX_CONTENT_LENGTH", 1024 * 1024)
        self.WTF_CSRF_ENABLED = True
        self.WTF_CSRF_TIME_LIMIT = None
        self.QUART_AUTH_COOKIE_NAME = "flasky_auth"
        self.QUART_AUTH_COOKIE_SECURE = False
        self.QUART_AUTH_COOKIE_SAMESITE = "Lax"
        # A login without "Keep me logged in" lasts for the browser session and at most
        # FLASKY_SESSION_LIFETIME seconds; with it, FLASKY_REMEMBER_LIFETIME. The server's
        # sessions table enforces both; the cookie's Max-Age only follows the second.
        self.FLASKY_SESSION_LIFETIME = env_int("FLASKY_SESSION_LIFETIME", 43200)
        self.FLASKY_REMEMBER_LIFETIME = env_int("FLASKY_REMEMBER_LIFETIME", 30 * 24 * 3600)
        self.QUART_AUTH_DURATION = self.FLASKY_REMEMBER_LIFETIME
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = False
        self.LOG_TO = ""  # "", "stderr" or "syslog"
        self.FLASKY_LOG_LEVEL = os.environ.get("FLASKY_LOG_LEVEL", "INFO")
        # Unhandled errors mailed to FLASKY_ADMIN, the same error (type and path) at most
        # once per interval (seconds).
        self.FLASKY_ERROR_MAIL = env_flag("FLASKY_ERROR_MAIL", False)
        self.FLASKY_ERROR_MAIL_INTERVAL = env_float("FLASKY_ERROR_MAIL_INTERVAL", 60.0)
        # Seconds /healthz waits for the database's answer to SELECT 1.
        self.FLASKY_HEALTH_TIMEOUT = env_float("FLASKY_HEALTH_TIMEOUT", 2.0)
        # While the schema is behind the code, seconds between checks (flasky/schema.py).
        self.FLASKY_SCHEMA_RECHECK = env_float("FLASKY_SCHEMA_RECHECK", 5.0)
        # gc.freeze() at startup: production configs only (a test run builds many apps).
        self.FLASKY_GC_FREEZE = False
        self.PASSWORD_HASH_METHOD = os.environ.get("PASSWORD_HASH_METHOD", "scrypt")
        # Private messages, notifications and their live stream (flasky/live).
        self.FLASKY_MESSAGES_PER_PAGE = env_int("FLASKY_MESSAGES_PER_PAGE", 20)
        self.FLASKY_NOTIFICATIONS_PER_PAGE = env_int("FLASKY_NOTIFICATIONS_PER_PAGE", 20)
        self.FLASKY_MAX_STREAMS_PER_USER = env_int("FLASKY_MAX_STREAMS_PER_USER", 5)
        self.FLASKY_SSE_HEARTBEAT = env_float("FLASKY_SSE_HEARTBEAT", 15.0)
        self.FLASKY_SSE_REPLAY_LIMIT = env_int("FLASKY_SSE_REPLAY_LIMIT", 100)
        self.FLASKY_SSE_REPLAY_HOURS = env_float("FLASKY_SSE_REPLAY_HOURS", 24.0)
        self.FLASKY_EVENTS_POLL_INTERVAL = env_float("FLASKY_EVENTS_POLL_INTERVAL", 1.0)
        # NOTIFY / pub-sub channel of live events (REDIS_URL set: through Redis).
        self.FLASKY_EVENTS_CHANNEL = os.environ.get(
            "FLASKY_EVENTS_CHANNEL", f"{self.FLASKY_REDIS_PREFIX}_events"
        )

    def database_url(self) -> str:
        return os.environ.get("DATABASE_URL") or sqlite_url("data.sqlite")

    def check(self) -> None:
        """Raise ConfigError for settings this config cannot run with."""
        if self.FLASKY_BASE_URL:
            from flasky.site import parse_base_url

            parse_base_url(self.FLASKY_BASE_URL)
        if self.REDIS_URL:
            from flasky.ratelimit import storage_uri

            storage_uri(self.REDIS_URL)


class DevelopmentConfig(Config):
    NAME = "development"

    def __init__(self) -> None:
        super().__init__()
        self.DEBUG = True
        # A changed template shows on the next request, without a restart.
        self.TEMPLATES_AUTO_RELOAD = True

    def database_url(self) -> str:
        return os.environ.get("DEV_DATABASE_URL") or sqlite_url("data-dev.sqlite")


class TestingConfig(Config):
    NAME = "testing"

    def __init__(self) -> None:
        super().__init__()
        self.TESTING = True
        self.WTF_CSRF_ENABLED = False
        self.MAIL_BACKEND = os.environ.get("MAIL_BACKEND") or "memory"
        self.SERVER_NAME = None
        self.FLASKY_RATE_LIMITS = False
        # Links follow the test client's host unless a test sets a site address.
        self.FLASKY_BASE_URL = ""
        # Each test's limits start empty; tests of the shared store set their own.
        self.REDIS_URL = ""
        # Cheap hashes keep the suite fast; tests about hashing cost set scrypt themselves.
        self.PASSWORD_HASH_METHOD = os.environ.get("PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")

    def database_url(self) -> str:
        return os.environ.get("TEST_DATABASE_URL") or sqlite_url("data-test.sqlite")


class ProductionConfig(Config):
    NAME = "production"

    def __init__(self) -> None:
        super().__init__()
        self.FLASKY_RATE_LIMITS = os.environ.get("FLASKY_RATE_LIMITS", "on").lower() != "off"
        self.FLASKY_HSTS_MAX_AGE = env_int("FLASKY_HSTS_MAX_AGE", 365 * 24 * 3600)
        self.QUART_AUTH_COOKIE_SECURE = True
        self.SESSION_COOKIE_SECURE = True
        self.FLASKY_ERROR_MAIL = env_flag("FLASKY_ERROR_MAIL", True)
        self.FLASKY_GC_FREEZE = env_flag("FLASKY_GC_FREEZE", True)
        self.FLASKY_HOST_CHECK = True

    def check(self) -> None:
        key = os.environ.get("SECRET_KEY")
        if not key or key == DEFAULT_SECRET_KEY:
            raise ConfigError(
                "SECRET_KEY is missing or left at its default: set SECRET_KEY to a long random "
                "string before running the production config."
            )
        if not self.FLASKY_BASE_URL:
            raise ConfigError(
                "FLASKY_BASE_URL is missing: set it to the site's public address (e.g. "
                "https://blog.example.com) before running the production config."
            )
        super().check()


class DockerConfig(ProductionConfig):
    NAME = "docker"

    def __init__(self) -> None:
        super().__init__()
        self.LOG_TO = "stderr"


class UnixConfig(ProductionConfig):
    NAME = "unix"

    def __init__(self) -> None:
        super().__init__()
        self.LOG_TO = "syslog"


config = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
    "docker": DockerConfig,
    "unix": UnixConfig,
    "default": DevelopmentConfig,
}


def load_config(name: str | None = None) -> Config:
    """Read .env (without overriding the real environment) and build the named config."""
    load_dotenv(ROOT / ".env", override=False)
    name = name or os.environ.get("FLASKY_CONFIG") or "default"
    if name not in config:
        raise ConfigError(f"Unknown FLASKY_CONFIG {name!r}; choose one of {', '.join(config)}.")
    settings = config[name]()
    settings.check()
    return settings
