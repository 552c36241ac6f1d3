"""Run the application under uvicorn; SIGTERM/SIGINT drain in-flight requests and wait_until work."""

from __future__ import annotations

import logging
import sys

import uvicorn
from starlette.applications import Starlette


def split_listen(listen: str) -> tuple[str, int]:
    """'HOST:PORT' -> (host, port); IPv6 hosts may be bracketed."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


def serve(app: Starlette, listen: str, *, log_level: str = "info", json_log: bool = False) -> None:
    """Serve `app` until a signal; returns after a graceful shutdown. The banner is a plain line,
    or with `json_log` a log record (event "serving") like every other line of a JSON log."""
    host, port = split_listen(listen)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        log_config=None,  # host.log has set up logging already
        log_level=log_level,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=None,  # in-flight requests finish, however long they take
    )
    server = uvicorn.Server(config)
    if json_log:
        logging.getLogger("waypost").info("serving on http://%s", listen, extra={"event": "serving"})
    else:
        print(f"waypost: serving on http://{listen}", file=sys.stderr, flush=True)
    server.run()
