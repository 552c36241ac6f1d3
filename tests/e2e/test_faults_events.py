"""Fault: events that never arrive. Every event sent to a waiting instance must reach its wait,
whether the instance is hibernated or in memory, and whether the event comes over the REST API
or from another process (the CLI writes inbox/ itself), at any moment around the hibernation."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.fault_helpers import (
    WORKFLOW,
    Admin,
    WarmCli,
    fault_deployment,
    instance_dir,
    journal_entries,
    serve,
)
from tests.helpers import wait_for

WAIT = [["wait", "w", "go", "1 hour"]]


def _unfinished(admin: Admin, ids: list[str], done: set[str]) -> list[str]:
    for iid in ids:
        if iid not in done and admin.status(iid)["status"] == "complete":
            done.add(iid)
    return [iid for iid in ids if iid not in done]


def test_events_over_the_api_reach_100_hibernated_waits(tmp_path: Path) -> None:
    root, marks = fault_deployment(tmp_path, hibernate_after="0")
    ids = [f"ev-{n:03d}" for n in range(100)]
    with serve(root, marks) as server:
        admin = Admin(server)
        made = admin.batch([(iid, WAIT) for iid in ids])
        assert made.status_code == 201, made.text
        for n, iid in enumerate(ids):  # the first ones arrive while the batch is still starting
            sent = admin.event(iid, "go", {"n": n})
            assert sent.status_code == 200, (iid, sent.text)
        done: set[str] = set()
        try:
            wait_for(
                lambda: not _unfinished(admin, ids, done),
                30,
                interval=0.2,
                what="every wait to get its event",
            )
        except AssertionError:
            left = _unfinished(admin, ids, done)
            raise AssertionError(
                f"{len(left)} of 100 never got their event, e.g. {left[:5]}: "
                f"{[admin.status(i)['status'] for i in left[:5]]}"
            ) from None
        assert [admin.status(iid)["output"] for iid in ids] == [[{"n": n}] for n in range(100)]


def test_events_from_the_cli_reach_waits_in_memory_around_their_hibernation(tmp_path: Path) -> None:
    # hibernate_after 2 s: each instance waits in memory for 2 s, then leaves memory. One CLI
    # process per instance (started ahead, so that it writes at the chosen moment) sends its
    # event from 0.5 s to 3 s after the wait began: before, at and after the unload.
    root, marks = fault_deployment(tmp_path, hibernate_after="2 seconds")
    offsets = [0.5, 1.0, 1.25, 1.5, 1.6, 1.7, 1.8, 1.85, 1.9, 1.95, 2.0, 2.05, 2.1, 2.25, 2.5, 3.0]
    ids = [f"cli-{n:02d}" for n in range(len(offsets))]
    with serve(root, marks) as server:
        admin = Admin(server)
        senders: list[WarmCli] = []
        try:
            for iid, offset in zip(ids, offsets, strict=True):
                senders.append(
                    WarmCli(root, marks, "workflows", "instances", "send-event", WORKFLOW, iid,
                            "--type", "go", "--payload", json.dumps({"sent_at": offset}))
                )  # fmt: skip
            made = admin.batch([(iid, WAIT) for iid in ids])
            assert made.status_code == 201, made.text
            for iid in ids:
                admin.wait_status(iid, "waiting")
            began = min(  # when the first wait began (journal lines carry their time "t")
                entry["t"]
                for iid in ids
                for entry in journal_entries(instance_dir(root, iid) / "journal.jsonl")
                if entry["type"] == "wait"
            )
            sent_at = []
            for sender, offset in zip(senders, offsets, strict=True):
                time.sleep(max(0.0, began + offset - time.time()))  # the moment this event is sent
                sender.fire()
                sent_at.append(time.monotonic())
            for iid, sender in zip(ids, senders, strict=True):
                code, out = sender.finish()
                assert code == 0, (iid, out)
        finally:
            for sender in senders:
                sender.kill()
        late = []
        for iid, offset, fired in zip(ids, offsets, sent_at, strict=True):
            try:
                admin.wait_status(iid, "complete", timeout=max(0.2, fired + 10 - time.monotonic()))
            except AssertionError:
                late.append((offset, admin.status(iid)["status"]))
        assert not late, f"events sent (s after the wait began) not delivered within 10 s: {late}"
        for iid, offset in zip(ids, offsets, strict=True):
            assert admin.status(iid)["output"] == [{"sent_at": offset}], iid
