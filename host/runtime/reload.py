"""Hot reload: watchdog watches functions/ and config.yaml; a burst of changes triggers one reload."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
from anyio.from_thread import BlockingPortal
from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

logger = logging.getLogger("waypost")

# Opened/closed events (inotify) are left out: importing a file would otherwise trigger a reload.
_EVENTS = (
    FileCreatedEvent,
    FileModifiedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
)


class ChangeFilter:
    """Which paths matter: .py files and folders under functions/, and the config file."""

    def __init__(self, functions_dir: Path, config_file: Path | None) -> None:
        self.functions_dir = functions_dir.resolve()
        self.config_file = config_file.resolve() if config_file else None

    def __call__(self, path: Path) -> bool:
        if self.config_file is not None and path == self.config_file:
            return True
        if path == self.functions_dir:
            return True
        if self.functions_dir not in path.parents:
            return False
        if "__pycache__" in path.parts or path.name.startswith("."):
            return False
        return path.suffix == ".py" or path.suffix == ""


class _Handler(FileSystemEventHandler):
    def __init__(self, accept: ChangeFilter, poke: Callable[[], None]) -> None:
        self.accept = accept
        self.poke = poke

    def on_any_event(self, event: FileSystemEvent) -> None:
        if not isinstance(event, _EVENTS):
            return
        paths = [event.src_path, getattr(event, "dest_path", "")]
        if any(p and self.accept(Path(str(p)).resolve()) for p in paths):
            self.poke()


class Reloader:
    """Runs `on_change` once per burst of relevant changes, `debounce` seconds after the last one."""

    def __init__(
        self,
        accept: ChangeFilter,
        on_change: Callable[[], Awaitable[None]],
        debounce: float = 0.1,
        max_delay: float = 0.4,
    ) -> None:
        self.accept = accept
        self.on_change = on_change
        self.debounce = debounce
        self.max_delay = max_delay
        self._changed = anyio.Event()

    async def run(self) -> None:
        """Watch until cancelled."""
        observer = Observer()
        watched: set[Path] = set()
        folders = [(self.accept.functions_dir.parent, False), (self.accept.functions_dir, True)]
        if self.accept.config_file is not None:
            folders.append((self.accept.config_file.parent, False))
        async with BlockingPortal() as portal:

            def poke() -> None:
                try:
                    portal.start_task_soon(self._poke)
                except RuntimeError:  # the portal closed while shutting down
                    pass

            handler = _Handler(self.accept, poke)

            def watch_new() -> None:
                for folder, recursive in folders:
                    if folder not in watched and folder.is_dir():
                        observer.schedule(handler, str(folder), recursive=recursive)
                        watched.add(folder)

            watch_new()
            observer.start()
            try:
                while True:
                    await self._changed.wait()
                    await self._settle()
                    watch_new()  # functions/ may have just been created
                    try:
                        await self.on_change()
                    except Exception:
                        logger.exception("reload failed")
            finally:
                observer.stop()
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(observer.join)

    async def _poke(self) -> None:
        self._changed.set()

    async def _settle(self) -> None:
        """Wait until no change arrived for `debounce` seconds (at most `max_delay` in all)."""
        with anyio.move_on_after(self.max_delay):
            while True:
                self._changed = anyio.Event()
                with anyio.move_on_after(self.debounce):
                    await self._changed.wait()
                if not self._changed.is_set():
                    return
        self._changed = anyio.Event()
