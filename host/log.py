"""Logging: one stream to stderr for the host, uvicorn and the per-request lines."""

from __future__ import annotations

import logging
import sys

LEVELS = ("debug", "info", "warning", "error")


def setup_logging(level: str = "info") -> None:
    """Send every log line to stderr as `time level message`; uvicorn's loggers included."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # one request line comes from waypost.request; uvicorn's access log would repeat it
    logging.getLogger("uvicorn.access").disabled = True
    # watchdog logs every inotify event at debug level
    logging.getLogger("watchdog").setLevel(max(logging.INFO, root.level))
