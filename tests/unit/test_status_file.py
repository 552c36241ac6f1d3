"""status.json is replaced by swapping with a spare file: whole documents, no new inode each time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from host.workflows.files import replace_keeping_spare
from tests.helpers import wait_for

REPO = Path(__file__).resolve().parents[2]


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


def test_a_spare_left_as_a_second_name_of_status_json_never_empties_it(tmp_path: Path) -> None:
    """A process killed between making the spare and replacing status.json (the first rewrite)
    could leave both names on one inode; a hard-link copy of the folder does the same. Writing
    into such a spare must not empty status.json, now or when the spare is emptied later."""
    path, spare = tmp_path / "status.json", tmp_path / ".status.json.spare"
    path.write_text('{"n": 0}')
    os.link(path, spare)  # the state left behind
    later: list[Callable[[], None]] = []
    replace_keeping_spare(path, spare, '{"n": 1}', later.append)
    for work in later:
        work()
    assert json.loads(path.read_text()) == {"n": 1}
    assert path.stat().st_ino != spare.stat().st_ino


def test_killed_during_first_rewrites_no_folder_is_left_with_one_inode_under_both_names(
    tmp_path: Path,
) -> None:
    """kill -9 a process making first rewrites in fresh folders, a few times: whatever moment the
    kill lands on, no folder may keep status.json and its spare as two names of one inode."""
    script = textwrap.dedent(
        """
        import os, sys
        from host.workflows.files import replace_keeping_spare
        root, n = sys.argv[1], 0
        while True:
            folder = f"{root}/{n}"
            os.mkdir(folder)
            with open(f"{folder}/status.json", "w") as fh:
                fh.write('{"n": 0}')
            spare = f"{folder}/.status.json.spare"
            replace_keeping_spare(f"{folder}/status.json", spare, '{"n": 1}', lambda work: None)
            n += 1
        """
    )
    for round_ in range(5):
        root = tmp_path / f"round{round_}"
        root.mkdir()
        proc = subprocess.Popen([sys.executable, "-c", script, str(root)], cwd=REPO)
        try:
            wait_for(lambda root=root: len(os.listdir(root)) >= 300, timeout=60, what="300 folders")
        finally:
            proc.kill()
            proc.wait()
        for folder in root.iterdir():
            status, spare = folder / "status.json", folder / ".status.json.spare"
            if status.exists() and spare.exists():
                assert status.stat().st_ino != spare.stat().st_ino, folder
