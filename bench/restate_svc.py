"""The Restate peer's service: the workflows DBOS runs, as a Restate workflow served over ASGI.

`Steps.run(n)` takes n no-op steps, each a `ctx.run_typed` journaled action (the step's result is
recorded by restate-server before the handler goes on), then returns n. Figures 1 and 2 call it
with 20 and 500 steps, figure 3 with 1. Served by hypercorn (HTTP/2 cleartext, so restate-server
uses its bidirectional streaming protocol) from bench/restate_peer.py.
"""

from __future__ import annotations

import restate

steps = restate.Workflow("Steps")


async def noop() -> None:
    return None


@steps.main()
async def run(ctx: restate.WorkflowContext, n: int) -> int:
    for i in range(n):
        await ctx.run_typed(f"s{i}", noop)
    return n


app = restate.app([steps])


def main() -> None:
    """`python -m bench.restate_svc PORT`: serve on 127.0.0.1:PORT in this one process.

    bench/restate_peer.py ends it with SIGKILL once restate-server has stopped: it keeps no state
    (restate-server holds every journal), and the SDK's app takes SIGTERM over for a graceful
    drain that leaves the process running."""
    import asyncio
    import sys

    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"127.0.0.1:{int(sys.argv[1])}"]
    config.accesslog = None
    config.loglevel = "WARNING"
    asyncio.run(serve(app, config))


if __name__ == "__main__":
    main()
