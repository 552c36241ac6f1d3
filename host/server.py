"""Run the application under uvicorn; SIGTERM/SIGINT drain in-flight requests and wait_until work."""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette


def split_listen(listen: str) -> tuple[str, int]:
    """'HOST:PORT' -> (host, port); IPv6 hosts may be bracketed."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


def serve(app: Starlette, listen: str, *, log_level: str = "info") -> None:
    """Serve `app` until a signal; returns after a graceful shutdown."""
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
    print(f"waypost: serving on http://{listen}", file=sys.stderr, flush=True)
    server.run()
