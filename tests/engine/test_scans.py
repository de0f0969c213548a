"""Readers as lazy scans: a file read by one relational block is scanned inside the block's query, so only
what the block keeps is read; read by anything else, it is collected once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from heddle.cli.main import main
from heddle_engine.catalog import load_catalog
from heddle_engine.events import NodeState
from heddle_engine.execute import lower
from heddle_engine.execute.functions import Functions
from heddle_engine.lineage import LineageError, LineageRecorder, LineageStore
from tests.engine.running import Recorder, checked_plan, run_file

# 300 rows: `b` is an integer in the first 200 (what the reader infers from) and then text, which
# no integer column can hold. Read whole, the file fails; a block that never reads `b` does not.
ROWS = 300


def write_csv(folder: Path) -> Path:
    b = [str(i) for i in range(200)] + ["oops"] * (ROWS - 200)
    path = folder / "data.csv"
    pl.DataFrame({"a": range(ROWS), "b": b}).write_csv(path)
    return path


def program(folder: Path, text: str) -> Path:
    path = folder / "flow.he"
    path.write_text(text, encoding="utf-8")
    return path


ONLY_A = """import "std/io" io

workflow W {
  io.read_csv { path: "data.csv" }
    | (from input filter a >= 295 select {a})
    | io.write_csv { path: "out.csv" }
}
"""


def test_a_block_reads_only_its_columns_of_the_file(tmp_path: Path) -> None:
    write_csv(tmp_path)
    with pytest.raises(pl.exceptions.ComputeError):  # the whole file does not read
        pl.read_csv(tmp_path / "data.csv")
    result = run_file(program(tmp_path, ONLY_A))
    assert result.status == "succeeded", result.failures
    assert pl.read_csv(tmp_path / "out.csv")["a"].to_list() == [295, 296, 297, 298, 299]
    reader = next(key for key in result.rows if key[1] == "n1")
    assert result.rows[reader].output == ROWS  # the rows of the file are counted all the same


def test_a_block_reading_the_bad_column_fails_with_the_reason(tmp_path: Path) -> None:
    write_csv(tmp_path)
    path = program(tmp_path, ONLY_A.replace("select {a}", "select {a, b}"))
    result = run_file(path)
    assert result.status == "failed"
    assert "oops" in str(result.error)


def test_the_plan_shows_the_scan(tmp_path: Path) -> None:
    write_csv(tmp_path)
    path = program(tmp_path, ONLY_A)
    lowered = lower(checked_plan(path), "W", Functions.of(load_catalog(path)))
    assert lowered.workflow.deferred == {"n1": "n2"}
    assert "n1 [call] io.read_csv  (line 4)\n      scanned inside n2's query (its projection" in lowered.explain()
    # a declared schema: the checker knows which columns the block reads
    path = program(tmp_path, ONLY_A.replace('io.read_csv { path: "data.csv" }',
                                            'io.read_parquet { path: "data.parquet", schema: { a: "Int64", '
                                            'b: "String" } }'))
    lowered = lower(checked_plan(path), "W", Functions.of(load_catalog(path)))
    assert "scanned inside n2's query, which reads a of it" in lowered.explain()
    assert lowered.to_json().count('"deferred": {\n        "n1": "n2"') == 1


def test_a_file_read_by_two_blocks_gives_each_its_columns_and_rows(tmp_path: Path) -> None:
    pl.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}).write_parquet(tmp_path / "data.parquet")
    path = program(tmp_path, """import "std/io" io

