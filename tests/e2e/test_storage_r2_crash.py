"""R2 puts killed with SIGKILL part-way, then a served host's first write removes what they left
(host.storage.r2tidy): staged files of dead processes once a minute old, data files no document
names; what a live process stages, and every object that was whole, stays."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.storage_deployment import ok, storage_deployment
from tests.helpers import ServerProcess, wait_for

# a writer that replaces four 256 KiB objects over and over, until it is killed
WRITER = """
import os, sys
from pathlib import Path
import anyio
from host.storage.r2 import R2Bucket

async def main(folder: str, progress: str) -> None:
    bucket = R2Bucket(Path(folder), tidy=False)
    n = 0
    while True:
        await bucket.put(f"k{n % 4}", os.urandom(256 * 1024))
        n += 1
        if n == 4:
            Path(progress).write_text("started")

anyio.run(main, sys.argv[1], sys.argv[2])
"""
STAGED = re.compile(r"\..*\.tmp")
DATA = re.compile(r"[0-9a-f]{64}\.[0-9a-f]{32}\.bin")


def files(bucket: Path) -> set[str]:
    return {str(p.relative_to(bucket)) for p in bucket.rglob("*") if p.is_file() and p.name != ".lock"}


def staged(bucket: Path) -> set[str]:
    return {f for f in files(bucket) if STAGED.fullmatch(Path(f).name)}


def unnamed_data(bucket: Path) -> set[str]:
    named = {json.loads(p.read_text())["data"] for p in bucket.glob("??/*.json")}
    return {f for f in files(bucket) if DATA.fullmatch(Path(f).name) and Path(f).name not in named}


def kill_writers(bucket: Path, progress: Path, rounds: int) -> None:
    rng = random.Random()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    for round_ in range(rounds):
        flag = progress / f"round-{round_}"
        child = subprocess.Popen([sys.executable, "-c", WRITER, str(bucket), str(flag)], env=env)
        try:
            wait_for(flag.exists, 20.0, what="the writer to have put every key once")
            time.sleep(rng.uniform(0.0, 0.05))  # the kill's random moment (not a wait for anything)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()


def test_a_hosts_first_write_removes_what_killed_puts_left(tmp_path: Path) -> None:
    root = storage_deployment(tmp_path)
    bucket = root / "data" / "r2" / "uploads"
    progress = tmp_path / "progress"
    progress.mkdir()
    kill_writers(bucket, progress, rounds=10)
    left = staged(bucket)
    # a kill leaves one or the other in two rounds of three: none in ten is a broken writer
    assert left | unnamed_data(bucket), "no kill landed in a put in ten rounds"
    # and, made by hand so that it is there every time: a data file whose document was never renamed
    named = next(bucket.glob("??/*.json"))
    shard = named.parent
    orphan = shard / f"{named.stem}.{'ab' * 16}.bin"
    orphan.write_bytes(b"half a put")
    # a put in flight in a live process keeps its staged file, however old
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    theirs = shard / f".{'cd' * 32}.{'ef' * 16}.bin.{live.pid}.tmp"
    theirs.write_bytes(b"still being written")
    for name in left:  # written just now, however long the kill rounds took on a loaded machine
        os.utime(bucket / name)
    try:
        with ServerProcess(root) as server:
            ok(server, "r2", "put", key="first", value="fresh")  # staged under a minute ago: kept
            assert staged(bucket) >= left
            assert unnamed_data(bucket) == set() and not orphan.exists()  # no age needed: under the lock
        old = time.time() - 120
        for name in staged(bucket):
            os.utime(bucket / name, (old, old))
        with ServerProcess(root) as server:
            ok(server, "r2", "put", key="second", value="after a minute")
            assert staged(bucket) == {str(theirs.relative_to(bucket))}
            for n in range(4):  # every object that was whole before the kills still reads whole
                got = ok(server, "r2", "head", key=f"k{n}")["found"]
                assert got is not None and got["size"] == 256 * 1024
    finally:
        live.kill()
        live.wait()
    for doc in (json.loads(p.read_text()) for p in bucket.glob("??/*.json")):
        path = next(bucket.glob(f"??/{doc['data']}"))
        assert hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest() == doc["etag"]
