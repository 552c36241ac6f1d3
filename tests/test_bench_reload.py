"""bench.reload runs end to end with a few edits and prints its rows, so the bench cannot rot
unnoticed (its figures are not asserted: performance lives in bench/)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_reload_smoke(tmp_path: Path) -> None:
    out = tmp_path / "reload.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench.reload", "--edits", "2", "--work", str(tmp_path), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr  # 1: the target was missed, not an error here
    text = out.read_text()
    assert "| worker file (functions/live.py) |" in text
    assert "| helper module it imports (functions/_relhelper.py) |" in text
    assert "never live within 10 s: worker 0, helper 0 (of 2 each)" in text  # every edit went live