workflow W {
  io.read_parquet { path: "data.parquet" }
  > rows

  rows
    | (from input filter a > 1 select {a})
    | io.write_csv { path: "one.csv" }

  rows
    | (from input filter a < 3 select {b})
    | io.write_csv { path: "two.csv" }
}
""")
    assert lower(checked_plan(path), "W", Functions.of(load_catalog(path))).workflow.deferred == {"n1": "n2+n4"}
    result = run_file(path)
    assert result.status == "succeeded", result.failures
    assert pl.read_csv(tmp_path / "one.csv")["a"].to_list() == [2, 3]
    assert pl.read_csv(tmp_path / "two.csv")["b"].to_list() == ["x", "y"]


def test_recorded_outputs_hold_every_row_of_a_scan(tmp_path: Path) -> None:
    write_csv(tmp_path)
    recorder = Recorder()
    path = program(tmp_path, ONLY_A.replace('io.read_csv { path: "data.csv" }',
                                            'io.read_csv { path: "data.csv", schema: { a: "Int64" }, '
                                            'columns: ["a"] }'))
    result = run_file(path, observers=[recorder])
    assert result.status == "succeeded", result.failures
    assert recorder.outputs[("W", "n1")].num_rows == ROWS


def test_a_missing_file_fails_in_the_reader(tmp_path: Path) -> None:
    path = program(tmp_path, ONLY_A)
    result = run_file(path)
    assert result.status == "failed"
    assert result.failures[0].node == "n1"


def test_lineage_keeps_a_copy_of_a_parquet_file_read_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Recorded without decoding a row: the reader's output is the file, so the file is what is kept; the
    store reads it back like any output, and a replay from the block reads it."""
    data = pl.DataFrame({"a": list(range(10)), "b": [f"x{i}" for i in range(10)]})
    data.write_parquet(tmp_path / "data.parquet", row_group_size=4)
    (tmp_path / "heddle.toml").write_text("")
    path = program(tmp_path, """import "std/io" io

workflow W {
  io.read_parquet { path: "data.parquet" }
    | (from input filter a >= 7 select {a})
    | io.write_csv { path: "out.csv" }
}
""")
    recorder = LineageRecorder(tmp_path)
    result = run_file(path, observers=[recorder])
    assert result.status == "succeeded", result.failures
    assert recorder.problem is None
    assert recorder.folder is not None
    copy = recorder.folder / "outputs" / "W" / "n1.parquet"
    assert copy.read_bytes() == (tmp_path / "data.parquet").read_bytes()
    assert not (recorder.folder / "outputs" / "W" / "n1.arrow").exists()
    store = LineageStore(tmp_path)
    run = store.find("last")
    assert not isinstance(run, LineageError)
    stage = store.stage(run, "n1")
    assert not isinstance(stage, LineageError) and stage.rows == 10
    table = store.table(run, stage)
    assert not isinstance(table, LineageError) and pl.DataFrame(table).equals(data)
    first = store.table(run, stage, limit=5)
    assert not isinstance(first, LineageError) and pl.DataFrame(first).equals(data.head(5))

    (tmp_path / "data.parquet").unlink()  # the replay reads the recording, not the file
    monkeypatch.chdir(tmp_path)
    assert main(["replay", "last", "--from", "n2"]) == 0, capsys.readouterr().err
    assert pl.read_csv(tmp_path / "out.csv")["a"].to_list() == [7, 8, 9]


def test_a_run_whose_data_stays_in_polars_imports_no_pyarrow(tmp_path: Path) -> None:
    """A reader, a block and a writer: Polars from the file to the file, so the process never loads pyarrow
    (nor numpy, which it brings), and the CSV is the block's answer."""
    pl.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}).write_parquet(tmp_path / "data.parquet")
    path = program(tmp_path, ONLY_A.replace('io.read_csv { path: "data.csv" }',
                                            'io.read_parquet { path: "data.parquet" }').replace("295", "2"))
    probe = ("import sys\nfrom heddle.cli.main import main\ncode = main(sys.argv[1:])\n"
             "print('loaded:', [m for m in ('pyarrow', 'numpy', 'pandas') if m in sys.modules], file=sys.stderr)\n"
             "sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", probe, "run", str(path), "--no-lineage"], check=False,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "loaded: []" in done.stderr
    assert pl.read_csv(tmp_path / "out.csv")["a"].to_list() == [2, 3]


TWO_READERS = """import "std/io" io

workflow W {
  io.read_csv { path: "data.csv" }
  > rows

  rows
    | (from input filter a >= 295 select {a})
    | io.write_csv { path: "high.csv" }

  rows
    | (from input aggregate {total = sum a})
    | io.write_csv { path: "total.csv" }
}
"""


