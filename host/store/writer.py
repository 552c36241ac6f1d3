"""The store's writer: one thread that does, in order, the file work no step waits for.

status.json rewrites, removals of taken inbox requests, index moves and unlocks are metadata
operations (each makes or frees an inode or a directory entry); done here, in submission order,
they keep their order per instance (an instance is unlocked only after its status writes) and
the event loop only journals. Several status documents queued for one file before the thread
reaches it are written once, the newest: a state already replaced may be skipped, never
reordered. No delays: a document is written as soon as the thread gets to it. A write that
fails (a full disk) keeps its document queued, and is tried again every RETRY seconds.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any

from host.store.fsio import write_atomic
from host.workflows import jsonenc

log = logging.getLogger("waypost.workflows")
Job = Callable[[], None]
RETRY = 1.0  # seconds between tries of a status.json write that failed


class Writer:
    """`status(path, doc)` and `call(job, done)` run on the writer thread in submission order."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._jobs: deque[tuple[Job, Callable[[], None] | None, asyncio.AbstractEventLoop | None]] = deque()
        self._documents: dict[str, dict[str, Any]] = {}  # status.json path -> newest unwritten document
        self._thread: threading.Thread | None = None
        self._closed = False
        self._failed: set[str] = set()  # status.json paths whose last write failed

    def status(self, path: str, document: dict[str, Any]) -> None:
        """Queue `document` for status.json at `path`; a newer one queued before it is written wins."""
        with self._cond:
            queued = path in self._documents
            self._documents[path] = document
        if not queued:
            self.call(lambda: self._write_status(path))

    def pending(self, path: str) -> dict[str, Any] | None:
        """The document queued for `path` and not yet written (the newest state), if any."""
        with self._cond:
            document = self._documents.get(path)
        return dict(document) if document is not None else None

    def call(self, job: Job, done: Callable[[], None] | None = None) -> None:
        """Run `job` on the writer thread after everything queued before; then `done` on the event
        loop that called this (at once, on the thread, when none is running)."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        with self._cond:
            if self._closed:
                raise RuntimeError("the store's writer is closed")
            self._jobs.append((job, done, loop))
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="waypost-writer", daemon=True)
                self._thread.start()
            self._cond.notify()

    def close(self) -> None:
        """Finish every queued job, then stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _write_status(self, path: str) -> None:
        while True:  # again if a newer document came while this one was being written
            with self._cond:
                document = self._documents.get(path)
            if document is None:
                return
            try:
                write_atomic(path, jsonenc.document(document).encode())
            except FileNotFoundError:  # the instance's folder is gone: nothing to write to
                with self._cond:
                    self._documents.pop(path, None)
                    self._failed.discard(path)
                return
            except OSError as exc:
                with self._cond:
                    if path not in self._failed:
                        log.error("cannot write %s: %s (trying again every %g s)", path, exc, RETRY)
                    self._failed.add(path)
                return
            with self._cond:
                self._failed.discard(path)
                if self._documents.get(path) is document:
                    del self._documents[path]
                    return

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._jobs and not self._closed:
                    if not self._cond.wait(RETRY if self._failed else None) and self._failed:
                        for path in self._failed:  # the documents are still queued: write them again
                            self._jobs.append((partial(self._write_status, path), None, None))
                if not self._jobs:
                    return
                job, done, loop = self._jobs.popleft()
            try:
                job()
            except Exception:
                log.exception("file work of an instance failed")
            if done is None:
                continue
            if loop is None:
                done()
                continue
            try:
                loop.call_soon_threadsafe(done)
            except RuntimeError:  # the loop has closed
                pass
