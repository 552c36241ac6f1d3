"""The process the crash tests kill: python tests/store/child.py (run by tests/store/crash.py).

It starts as a zygote: it imports the store once, then forks one child per request it reads on
stdin (a JSON line), so a round costs a fork instead of a Python start-up. It answers
"pid <n>" for each fork and "exit <pid> <status>" when asked to reap one. A child builds its own
store on the data directory, writes "started" to its progress file, then calls one mutating
method in a tight loop, writing what returned to the progress file, until it is killed (or
`limit` seconds pass, should the test have died). A failure is written as "error ...".
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # run as a script: make `tests` and `host` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.store.helpers import FAR, make_meta, queued_status, status_entry, step_done, step_start
from tests.store.impls import backend_named

LIMIT = 20.0  # seconds a child loops if nobody kills it


class Progress:
    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def say(self, line: str) -> None:
        os.write(self._fd, (line + "\n").encode())


async def _loop(job: dict[str, Any], progress: Progress) -> None:
    store = backend_named(job["backend"]).make(Path(job["data_dir"]))
    wf, target, mode = job["workflow"], job.get("instance", ""), job["mode"]
    stop = time.monotonic() + LIMIT
    n = 0
    if mode == "hold":
        lease = store.open(wf, target)
        progress.say("started" if lease is not None else "error: the instance is locked")
        while time.monotonic() < stop:
            time.sleep(0.01)
        return
    if mode == "prepare":
        progress.say("started")
        while not os.path.exists(job["go"]):
            if time.monotonic() > stop:
                raise TimeoutError("no go file")
            time.sleep(0.0002)
        store.prepare(wf)
        progress.say("ok")
        await store.aclose()
        return
    if mode in ("delete", "sweep"):
        await _remove(store, job, progress, stop)
        return
    lease = store.open(wf, target) if mode in ("append", "write_status", "reset", "too_big") else None
    if mode in ("append", "write_status", "reset", "too_big"):
        assert lease is not None, "the target instance is locked"
    if mode == "too_big":
        _too_big(lease, job, progress)
        return
    progress.say("started")
    while time.monotonic() < stop:
        n += 1
        if mode == "create":
            instance_id = f"{job['prefix']}{n}"
            meta = make_meta(instance_id, wf)
            progress.say(f"begin {instance_id}")
            await store.create(meta, queued_status(meta))
            progress.say(f"done {instance_id}")
        elif mode == "append":
            assert lease is not None
            lease.append(step_start(n))
            lease.append(step_done(n, {"n": n}))
            await lease.flush()
            progress.say(f"flushed {n}")
        elif mode == "write_status":
            assert lease is not None
            meta = lease.meta
            lease.write_status(dict(queued_status(meta), status="running", step_count=n))
        elif mode == "put_inbox":
            if n % 2:
                name = store.put_inbox(wf, target, "event", {"type": "go", "payload": {"n": n}})
            else:
                name = store.put_inbox(wf, target, "control", {"action": "pause", "source": "test"})
            progress.say(f"done {name}")
        elif mode == "reset":
            assert lease is not None
            store.put_inbox(wf, target, "event", {"type": "go", "payload": {"n": n}})
            lease.reset()
            lease.append(status_entry("queued", instance=lease.meta))
            lease.append(step_start(n, "after-reset"))
            await lease.flush()
            progress.say(f"reset {n}")
        elif mode == "release":
            held = store.open(wf, target)
            assert held is not None, "the target instance is locked"
            await held.release(None if n % 3 == 0 else FAR + n, set())
            progress.say(f"released {n}")
        else:
            raise ValueError(f"unknown mode {mode!r}")


async def _remove(store: Any, job: dict[str, Any], progress: Progress, stop: float) -> None:
    """Remove the job's (final, expired) instances one by one (delete) or all at once (sweep),
    saying "removed <id>" as each returns and "done" after the last; then idle until killed."""
    wf = job["workflow"]
    progress.say("started")
    if job["mode"] == "delete":
        for instance_id in job["instances"]:
            store.delete(wf, instance_id)
            progress.say(f"removed {instance_id}")
    else:
        for instance_id in store.sweep(wf, job["now"]):
            progress.say(f"removed {instance_id}")
    progress.say("done")
    while time.monotonic() < stop:
        time.sleep(0.01)


def _too_big(lease: Any, job: dict[str, Any], progress: Progress) -> None:
    """Append an entry larger than the file size limit lets the journal grow: the write fails
    part-way (EFBIG), as it would on a full disk; report what append raised."""
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
    journal = Path(
        job["data_dir"], "workflows", job["workflow"], "instances", job["instance"], "journal.jsonl"
    )
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (journal.stat().st_size + 4096, hard))
    try:
        lease.append(step_done(1, "x" * 100_000))
    except Exception as exc:  # noqa: BLE001 - reported to the test
        progress.say(f"raised {type(exc).__name__}: {exc}")
    else:
        progress.say("raised nothing")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def _child(job: dict[str, Any]) -> None:
    import anyio

    progress = Progress(job["progress"])
    try:
        anyio.run(_loop, job, progress)
    except BaseException:
        progress.say("error " + traceback.format_exc().replace("\n", " | "))
        os._exit(1)
    os._exit(0)


def _zygote() -> None:
    import anyio  # noqa: F401 - loaded once, before any fork

    backend_named("file-fsync").make  # noqa: B018
    try:
        import host.store.filestore  # noqa: F401
    except ImportError:
        pass
    print("ready", flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        if request["cmd"] == "fork":
            pid = os.fork()
            if pid == 0:
                sys.stdin.close()
                _child(request["job"])
            print(f"pid {pid}", flush=True)
        elif request["cmd"] == "wait":
            pid, status = os.waitpid(request["pid"], 0)
            print(f"exit {pid} {status}", flush=True)


if __name__ == "__main__":
    _zygote()
