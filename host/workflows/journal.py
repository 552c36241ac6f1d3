"""The journal's line format: one JSON object per line, each ending in a checksum of itself.

A line is the entry as compact JSON with one more field at its end, `"crc"`, the CRC-32 (8 hex
digits) of the line's text without that field: `{"type":"step_done",...,"crc":"1a2b3c4d"}`.
`cat` and `jq` read it as they read any JSON; replay verifies it, so damage that is still valid
JSON (one changed digit) is found instead of used. Lines written before checksums existed have
no "crc" and load as they are.

What each entry kind means, and how replay folds it, is in host.workflows.entries.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

from host.workflows.entries import check_entry
from host.workflows.jsonenc import compact

_CRC_TAIL = len(',"crc":"00000000"}')


class JournalDamaged(Exception):
    """A journal line other than a torn last one cannot be used; the message names file and line."""


def encode(entry: dict[str, Any], raw: dict[str, str] | None = None) -> bytes:
    """One journal line with its checksum; fields in `raw` are spliced in as already-encoded JSON
    (a step's result is encoded once, to check its size, and that text is what the journal keeps)."""
    plain = {key: value for key, value in entry.items() if not raw or key not in raw}
    text = compact(plain)[:-1]
    if raw:
        text += "".join(f",{compact(key)}:{value}" for key, value in raw.items())
    body = text.encode()
    crc = zlib.crc32(body + b"}")
    return body + b',"crc":"%08x"}\n' % crc


def _verify(line: bytes) -> bool:
    """True unless the line has a checksum that does not match it."""
    if len(line) < _CRC_TAIL or not line.endswith(b'"}') or line[-_CRC_TAIL:][:8] != b',"crc":"':
        return True  # written before checksums (the parsed entry is checked like any other)
    body = line[:-_CRC_TAIL] + b"}"
    try:
        expected = int(line[-10:-2], 16)
    except ValueError:
        return False
    return zlib.crc32(body) == expected


def _entry(line: bytes) -> dict[str, Any]:
    """The entry one line holds, its checksum verified and left out; ValueError says what is wrong."""
    if not _verify(line):
        raise ValueError("checksum does not match the line (the line was changed)")
    try:
        entry = json.loads(line)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    check_entry(entry)
    entry.pop("crc", None)
    return entry  # type: ignore[no-any-return]


def parse(data: bytes, path: Path | str = "journal.jsonl") -> tuple[list[dict[str, Any]], int]:
    """Entries of journal bytes and the length of the good prefix (the caller cuts the file there).

    A torn last line (no newline, or bad at the very end) is dropped. Any other bad line (not
    JSON, not an entry, or a checksum that does not match) raises JournalDamaged naming it.
    """
    if not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1
        whole, _ = parse(data[:cut], path) if cut else ([], 0)
        return whole, cut
    lines = data[:-1].split(b"\n")
    entries: list[dict[str, Any]] = []
    good = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            good += len(line) + 1
            continue
        try:
            entries.append(_entry(line))
        except ValueError as exc:
            if number == len(lines):
                break  # the last complete line is garbage: a torn write of the final entry
            raise JournalDamaged(f"{path} line {number}: {exc}") from None
        good += len(line) + 1
    return entries, good


def read_lenient(data: bytes, name: str = "journal.jsonl") -> tuple[list[dict[str, Any]], list[str]]:
    """Every usable entry and one message per bad line, for readers (admin API, CLI) that never
    write: text after the last newline is being written and is left out without a message."""
    entries: list[dict[str, Any]] = []
    problems: list[str] = []
    lines = data.split(b"\n")
    for number, line in enumerate(lines[:-1], start=1):
        if not line.strip():
            continue
        try:
            entries.append(_entry(line))
        except ValueError as exc:
            problems.append(f"{name} line {number}: {exc}")
    return entries, problems


def queued_entry(meta: dict[str, Any], t: float) -> dict[str, Any]:
    """A journal's first entry (at create and at each restart): the queued status, holding the
    instance document (instance.json's content), so that loading an instance reads one file and
    instance.json can be rebuilt from it."""
    return {"type": "status", "status": "queued", "t": t, "instance": meta}


def created_line(meta: dict[str, Any]) -> bytes:
    return encode(queued_entry(meta, meta["created_on_epoch"]))


def instance_of(entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The instance document the journal's first line holds (None for journals from before it did)."""
    if entries:
        first = entries[0].get("instance")
        if isinstance(first, dict):
            return first
    return None
