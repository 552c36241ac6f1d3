"""Fault: one instance folder the host cannot read (chmod 000) while the pending index is missing.

Root ignores file permissions, so the host runs as the user nobody (setpriv), on a deployment and
data directory that user owns, outside pytest's root-only temporary folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fault_helpers import (
    Admin,
    chown_tree,
    fault_deployment,
    instance_dir,
    nobody_command,
    pending_dir,
    serve,
    sleeps,
    trigger,
)


@pytest.fixture
def nobody_tmp() -> Iterator[Path]:
    """A temporary folder the user nobody can use (pytest's tmp_path is root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="waypost-faults-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for folder, dirs, _ in os.walk(path):
            for name in dirs:
                os.chmod(os.path.join(folder, name), 0o755)
        shutil.rmtree(path, ignore_errors=True)


def test_an_unreadable_instance_folder_does_not_stop_the_host_or_the_others(nobody_tmp: Path) -> None:
    command = nobody_command()
    root, marks = fault_deployment(nobody_tmp)
    good = [f"good-{n}" for n in range(3)]
    for iid in [*good, "unreadable-7"]:
        trigger(root, marks, iid, sleeps(0.05))
    assert pending_dir(root).is_dir(), "this test deletes today's index, pending/"
    shutil.rmtree(pending_dir(root))
    chown_tree(nobody_tmp)
    bad = instance_dir(root, "unreadable-7")
    bad.chmod(0)
    server = serve(root, marks, command=command)
    try:
        server.start()  # fails the test if the host exits at start
        admin = Admin(server)
        for iid in good:
            assert admin.wait_status(iid, "complete")["output"] == ["a done", "slept nap", "b done"]
        server.wait_for_log("unreadable-7")  # the log names the folder it could not read
        assert server.running
        assert server.get("/").status_code < 500
    finally:
        bad.chmod(0o755)
        server.kill()
