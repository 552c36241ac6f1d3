"""Logging: one stream to stderr for the host, uvicorn and the per-request lines, as text or JSON."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")
_REQUEST_FIELDS = ("method", "path", "worker", "status", "ms")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: {"time", "level", "logger", "event", "message", ...}. `event` is
    "request" (method, path, worker, status, ms, error_id), "instance_status" (workflow,
    instance_id, status, error), "reload", "serving" (the banner), "error" (with "exception" when
    there is one) or "log"."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": getattr(record, "event", None) or "log",
        }
        if record.name == "waypost.request" and isinstance(record.args, tuple) and len(record.args) == 6:
            line["event"] = "request"
            line.update(zip(_REQUEST_FIELDS, record.args[:5], strict=True))
            line["ms"] = round(float(line["ms"]), 2)
            suffix = str(record.args[5])
            if suffix.startswith(" error="):
                line["error_id"] = suffix.removeprefix(" error=")
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line["event"] = "instance_status" if record.name == "waypost.instance" else line["event"]
            line.update(fields)
        if line["event"] == "log" and record.levelno >= logging.ERROR:
            line["event"] = "error"
        line["message"] = record.getMessage()
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def setup_logging(level: str = "info", fmt: str = "text") -> None:
    """Send every log line to stderr: `time level message` (text) or one JSON object a line (json);
    uvicorn's loggers included. Instance status changes are logged in json only."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
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
    # a line per status change is for collectors; the text log stays as it was
    logging.getLogger("waypost.instance").setLevel(logging.NOTSET if fmt == "json" else logging.WARNING)
