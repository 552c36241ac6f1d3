"""Fault: two hosts start at the same moment on a data directory whose pending index is missing.

Both rebuild the index from the instance folders at once. Several rounds: each round deletes
pending/, starts two hosts together, checks that both serve, and finishes a share of the instances.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.fault_helpers import (
    Admin,
    fault_deployment,
    pending_dir,
    runs,
    serve,
    start_together,
    waits_for,
)
from tests.helpers import wait_for

INSTANCES = 300
ROUNDS = 3


def test_two_hosts_starting_together_without_an_index_both_serve_and_finish_everything(
    tmp_path: Path,
) -> None:
    root, marks = fault_deployment(tmp_path)
    ids = [f"pair-{n:03d}" for n in range(INSTANCES)]
    with serve(root, marks) as server:  # every instance did step "a" and waits for its event
        admin = Admin(server)
        for start in range(0, INSTANCES, 100):
            made = admin.batch([(iid, waits_for()) for iid in ids[start : start + 100]])
            assert made.status_code == 201, made.text
        wait_for(
            lambda: (
                len(admin.listed()) == INSTANCES
                and all(runs(marks, iid, "a") == 1 for iid in ids)
                and {admin.status(iid)["status"] for iid in (ids[0], ids[-1])} == {"waiting"}
            ),
            20,
            what="every instance to wait for its event",
        )
    share = INSTANCES // ROUNDS
    for round_ in range(ROUNDS):
        assert pending_dir(root).is_dir(), "this test deletes today's index, pending/"
        shutil.rmtree(pending_dir(root))
        hosts = [serve(root, marks), serve(root, marks)]
        try:
            errors = start_together(hosts)
            died = [f"host {n}: {str(e)[-1500:]}" for n, e in enumerate(errors) if e is not None]
            assert not died, f"round {round_}: " + "\n".join(died)
            for host in hosts:
                answer = host.get("/")
                assert answer.status_code < 500 and host.running, (round_, answer.status_code)
            chosen = (
                ids[round_ * share : (round_ + 1) * share] if round_ < ROUNDS - 1 else ids[round_ * share :]
            )
            admins = [Admin(host) for host in hosts]
            for n, iid in enumerate(chosen):
                sent = admins[n % 2].event(iid, "go", {"round": round_})
                assert sent.status_code == 200, (round_, iid, sent.text)
            for iid in chosen:
                admins[0].wait_status(iid, "complete", timeout=15)
            assert all(host.running for host in hosts), f"round {round_}: a host died"
        finally:
            for host in hosts:
                host.stop()
    for iid in ids:
        assert runs(marks, iid, "a") == 1 and runs(marks, iid, "b") == 1, iid
