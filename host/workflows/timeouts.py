"""A step's timeout, armed only if its callback ever waits.

Most step callbacks finish without yielding to the event loop (they compute, or await something
already done). asyncio.timeout arms a loop timer for every step all the same, which costs a tenth
of such a step; here the coroutine is started by hand and the timer is armed, for what is left of
the time, only when it first suspends. A callback that never suspends could not be interrupted
by a timeout anyway.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Coroutine, Generator
from typing import Any


async def within(coro: Coroutine[Any, Any, Any], seconds: float) -> Any:
    """`await coro` under `asyncio.timeout(seconds)` counted from now; TimeoutError if it runs out."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    try:
        first = coro.send(None)
    except StopIteration as done:
        return done.value
    async with asyncio.timeout_at(deadline):
        return await _go_on(coro, first)


@types.coroutine
def _go_on(coro: Coroutine[Any, Any, Any], yielded: Any) -> Generator[Any, Any, Any]:
    """Carry on a coroutine that has yielded `yielded` to the task, as `await` would."""
    while True:
        try:
            sent = yield yielded
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:  # the task passes in a cancellation: the coroutine gets it
            try:
                yielded = coro.throw(exc)
            except StopIteration as done:
                return done.value
        else:
            try:
                yielded = coro.send(sent)
            except StopIteration as done:
                return done.value
