"""A restart from a step on files (SPEC 3.8): where the journal is cut, and the events the
dropped lines had delivered put back into inbox/ in their original order.

A put-back event keeps the 20-digit arrival time its name began with, so it sorts where it first
arrived, and says which name it was delivered under ("restored_from"): until the journal is cut,
that name is still recorded as delivered. A restart a crash cut short is carried out again at
the next open (its control line is the journal's last word): the copy of the journal and the
events already back are not made twice, so an event is never delivered twice."""

from __future__ import annotations

import errno
import json
import os
import time
from typing import Any

from host.store.fileinbox import Inbox
from host.store.fsio import fsync_path, read_file, write_new
from host.workflows.entries import first_line_of
from host.workflows.journal import parse

Cut = tuple[list[dict[str, Any]], int, list[tuple[str, dict[str, Any]]]]


def cut(data: bytes, step: tuple[str, str, int]) -> Cut | None:
    """(entries kept, byte offset of the cut, (inbox name, event) of each event delivered after
    it) for a restart from `step` (kind, name, count); None if the journal has no such step."""
    entries, _ = parse(data)
    index = first_line_of(entries, *step)
    if index is None:
        return None
    offset, seen = 0, 0
    for line in data.split(b"\n")[:-1]:
        if line.strip():
            if seen == index:
                break
            seen += 1
        offset += len(line) + 1
    events = [(str(e["inbox"]), dict(e["event"])) for e in entries[index:] if e["type"] == "event"]
    return entries[:index], offset, events


def put_back(inbox: Inbox, events: list[tuple[str, dict[str, Any]]], durable: bool) -> None:
    """Put delivered events back into `inbox`, each as a new file sorting at its first arrival."""
    if not events:
        return
    if os.path.islink(inbox.path):
        raise OSError(errno.ELOOP, "a symlink; refusing to write through it", inbox.path)
    os.makedirs(inbox.path, exist_ok=True)
    back = {item.body.get("restored_from") for item in inbox.items()}  # put back by a restart cut short
    for name, event in events:
        if name in back:
            continue
        arrived = name[:20] if name[:20].isdigit() else f"{time.time_ns():020d}"
        new = f"{arrived}-{os.urandom(4).hex()}-event.json"
        body = {"kind": "event", **event, "restored_from": name}
        tmp = f"{inbox.folder}/.{new}.tmp"
        write_new(tmp, json.dumps(body, ensure_ascii=False).encode(), sync=durable)
        os.rename(tmp, f"{inbox.path}/{new}")
    if durable:
        fsync_path(inbox.path)


def keep_and_put_back(
    folder: str, data: bytes, inbox: Inbox, events: list[tuple[str, dict[str, Any]]], durable: bool
) -> None:
    """Before the journal is cut: its bytes beside it (as a plain restart keeps them), then the
    events back into the inbox (their names say they were delivered until the cut)."""
    keep(folder, data, durable)
    put_back(inbox, events, durable)


def keep(folder: str, data: bytes, durable: bool) -> None:
    """The journal's bytes beside it, as journal.<ns>.restarted.jsonl, unless the newest copy
    holds them already (the same restart, cut short by a crash before the cut)."""
    copies = [n for n in os.listdir(folder) if n.startswith("journal.") and n.endswith(".restarted.jsonl")]
    stamps = sorted(int(n.split(".")[1]) for n in copies if n.split(".")[1].isdigit())
    if stamps:
        newest = f"{folder}/journal.{stamps[-1]}.restarted.jsonl"
        try:
            if os.stat(newest, follow_symlinks=False).st_size == len(data) and read_file(newest) == data:
                return
        except OSError:
            pass  # unreadable: a new copy is kept
    write_new(f"{folder}/journal.{time.time_ns()}.restarted.jsonl", data, sync=durable)


def named(queued: dict[str, Any], request: str | None) -> dict[str, Any]:
    """A restart's queued line, naming the inbox request it carries out (taken, never again)."""
    if request is not None:
        queued["inbox"] = request
    return queued


def queued_from(step: tuple[str, str, int]) -> dict[str, Any]:
    """The line the cut journal goes on with: queued, saying which step it restarts from."""
    kind, name, count = step
    return {
        "type": "status",
        "status": "queued",
        "t": time.time(),
        "from_step": {"kind": kind, "name": name, "count": count},
    }
