"""Expired KV keys swept in the background (SPEC 2.2): every `host.sweep_interval` (as expired
instances), each namespace the served config declares loses the rows whose expiration has
passed, so an idle namespace's file does not keep them. Reads never see an expired key either
way (host.storage.kvstore); a namespace in use is also swept by its binding (host.storage.kv)."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import anyio
import anyio.to_thread

from host.storage.kvstore import KVStore

SWEEP_EVERY_S = 60.0
logger = logging.getLogger("waypost")


class KVSweeper:
    """`folders()`: the namespace folders to sweep now (the config can change between sweeps)."""

    def __init__(
        self,
        folders: Callable[[], Iterable[Path]],
        every: float = SWEEP_EVERY_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.folders, self.every, self.clock = folders, every, clock

    async def run(self) -> None:
        """Sweep every `every` seconds until cancelled (the first sweep one period after start)."""
        while True:
            await anyio.sleep(self.every)
            await anyio.to_thread.run_sync(self.sweep_once, abandon_on_cancel=True)

    def sweep_once(self) -> int:
        """One pass over the namespaces; how many expired keys went. A namespace that cannot be
        swept (its file damaged, the disk full) is logged and left for the next pass."""
        swept = 0
        for folder in dict.fromkeys(self.folders()):
            store = KVStore(folder)
            try:
                swept += store.sweep(self.clock())
            except (OSError, sqlite3.Error) as exc:
                logger.warning("KV sweep of %s failed: %s", folder, exc)
            finally:
                store.close()
        return swept
