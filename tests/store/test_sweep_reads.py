"""A retention sweep reads through the expiry index, never every instance (SPEC 3.11): what it
lists and opens, counted by bench/retention.py's audit hook in a child process, is the same with
20 and with 200 instances of each kind, and it touches no folder but the expired one's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _reads(n: int) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.retention", "--reads", str(n)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_a_sweep_reads_the_same_with_ten_times_the_instances() -> None:
    small, large = _reads(20), _reads(200)
    for counts in (small, large):
        assert counts["removed"] == ["expired"]
        assert counts["touched"] == [".deleting.<id>.*", "expired"]
    assert (large["listings"], large["opens"]) == (small["listings"], small["opens"]), (small, large)
