"""A reader's Parquet file kept once for the runs that read it unchanged (`lineage/copies.py`): a later run's copy
is a link to the earlier one, read back, inspected and replayed from like its own, and still there once the
earlier run is evicted; a changed file, or one changed just before its copy, is copied anew; a copy that fails
leaves the run's record incomplete and no file behind. A copy is fsynced once, with its folders, on the thread
that makes it while the query runs, not again before the run's final status."""

from __future__ import annotations

import os
import threading
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from heddle.cli.main import main
from heddle_engine.lineage import LineageRecorder, LineageStore
from heddle_engine.lineage import copies as copies_module
from heddle_engine.lineage import files as files_module
from heddle_engine.lineage import recorder as recorder_module
from heddle_engine.lineage.eviction import evict
from tests.engine.running import run_file
from tests.lineage.support import ok

PROGRAM = """import "std/io" io

workflow W {
  io.read_parquet { path: "ids.parquet" }
    | (from input filter id >= 10 derive {twice = id * 2})
    | io.write_csv { path: "out.csv" }
}
"""


def record(project: Path, run_id: str) -> LineageRecorder:
    recorder = LineageRecorder(project)
    result = run_file(project / "flow.he", observers=[recorder], run_id=run_id)
    assert result.status == "succeeded", result.failures
    return recorder


def kept(project: Path, run_id: str) -> Path:
    return project / ".heddle" / "runs" / run_id / "outputs" / "W" / "n1.parquet"


def index(project: Path) -> list[str]:
    folder = project / ".heddle" / "runs" / ".copies"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "flow.he").write_text(PROGRAM, encoding="utf-8")
    pl.DataFrame({"id": range(1000)}).write_parquet(tmp_path / "ids.parquet")
    return tmp_path


def test_a_file_read_again_unchanged_is_linked_and_outlives_the_run_it_came_from(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(copies_module, "SETTLED_SECONDS", 0.0)  # the file was written a moment ago
    assert record(project, "one").problem is None
    assert record(project, "two").problem is None
    source = (project / "ids.parquet").read_bytes()
    assert os.stat(kept(project, "one")).st_ino == os.stat(kept(project, "two")).st_ino
    assert kept(project, "two").read_bytes() == source
    assert len(index(project)) == 1

    store = LineageStore(project)
    assert evict(store, 0, keep="two") == ["one"]  # the run that made the copy goes; the copy stays with "two"
    assert len(index(project)) == 1
    run = ok(store.find("two"))
    assert ok(store.table(run, ok(store.stage(run, "n1")))).column("id").to_pylist() == list(range(1000))
    monkeypatch.chdir(project)
    (project / "out.csv").unlink()
    assert main(["replay", "two", "--from", "n2"]) == 0  # reads the shared copy
    assert pl.read_csv(project / "out.csv")["twice"].to_list() == [i * 2 for i in range(10, 1000)]

    assert "two" in evict(store, 0, keep=None)  # with the replay's run, which linked the copy too
    assert store.runs() == [] and index(project) == []  # no run links to it: the index lets it go


def test_a_changed_file_is_copied_anew(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(copies_module, "SETTLED_SECONDS", 0.0)
    record(project, "one")
    pl.DataFrame({"id": range(1000, 2000)}).write_parquet(project / "ids.parquet")  # same size, other rows
    record(project, "two")
    assert os.stat(kept(project, "one")).st_ino != os.stat(kept(project, "two")).st_ino
    assert pl.read_parquet(kept(project, "one"))["id"].to_list() == list(range(1000))
    assert pl.read_parquet(kept(project, "two"))["id"].to_list() == list(range(1000, 2000))
    assert len(index(project)) == 2


def test_a_file_changed_just_before_its_copy_is_not_shared(project: Path) -> None:
    record(project, "one")  # ids.parquet was written less than SETTLED_SECONDS ago: it may change unseen
    record(project, "two")
    assert os.stat(kept(project, "one")).st_ino != os.stat(kept(project, "two")).st_ino
    assert index(project) == []
    assert kept(project, "two").read_bytes() == (project / "ids.parquet").read_bytes()


def test_a_copy_that_fails_leaves_the_record_incomplete_and_no_file(project: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(source: Path, target: Path) -> None:
        target.write_bytes(b"PAR1")  # part of the file, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(copies_module, "SETTLED_SECONDS", 0.0)
    monkeypatch.setattr(files_module, "copy_bytes", disk_full)
    recorder = record(project, "one")  # the run itself succeeds: its data went where the workflow sends it
    assert recorder.problem is not None and "No space left on device" in recorder.problem.message
    store = LineageStore(project)
    run = ok(store.find("one"))
    assert run.status == "succeeded" and run.incomplete == recorder.problem.message  # never a complete record
    stage = ok(store.stage(run, "n1"))
    assert stage.output is None and stage.rows is None
    outputs = kept(project, "one").parent
    assert sorted(p.name for p in outputs.iterdir()) == []  # neither the copy nor its temporary file
    assert index(project) == []


def test_a_copy_and_its_folders_are_synced_once_while_the_run_goes(project: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    synced: Counter[tuple[str, Path]] = Counter()
    sync_file = files_module.sync_file

    def counted(path: Path) -> None:
        synced[(threading.current_thread().name.split("_")[0], Path(path))] += 1
        sync_file(path)

    for module in (files_module, copies_module, recorder_module):  # sync_folder calls files.sync_file
        monkeypatch.setattr(module, "sync_file", counted)
    record(project, "one")
    copy = kept(project, "one")
    paths = Counter(path for _, path in synced.elements())
    assert paths[copy] == paths[copy.parent] == paths[copy.parent.parent] == 1
    assert {thread for thread, path in synced if path in (copy, copy.parent, copy.parent.parent)} == {
        "heddle-lineage-copy"}
    assert synced[("MainThread", copy.parents[2])] == 1  # the final status's entry, made durable last
