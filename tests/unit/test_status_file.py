"""status.json is replaced by swapping with a spare file: whole documents, no new inode each time."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from host.workflows.files import replace_keeping_spare


def test_each_replacement_is_whole_and_the_spare_ends_empty(tmp_path: Path) -> None:
    path, spare = tmp_path / "status.json", tmp_path / ".status.json.spare"
    path.write_text(json.dumps({"n": -1}))
    later: list[Callable[[], None]] = []
    inodes = set()
    for n in range(5):
        replace_keeping_spare(path, spare, json.dumps({"n": n, "pad": "x" * n}), later.append)
        assert json.loads(path.read_text()) == {"n": n, "pad": "x" * n}
        inodes.add(path.stat().st_ino)
    assert len(inodes) <= 2  # after the first time, the same two inodes take turns
    assert spare.stat().st_size > 0  # holds the previous document until the delayed emptying
    for work in later:
        work()
    assert spare.stat().st_size == 0 and spare.stat().st_blocks == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [".status.json.spare", "status.json"]


def test_a_reader_of_the_old_file_keeps_its_whole_document_until_the_spare_is_emptied(tmp_path: Path) -> None:
    path, spare = tmp_path / "status.json", tmp_path / ".status.json.spare"
    path.write_text('{"old": true}')
    later: list[Callable[[], None]] = []
    replace_keeping_spare(path, spare, '{"first": true}', later.append)
    with open(path) as reader:  # opened before the next replacement
        replace_keeping_spare(path, spare, '{"second": true}', later.append)
        assert json.loads(reader.read()) == {"first": True}
    assert json.loads(path.read_text()) == {"second": True}
    assert os.path.exists(spare)


def test_a_missing_status_json_is_written_again_from_the_spare(tmp_path: Path) -> None:
    path, spare = tmp_path / "status.json", tmp_path / ".status.json.spare"
    path.write_text('{"n": 0}')
    replace_keeping_spare(path, spare, '{"n": 1}', lambda work: work())  # makes the spare
    path.unlink()  # someone removed it
    replace_keeping_spare(path, spare, '{"n": 2}', lambda work: work())
    assert json.loads(path.read_text()) == {"n": 2}


def test_emptying_the_spare_on_another_thread_never_empties_status_json(tmp_path: Path) -> None:
    """The janitor thread empties spares while a lone instance writes status.json on the event loop."""
    import queue
    import threading

    path, spare = tmp_path / "status.json", tmp_path / ".status.json.spare"
    path.write_text("{}")
    pending: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()

    def janitor() -> None:  # runs each delayed emptying as soon as it is asked for
        while (work := pending.get()) is not None:
            work()

    thread = threading.Thread(target=janitor)
    thread.start()
    try:
        empty = 0
        for n in range(1000):
            replace_keeping_spare(path, spare, json.dumps({"n": n}), pending.put)
            empty += path.stat().st_size == 0
    finally:
        pending.put(None)
        thread.join()
    assert empty == 0
