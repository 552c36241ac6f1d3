"""An instance's inbox/: requests (events, control) as one file each, named in arrival order.

<20-digit ns>-<8 hex>-event.json or ...-control-<action>.json. A writer needs no lock: it writes a
temporary name in the instance folder and renames it in, so a reader sees a whole file or none.
The action is in the name, so "is a terminate pending?" is one directory listing.
"""

from __future__ import annotations

import errno
import json
import os
import time
from typing import Any

from host.store.fsio import fsync_path, read_file, real_dir, write_new
from host.workflows import jsonenc
from host.workflows.store import InboxItem


class Inbox:
    def __init__(self, folder: str, durable: bool) -> None:
        self.folder = folder
        self.path = f"{folder}/inbox"
        self.durable = durable

    def put(self, kind: str, body: dict[str, Any]) -> str:
        if os.path.islink(self.path):
            raise OSError(errno.ELOOP, "a symlink; refusing to write through it", self.path)
        try:
            os.mkdir(self.path)  # not makedirs: an instance removed meanwhile is not made again
        except FileExistsError:
            pass
        suffix = f"control-{body['action']}" if kind == "control" else kind
        name = f"{time.time_ns():020d}-{os.urandom(4).hex()}-{suffix}.json"
        tmp = f"{self.folder}/.{name}.tmp"
        write_new(tmp, json.dumps({"kind": kind, **body}, ensure_ascii=False).encode(), sync=self.durable)
        os.rename(tmp, f"{self.path}/{name}")
        if self.durable:
            fsync_path(self.path)
        return name

    def names(self) -> list[str]:
        if not real_dir(self.path):
            return []
        try:
            return sorted(n for n in os.listdir(self.path) if n.endswith(".json"))
        except FileNotFoundError:
            return []

    def items(self) -> list[InboxItem]:
        found = []
        for name in self.names():
            try:
                body = jsonenc.loads_object(read_file(f"{self.path}/{name}"))
            except OSError:
                continue
            if body is not None and body.get("kind") in ("event", "control"):
                found.append(InboxItem(name, str(body["kind"]), body))
        return found

    def actions(self) -> tuple[str, ...]:
        return tuple(n[:-5].split("-control-", 1)[1] for n in self.names() if "-control-" in n)

    def remove(self, name: str) -> None:
        try:
            os.unlink(f"{self.path}/{name}")
        except FileNotFoundError:
            pass

    def drop_events(self) -> list[str]:
        """Remove the events waiting here (a restart's run must not get them); their names."""
        dropped = [n for n in self.names() if n.endswith("-event.json")]
        for name in dropped:
            self.remove(name)
        return dropped