def test_a_file_read_by_two_blocks_is_read_once_for_both_never_collected_whole(
        tmp_path: Path, joint_plans: list[str]) -> None:
    """Two blocks that read the same file are one joint unit: one Polars plan, one scan of the file (Polars caches
    it for both), which reads only the column they read (the other one does not read)."""
    write_csv(tmp_path)  # read whole, the file fails: each block reads only `a`
    path = program(tmp_path, TWO_READERS)
    lowered = lower(checked_plan(path), "W", Functions.of(load_catalog(path)))
    joint = lowered.workflow.unit("n2+n4")
    assert (joint.kind, joint.parts, joint.outputs) == ("joint", (("n2",), ("n4",)), ("n2", "n4"))
    assert lowered.workflow.deferred == {"n1": "n2+n4"} and lowered.workflow.shared == {}
    assert "n2+n4 [joint: 2 chains of relational blocks sharing a scan, one Polars plan] <- n1" in lowered.explain()
    assert "the scan they share is read once" in lowered.explain()
    recorder = LineageRecorder(tmp_path)
    for observers in ((), (recorder,)):  # lineage takes the reader's output as a scan: the file, not its rows
        result = run_file(path, observers=observers)
        assert result.status == "succeeded", result.failures
        assert pl.read_csv(tmp_path / "high.csv")["a"].to_list() == [295, 296, 297, 298, 299]
        assert pl.read_csv(tmp_path / "total.csv")["total"].to_list() == [ROWS * (ROWS - 1) // 2]
        assert result.rows[("W", "n1")].output == ROWS
    assert recorder.problem is not None  # the whole file does not read: its record says so, the run went on
    assert len(joint_plans) == 2
    for plan in joint_plans:  # Polars caches the scan both read: one pass over the file, for `a` alone
        assert plan.count("Csv SCAN") == 1 and plan.count("CACHE") == 2 and "PROJECT 1/2 COLUMNS" in plan, plan


HANDLED = """import "std/io" io

handler failed {
  *
    | (from input select {error_msg})
    | io.write_csv { path: "failed.csv" }
}

workflow W {
  io.read_csv { path: "data.csv" }
  > rows

  rows
    | (from input filter a >= 295 select {a})
    | io.write_csv { path: "high.csv" }

  rows
    | (from input select {a, b}) ? failed
    | io.write_csv { path: "both.csv" }
}
"""


def test_a_chain_of_a_joint_unit_that_fails_does_not_stop_the_other(tmp_path: Path) -> None:
    """The block that reads the column the file cannot give fails as itself (its handler has it); the other
    block of the same file, and the writer after it, go on (as two units would)."""
    write_csv(tmp_path)
    path = program(tmp_path, HANDLED)
    assert lower(checked_plan(path), "W", Functions.of(load_catalog(path))).workflow.unit("n2+n4").kind == "joint"
    recorder = Recorder()
    recorder.wants_outputs = False  # type: ignore[attr-defined]  # events only: the file stays a scan
    result = run_file(path, observers=[recorder])
    assert recorder.states("W", "n4")[-1] == NodeState.HANDLED, result.failures
    assert recorder.states("W", "n3")[-1] == NodeState.SUCCEEDED
    assert recorder.states("W", "n5")[-1] == NodeState.SKIPPED
    assert pl.read_csv(tmp_path / "high.csv")["a"].to_list() == [295, 296, 297, 298, 299]
    assert "oops" in pl.read_csv(tmp_path / "failed.csv")["error_msg"][0]
    assert not (tmp_path / "both.csv").exists()


TWO_CHAINED = """import "std/io" io

workflow W {
  io.read_csv { path: "data.csv" }
  > rows

  rows
    | (from input filter a >= 295 select {a})
    > high

  (from rows join high (==a) select {a} sort {a})
    | io.write_csv { path: "both.csv" }
}
"""


def test_blocks_of_which_one_reads_the_other_are_not_joined(tmp_path: Path) -> None:
    write_csv(tmp_path)
    path = program(tmp_path, TWO_CHAINED)
    lowered = lower(checked_plan(path), "W", Functions.of(load_catalog(path)))
    assert all(u.kind != "joint" for u in lowered.workflow.units)
    result = run_file(path)
    assert result.status == "succeeded", result.failures
    assert pl.read_csv(tmp_path / "both.csv")["a"].to_list() == [295, 296, 297, 298, 299]
