"""A lineage copy holds the source's bytes, whichever way it was made, and stays as it was when the source changes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from heddle_engine.lineage import file_copy
from heddle_engine.lineage.file_copy import BLOCK, copy_bytes

SIZES = [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK, 5 * BLOCK + 17]


@pytest.mark.parametrize("size", SIZES)
def test_a_copy_holds_the_source_bytes_whatever_its_size(tmp_path: Path, size: int) -> None:
    source, target = tmp_path / "in.parquet", tmp_path / "copy.parquet"
    data = os.urandom(size)
    source.write_bytes(data)
    target.write_bytes(b"old bytes, longer than some sources" * 300)
    copy_bytes(source, target, window=2 * BLOCK)  # several windows for the larger sizes
    assert target.read_bytes() == data


def test_direct_writes_copy_through_several_windows_and_a_tail(tmp_path: Path) -> None:
    source, target = tmp_path / "in.parquet", tmp_path / "copy.parquet"
    data = os.urandom(7 * BLOCK + 100)
    source.write_bytes(data)
    try:
        file_copy._direct_copy(source, target, 2 * BLOCK)
    except OSError as error:
        pytest.skip(f"the file system of {tmp_path} takes no direct writes: {error}")
    assert target.read_bytes() == data


def test_a_later_change_of_the_source_in_place_leaves_the_copy_as_it_was(tmp_path: Path) -> None:
    source, target = tmp_path / "in.parquet", tmp_path / "copy.parquet"
    data = os.urandom(4 * BLOCK + 5)
    source.write_bytes(data)
    copy_bytes(source, target)
    with open(source, "r+b") as handle:  # as a program that rewrites the file where it is
        handle.write(b"\0" * BLOCK)
        handle.truncate(2 * BLOCK)
    assert target.read_bytes() == data
    assert target.stat().st_ino != source.stat().st_ino


def test_where_neither_a_clone_nor_direct_writes_work_the_kernel_copies(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    source, target = tmp_path / "in.parquet", tmp_path / "copy.parquet"
    data = os.urandom(3 * BLOCK + 9)
    source.write_bytes(data)
    copied: list[Path] = []
    copyfile = shutil.copyfile

    def refused(*_: object) -> None:
        raise OSError(22, "Invalid argument")

    def kernel_copy(from_path: Path, to_path: Path) -> None:
        copied.append(Path(from_path))
        copyfile(from_path, to_path)

    monkeypatch.setattr(file_copy, "_cloned", lambda *_: False)
    monkeypatch.setattr(file_copy, "_write_mapped", refused)
    monkeypatch.setattr(file_copy.shutil, "copyfile", kernel_copy)
    copy_bytes(source, target)
    assert copied == [source]
    assert target.read_bytes() == data
