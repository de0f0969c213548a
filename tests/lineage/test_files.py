"""Whole lineage files are written beside their place and moved in: a failed write leaves the old file."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from heddle_engine.lineage.files import copy_file, replace_with, write_bytes, write_frame, write_table


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "n1.arrow"
    path.write_bytes(b"old")

    def half(temporary: Path) -> None:
        temporary.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        replace_with(path, half)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n1.arrow"]
    assert path.read_bytes() == b"old"


def test_each_writer_replaces_the_file_and_returns_its_size(tmp_path: Path) -> None:
    frame = pl.DataFrame({"id": [1, 2, 3], "name": ["a", "b", None]})
    for name in ("table.arrow", "frame.arrow", "copy.arrow", "bytes.bin"):
        (tmp_path / name).write_bytes(b"old")
    sizes = {
        "table.arrow": write_table(tmp_path / "table.arrow", frame.to_arrow()),
        "frame.arrow": write_frame(tmp_path / "frame.arrow", frame),
        "copy.arrow": copy_file(tmp_path / "table.arrow", tmp_path / "copy.arrow"),
    }
    write_bytes(tmp_path / "bytes.bin", b"new", durable=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bytes.bin", "copy.arrow", "frame.arrow", "table.arrow"]
    assert sizes == {name: (tmp_path / name).stat().st_size for name in sizes}
    for name in sizes:
        assert pl.read_ipc(tmp_path / name).equals(frame)
    assert (tmp_path / "bytes.bin").read_bytes() == b"new"
