"""The retention sweep (SPEC 3.11): removes expired instances, every `interval` seconds.

It asks the store for each workflow's instances whose retention ended (the store finds them
through its expiry index and removes each atomically); run() is the engine's loop, sweep() one
pass at a given time, for tests.
"""

from __future__ import annotations

import asyncio
import logging
import time

import anyio.to_thread

from host.workflows.store import InstanceStore

log = logging.getLogger("waypost.workflows")


class Sweeper:
    def __init__(self, store: InstanceStore, interval: float) -> None:
        self.store = store
        self.interval = interval

    def sweep(self, now: float) -> dict[str, list[str]]:
        """One pass over every workflow with stored instances (blocking); the ids removed."""
        removed: dict[str, list[str]] = {}
        try:
            workflows = self.store.workflows()
        except OSError as exc:
            log.error("cannot list the workflows to remove expired instances: %s", exc)
            return removed
        for workflow in workflows:
            try:
                gone = self.store.sweep(workflow, now)
            except OSError as exc:
                log.error("workflow %s: cannot remove its expired instances: %s", workflow, exc)
                continue
            except Exception:  # a bug must not stop the sweeps of the other workflows, or the next
                log.exception("workflow %s: the retention sweep failed", workflow)
                continue
            if gone:
                removed[workflow] = gone
                log.info("workflow %s: removed %d expired instance(s)", workflow, len(gone))
        return removed

    async def run(self) -> None:
        while True:
            await anyio.to_thread.run_sync(self.sweep, time.time())
            await asyncio.sleep(self.interval)
