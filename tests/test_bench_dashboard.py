"""bench.dashboard runs end to end at a tiny scale and prints its rows, so the bench cannot rot
unnoticed (its figures are not asserted: performance lives in bench/)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_dashboard_smoke(tmp_path: Path) -> None:
    out = tmp_path / "dashboard.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench.dashboard", "--instances", "200", "--steps", "50", "--repeat", "2"]
        + ["--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = out.read_text()
    assert "| instance list, first page" in text and "| instance page, 50 steps" in text
