"""What hot reload watches for a wrangler project: its file, .dev.vars, main and the modules beside it."""

from __future__ import annotations

from pathlib import Path

from host.config import watch_targets
from host.runtime.reload import ChangeFilter
from tests.unit.test_wrangler import JSONC, folder, host_folder


def test_watch_targets_name_wrangler_files_dev_vars_and_code_folders(tmp_path: Path) -> None:
    root = host_folder(
        tmp_path,
        "workers:\n  - {wrangler: a}\n  - {wrangler: b/wrangler.toml}\n"
        "  - {name: s, main: functions/solo.py}\n",
    )
    files, code = watch_targets(root / "config.yaml")
    r = root.resolve()
    assert files == {
        r / "config.yaml",
        r / "a/wrangler.jsonc",
        r / "a/.dev.vars",
        r / "a/src/entry.py",
        r / "b/wrangler.toml",
        r / "b/.dev.vars",
        r / "b/main.py",
        r / "functions/solo.py",
    }
    assert code == {r / "a/src", r / "b", r / "functions"}
    # a broken file is still watched, so that fixing it is seen
    (root / "a/wrangler.jsonc").write_text("{ broken")
    files, code = watch_targets(root / "config.yaml")
    assert r / "a/wrangler.jsonc" in files and r / "a/src" not in code
    assert watch_targets(None) == (frozenset(), frozenset())


def test_change_filter_accepts_main_its_modules_and_the_config_files(tmp_path: Path) -> None:
    root = folder(
        tmp_path,
        {
            "wrangler.jsonc": JSONC,
            "src/lib/__init__.py": "",
            "src/lib/deep/mod.py": "",
            "src/node_modules/x.py": "",
            "src/.venv/y.py": "",
        },
    ).resolve()
    accept = ChangeFilter(root / "functions", root / "wrangler.jsonc")
    for path in (
        "wrangler.jsonc",
        ".dev.vars",
        "src/entry.py",
        "src/words.py",
        "src/lib",
        "src/lib/deep/mod.py",
    ):
        assert accept(root / path), path
    for path in (
        "src/__pycache__/entry.cpython-311.pyc",
        "src/notes.txt",
        "data/x.json",
        "other.py",
        "src/.hidden.py",
    ):
        assert not accept(root / path), path
    folders = accept.folders()
    assert (root / "src", False) in folders and (root / "src/lib", True) in folders
    assert (root, False) in folders  # the wrangler file's folder (also functions/' parent)
    assert not any(f.name in ("node_modules", ".venv") for f, _ in folders)
