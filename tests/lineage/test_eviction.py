"""The size limit: the oldest runs go first, never the one being recorded nor one still going elsewhere."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from heddle_engine.lineage import DEFAULT_LIMIT, LineageStore, parse_size, read_limit
from heddle_engine.lineage.errors import BAD_SETTINGS, LineageError
from tests.lineage.support import FakeRun, new_recorder


def ids(root: Path) -> list[str]:
    return [r.run_id for r in LineageStore(root).runs()]


def test_old_runs_are_evicted_oldest_first(program: Path) -> None:
    root = program.parent
    FakeRun(new_recorder(root), program, "first").whole()
    one_run = LineageStore(root).runs()[0].size
    recorder = new_recorder(root, limit_bytes=int(one_run * 2.5))
    for run_id in ("second", "third", "fourth"):
        FakeRun(recorder, program, run_id).whole()
    assert ids(root) == ["fourth", "third"]
    assert recorder.evicted == ["first", "second"]
    assert not [p for p in (root / ".heddle" / "runs").iterdir() if p.name.startswith(".")]


def test_the_current_run_stays_even_alone_over_the_limit(program: Path) -> None:
    root = program.parent
    FakeRun(new_recorder(root), program, "old").whole()
    recorder = new_recorder(root, limit_bytes=1)
    FakeRun(recorder, program, "new").whole()
    assert ids(root) == ["new"] and recorder.evicted == ["old"]


def test_a_run_still_going_in_a_live_process_is_kept(program: Path) -> None:
    root = program.parent
    FakeRun(new_recorder(root), program, "going").start()  # never finishes; this process lives
    FakeRun(new_recorder(root, limit_bytes=1), program, "done").whole()
    assert sorted(ids(root)) == ["done", "going"]


def test_leftovers_of_an_interrupted_eviction_are_removed(program: Path) -> None:
    root = program.parent
    leftover = root / ".heddle" / "runs" / ".deleting-old-12345678"
    (leftover / "outputs").mkdir(parents=True)
    FakeRun(new_recorder(root), program, "next").whole()
    assert not leftover.exists() and ids(root) == ["next"]


@pytest.mark.parametrize(("text", "size"), [
    ("500MB", 500_000_000), ("2GiB", 2 << 30), ("1.5 kb", 1500), ("2048", 2048), ("10 b", 10), ("1TiB", 1 << 40),
])
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "MB", "5 parsecs", "-1MB", "1e3"])
def test_not_sizes(text: str) -> None:
    assert parse_size(text) is None


def test_the_limit_comes_from_heddle_toml(tmp_path: Path) -> None:
    assert read_limit(tmp_path) == DEFAULT_LIMIT
    (tmp_path / "heddle.toml").write_text('[modules]\n"a/b" = "c"\n')
    assert read_limit(tmp_path) == DEFAULT_LIMIT
    (tmp_path / "heddle.toml").write_text('[lineage]\nlimit = "500MB"\n')
    assert read_limit(tmp_path) == 500_000_000
    (tmp_path / "heddle.toml").write_text("[lineage]\nlimit = 4096\n")
    assert read_limit(tmp_path) == 4096


@pytest.mark.parametrize("text", ['[lineage]\nlimit = "lots"\n', "[lineage]\nlimit = 0\n", 'lineage = "x"\n',
                                  "[lineage\n"])
def test_a_limit_that_is_not_a_size_is_an_error(tmp_path: Path, text: str) -> None:
    (tmp_path / "heddle.toml").write_text(text)
    found = read_limit(tmp_path)
    assert isinstance(found, LineageError) and found.code == BAD_SETTINGS
    assert str(tmp_path / "heddle.toml") in found.message


def test_a_set_up_left_by_a_dead_process_is_removed_and_a_live_one_kept(program: Path) -> None:
    runs = program.parent / ".heddle" / "runs"
    dead, alive = runs / ".starting-dead-0000", runs / ".starting-alive-0000"
    for folder, pid in ((dead, 2 ** 22 + 12345), (alive, os.getpid())):
        folder.mkdir(parents=True)
        (folder / "run.json").write_text(json.dumps({"status": "running", "pid": pid, "host": socket.gethostname()}))
    FakeRun(new_recorder(program.parent), program, "next").whole()
    assert not dead.exists() and alive.exists()
    assert ids(program.parent) == ["next"]  # neither was ever a run
