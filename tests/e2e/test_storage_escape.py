"""Keys that look like paths stay keys: nothing outside data/ changes, and every key round-trips."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from tests.e2e.storage_deployment import ok, refused, storage_deployment
from tests.helpers import ServerProcess

ESCAPES = [
    "..",
    ".",
    "../..",
    "../../outside.txt",
    "../../../../../../../../tmp/escaped",
    "/etc/passwd",
    "/tmp/absolute",
    "%2e%2e/%2e%2e/encoded",
    "..%2F..%2Fencoded",
    "%252e%252e%252fdouble",
    "a/../../../b",
    "\\..\\..\\windows",
    "a\x00b",
    "\x00",
    "../\x00/../x",
    "./.",
    "....//....//x",
    "~/home",
    "a" * 300,
    "x/" * 200,
    "é" * 200,
    "日本" * 80,
    "🙂" * 128,
]
R2_ONLY = ["ü" * 512, "../" * 340, "🙂" * 256]


def snapshot(root: Path, skip: Path) -> dict[str, str]:
    """Every file and folder under `root` but `skip`, with its content's hash."""
    seen: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = [d for d in dirs if here / d != skip]
        for name in dirs:
            seen[str(here / name)] = "dir"
        for name in files:
            path = here / name
            if not (here == root and name.startswith("server-")):  # the servers' own logs
                seen[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return seen


def test_path_like_keys_stay_inside_their_folder_and_round_trip(tmp_path: Path) -> None:
    root = storage_deployment(tmp_path)
    data = root / "data"
    with ServerProcess(root) as s:
        ok(s, "kv", "put", key="warm-up", value="x")  # make data/ as the host makes it
        ok(s, "r2", "put", key="warm-up", value="x")
        before = snapshot(tmp_path, data)
        for key in ESCAPES:
            ok(s, "kv", "put", key=key, value=f"kv:{key}")
        for key in ESCAPES + R2_ONLY:
            ok(s, "r2", "put", key=key, value=f"r2:{key}")
        assert snapshot(tmp_path, data) == before

        for key in ESCAPES:
            assert ok(s, "kv", "get", key=key)["value"] == f"kv:{key}", key
        for key in ESCAPES + R2_ONLY:
            assert ok(s, "r2", "get", key=key)["text"] == f"r2:{key}", key
        listed_kv = {k["name"] for k in ok(s, "kv", "list")["keys"]}
        assert listed_kv == {"warm-up", *ESCAPES}
        assert set(ok(s, "r2", "list")["keys"]) == {"warm-up", *ESCAPES, *R2_ONLY}

        # too long, or not text at all: refused, nothing written anywhere
        inside = snapshot(data, data / "none")
        assert "over the limit of 512 bytes" in refused(s, "kv", "put", key="🙂" * 129, value="v")
        assert "over the limit of 1024 bytes" in refused(s, "r2", "put", key="../" * 342, value="v")
        assert "not valid Unicode" in refused(s, "kv", "put", key="\ud800", value="v")
        assert "not valid Unicode" in refused(s, "r2", "put", key="a\udfff", value="v")
        assert snapshot(data, data / "none") == inside

        for key in ESCAPES:
            ok(s, "kv", "delete", key=key)
            ok(s, "r2", "delete", key=key)
        assert [k["name"] for k in ok(s, "kv", "list")["keys"]] == ["warm-up"]
        assert set(ok(s, "r2", "list")["keys"]) == {"warm-up", *R2_ONLY}
        assert snapshot(tmp_path, data) == before

    # what the bucket folder holds: hashed names only, none of them taken from a key
    names = {p.name for p in (data / "r2/uploads").rglob("*")}
    assert all(n == ".lock" or len(n) == 2 or n[:64].isalnum() for n in names), sorted(names)[:5]
