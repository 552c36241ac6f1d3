"""read_small returns a file's whole content, whatever its size, and says when it is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from host.workflows.files import read_small


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 100_000, 3_000_000])
def test_the_whole_file_comes_back(tmp_path: Path, size: int) -> None:
    path = tmp_path / "f"
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    path.write_bytes(data)
    assert read_small(str(path)) == data


def test_a_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_small(str(tmp_path / "missing"))
