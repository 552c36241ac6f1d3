"""What R2 puts cut short by a crash leave in a bucket folder, removed (host.storage.r2store says
how a put stages and commits its two files).

- A staged file (`.<hash>.<version>.bin.<pid>.tmp` in a shard, `.<hash>.json.<pid>.<rand>.tmp` in
  the bucket folder) whose process is gone and which was last written over STALE_AFTER ago. The
  age matters where hosts in other pid namespaces (containers) share the folder: their pids mean
  nothing here, and a put of theirs in flight is never that old.
- A data file that no metadata document names: its put was killed between the two renames, or
  before it removed the version it replaced. Looked for holding the bucket's lock (one shard at a
  time), when no commit is half done.

Everything here is best effort: a file that went meanwhile, or a document that does not parse, is
left for the reader it belongs to.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time

from host.storage.r2store import R2Store, read_whole

STALE_AFTER = 60.0  # seconds since a staged file was last written
_STAGED = re.compile(r"\.[0-9a-f]{64}\.(?:[0-9a-f]{32}\.bin\.(\d+)|json\.(\d+)\.[0-9a-f]{8})\.tmp")
_DATA = re.compile(r"([0-9a-f]{64})\.[0-9a-f]{32}\.bin")


def tidy(store: R2Store, now: float | None = None) -> list[str]:
    """Remove the bucket's leftovers; their paths relative to the bucket folder."""
    now = time.time() if now is None else now
    if os.path.islink(store.root):  # never followed out of data/ (the write after it refuses it too)
        return []
    try:
        entries = list(os.scandir(store.root))
    except FileNotFoundError:
        return []
    removed = [e.name for e in entries if _stale_path(e.path, e.name, now) and _unlink(e.path)]
    shards = sorted(
        (e for e in entries if len(e.name) == 2 and e.is_dir(follow_symlinks=False)), key=lambda e: e.name
    )
    for shard in shards:
        try:
            removed += [f"{shard.name}/{name}" for name in _tidy_shard(store, shard.path, now)]
        except OSError:  # removed meanwhile (a delete's empty shard), or unreadable: not this put's
            continue
    return removed


def _tidy_shard(store: R2Store, shard: str, now: float) -> list[str]:
    names = os.listdir(shard)
    removed = [n for n in names if _stale_path(f"{shard}/{n}", n, now) and _unlink(f"{shard}/{n}")]
    if not any(_DATA.fullmatch(n) for n in names):
        return removed
    with store.locked():  # no commit between its two renames while this shard is looked at
        names = os.listdir(shard)
        named = set()
        for name in names:
            if name.endswith(".json") and not name.startswith("."):
                try:
                    named.add(json.loads(read_whole(f"{shard}/{name}"))["data"])
                except (OSError, ValueError, KeyError, TypeError):
                    named.update(n for n in names if n.startswith(name[: -len(".json")]))  # keep its data
        for name in names:
            if _DATA.fullmatch(name) and name not in named and _unlink(f"{shard}/{name}"):
                removed.append(name)
    return removed


def _stale_path(path: str, name: str, now: float) -> bool:
    match = _STAGED.fullmatch(name)
    if match is None:
        return False
    pid = int(match.group(1) or match.group(2))
    try:
        written = os.stat(path, follow_symlinks=False).st_mtime
    except OSError:
        return False
    return now - written > STALE_AFTER and not _running(pid)


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _unlink(path: str) -> bool:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
        return True
    return False
