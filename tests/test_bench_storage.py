"""bench.storage runs end to end and prints every row (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_storage_bench_runs_and_prints_its_rows(tmp_path: Path) -> None:
    out = tmp_path / "storage.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench.storage", "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    for row in ("KV put (durable)", "KV get", "D1 point query", "R2 put of 1 MiB", "R2 get of 1 MiB"):
        line = next((x for x in done.stdout.splitlines() if x.startswith(f"| {row}")), "")
        assert line.endswith(("| PASS |", "| MISS |")), (row, done.stdout)
    assert "## Results" in out.read_text()
