"""Hot reload: watchdog watches functions/, the config file and what it names (wrangler files, .dev.vars,
every worker's main and the modules beside it); a burst of changes triggers one reload."""

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

from host.config import watch_targets

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


# folders beside a worker's main that are never its code (or too big to watch)
_NOT_CODE = frozenset({"__pycache__", "node_modules", "python_modules", "site-packages"})


class ChangeFilter:
    """Which paths matter: .py files and folders under functions/, the config file, and what the
    config names (watch_targets): wrangler files, their .dev.vars, each worker's main and its modules.

    `refresh()` re-reads the config file for what it names; the Reloader calls it before each reload.
    """

    def __init__(self, functions_dir: Path, config_file: Path | None) -> None:
        self.functions_dir = functions_dir.resolve()
        self.config_file = config_file.resolve() if config_file else None
        self.files: frozenset[Path] = frozenset()
        self.code_dirs: frozenset[Path] = frozenset()
        self.refresh()

    def refresh(self) -> None:
        files, code = watch_targets(self.config_file)
        if self.config_file is not None:
            files |= {self.config_file}
        self.files = files
        # functions/ and anything under it is watched as functions/ already
        self.code_dirs = frozenset(d for d in code if not self._in_functions(d))

    def _in_functions(self, path: Path) -> bool:
        return path == self.functions_dir or self.functions_dir in path.parents

    def __call__(self, path: Path) -> bool:
        if path in self.files:
            return True
        if path == self.functions_dir:
            return True
        if self.functions_dir in path.parents:
            return _is_code(path)
        if any(d in path.parents for d in self.code_dirs):
            return _is_code(path)
        return False

    def folders(self) -> list[tuple[Path, bool]]:
        """(folder, recursive) pairs to watch: functions/ and its parent, the folder of each watched
        file, each code folder and, recursively, its subfolders that hold Python modules."""
        found = [(self.functions_dir.parent, False), (self.functions_dir, True)]
        found += [(f.parent, False) for f in sorted(self.files)]
        for folder in sorted(self.code_dirs):
            found.append((folder, False))
            found += [
                (sub, True) for sub in _children(folder) if sub != self.functions_dir and _holds_code(sub)
            ]
        return found


def _is_code(path: Path) -> bool:
    """A .py file, or a folder (a package being created or removed), not in a cache or dot-folder."""
    if "__pycache__" in path.parts or path.name.startswith("."):
        return False
    return path.suffix == ".py" or path.suffix == ""


def _children(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir())
    except OSError:
        return []


def _holds_code(folder: Path) -> bool:
    """A subfolder worth a recursive watch: it holds .py files itself (a package, or a namespace
    package); not a dot-folder, a cache, vendored packages or a virtualenv (no .py at its top)."""
    if folder.name.startswith(".") or folder.name in _NOT_CODE:
        return False
    try:
        return any(p.suffix == ".py" for p in folder.iterdir())
    except OSError:
        return False


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
        watched: set[tuple[Path, bool]] = set()
        async with BlockingPortal() as portal:

            def poke() -> None:
                try:
                    portal.start_task_soon(self._poke)
                except RuntimeError:  # the portal closed while shutting down
                    pass

            handler = _Handler(self.accept, poke)

            def watch_new() -> None:
                for folder, recursive in self.accept.folders():
                    covered = any(rec and (top == folder or top in folder.parents) for top, rec in watched)
                    if covered or (folder, recursive) in watched or not folder.is_dir():
                        continue
                    try:
                        observer.schedule(handler, str(folder), recursive=recursive)
                    except OSError as exc:  # e.g. out of inotify watches: reload the rest
                        logger.warning("cannot watch %s for changes: %s", folder, exc)
                        continue
                    watched.add((folder, recursive))

            watch_new()
            observer.start()
            try:
                while True:
                    await self._changed.wait()
                    await self._settle()
                    try:
                        self.accept.refresh()  # the config may now name other files
                        watch_new()  # functions/ (or a new package, a new main's folder) may be new
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
