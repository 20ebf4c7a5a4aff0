"""Where the `flasky.*` loggers (slow queries, errors, mail) write: LOG_TO and FLASKY_LOG_LEVEL."""

from __future__ import annotations

import logging
import os
import sys
from logging.handlers import SysLogHandler

from quart import Quart

LOG_FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s"
SYSLOG_FORMAT = "flasky[%(process)d]: %(levelname)s [%(name)s] %(message)s"


def _syslog_handler() -> logging.Handler:
    """The local syslog socket when there is one, else syslog over UDP on localhost."""
    for path in ("/dev/log", "/var/run/syslog"):
        if os.path.exists(path):
            try:
                return SysLogHandler(address=path, facility=SysLogHandler.LOG_USER)
            except OSError as error:
                print(f"flasky: cannot open syslog socket {path}: {error}", file=sys.stderr)
    return SysLogHandler(address=("localhost", 514), facility=SysLogHandler.LOG_USER)


def configure_logging(app: Quart) -> None:
    """Send the `flasky.*` loggers where the config says.

    docker → stderr, unix → syslog; otherwise stderr unless logging is already set up
    elsewhere (pytest, an embedding program), in which case records just propagate.
    """
    logger = logging.getLogger("flasky")
    level_name = str(app.config["FLASKY_LOG_LEVEL"]).upper()
    logger.setLevel(getattr(logging, level_name, logging.INFO))
    # create_app may run many times in one process (tests, CLI): replace, never stack, ours.
    for handler in [h for h in logger.handlers if getattr(h, "_flasky_handler", False)]:
        logger.removeHandler(handler)
        handler.close()

    target = app.config["LOG_TO"]
    handler: logging.Handler | None = None
    if target == "stderr":
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
    elif target == "syslog":
        handler = _syslog_handler()
        handler.setFormatter(logging.Formatter(SYSLOG_FORMAT))
    elif not app.testing and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
    if handler is None:
        logger.propagate = True
        return
    handler._flasky_handler = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    # Production targets own the output; don't print records twice through the root logger.
    logger.propagate = target not in ("stderr", "syslog")
