"""read_small and read_all return a file's whole content, whatever its size (around the first
read's size too), and read_small says when the file is missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from host.workflows.files import FIRST_READ, read_all, read_small

SIZES = [0, 1, 4095, 4096, FIRST_READ - 1, FIRST_READ, FIRST_READ + 1, 2 * FIRST_READ, 100_000, 3_000_000]


def _file(tmp_path: Path, size: int) -> tuple[Path, bytes]:
    path = tmp_path / "f"
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    path.write_bytes(data)
    return path, data


@pytest.mark.parametrize("size", SIZES)
def test_the_whole_file_comes_back(tmp_path: Path, size: int) -> None:
    path, data = _file(tmp_path, size)
    assert read_small(str(path)) == data


@pytest.mark.parametrize("size", SIZES)
def test_read_all_reads_from_the_start_whatever_the_descriptor_position(tmp_path: Path, size: int) -> None:
    path, data = _file(tmp_path, size)
    fd = os.open(path, os.O_RDWR | os.O_APPEND)  # as the journal is opened: positioned at its end
    try:
        os.lseek(fd, 0, os.SEEK_END)
        assert read_all(fd) == data
    finally:
        os.close(fd)


def test_a_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_small(str(tmp_path / "missing"))
