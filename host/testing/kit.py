"""The `waypost` fixture's object: makes test deployments and stops them when the test ends.

async def test_order(waypost):                      # anyio or pytest-asyncio
    dep = waypost.deployment("config.yaml")

def test_order_sync(waypost):                       # a plain test: run the async part
    dep = waypost.deployment("config.yaml")
    waypost.run(check_order, dep)
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from host.testing.deployment import Deployment

T = TypeVar("T")


class Kit:
    """What the `waypost` fixture gives a test. `new_dir()` makes an empty data directory."""

    def __init__(self, new_dir: Callable[[], Path]) -> None:
        self._new_dir = new_dir
        self.deployments: list[Deployment] = []

    def deployment(
        self, config_path: str | Path, *, data_dir: str | Path | None = None, durability: str = "relaxed"
    ) -> Deployment:
        """The deployment of `config_path` (config.yaml, a wrangler file or their folder; relative
        to the current directory) with its real functions/ and engine, on a data directory of its
        own (or `data_dir`: one kept from an earlier deployment). `durability`: "relaxed" (the
        data dir is thrown away; no fsync) or "fsync"."""
        if durability not in ("relaxed", "fsync"):
            raise ValueError(f"durability must be 'relaxed' or 'fsync', got {durability!r}")
        folder = Path(data_dir) if data_dir is not None else self._new_dir()
        folder.mkdir(parents=True, exist_ok=True)
        dep = Deployment(config_path, folder, durability)
        self.deployments.append(dep)
        return dep

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """For a plain (sync) test: run `await fn(*args)` in a new event loop, then stop the
        deployments it started. In an async test, await things directly instead."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError("waypost.run() is for plain test functions; in an async test, await directly")

        async def main() -> T:
            try:
                return await fn(*args)
            finally:
                await self.aclose()

        return asyncio.run(main())

    async def aclose(self) -> None:
        """Stop every deployment running in this event loop."""
        loop = asyncio.get_running_loop()
        for dep in self.deployments:
            if dep.running and dep._loop is loop:
                await dep.aclose()

    def close(self) -> None:
        """The fixture's teardown: stop what the test left running."""
        for dep in self.deployments:
            problem = dep.close_sync()
            if problem is not None:
                warnings.warn(
                    f"waypost: could not stop the deployment of {dep.config.file}: {problem}",
                    RuntimeWarning,
                    stacklevel=1,
                )
