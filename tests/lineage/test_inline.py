"""Small outputs in the event log: a stage whose output in Polars is small is recorded inline in its `output`
event (one append, no file), read back, inspected and replayed from like any other; a large one is a file."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from heddle.cli.main import main
from heddle_engine.lineage import LineageRecorder, LineageStore
from heddle_engine.lineage.errors import LineageError
from tests.engine.running import run_file
from tests.lineage.support import ok

ROWS = 100_000  # two Int64 columns: 1.6 MB, far above what is kept inline

PROGRAM = """import "std/io" io

workflow W {
  io.read_parquet { path: "ids.parquet" }
    | (from input filter id >= 0 derive {twice = id * 2})
    | (from input aggregate {total = sum twice, n = count this})
    | io.write_csv { path: "out.csv" }
}
"""


def test_a_small_output_is_in_the_log_and_reads_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pl.DataFrame({"id": range(ROWS)}).write_parquet(tmp_path / "ids.parquet")
    path = tmp_path / "flow.he"
    path.write_text(PROGRAM, encoding="utf-8")
    recorder = LineageRecorder(tmp_path)
    result = run_file(path, observers=[recorder], run_id="inline-1")
    assert result.status == "succeeded", result.failures
    assert recorder.problem is None
    folder = tmp_path / ".heddle" / "runs" / "inline-1"
    files = sorted(p.relative_to(folder / "outputs").as_posix() for p in (folder / "outputs").rglob("*.*"))
    assert files == ["W/n1.parquet", "W/n2.arrow"]  # the reader's copy and the large block's output
    events = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    inline = {e["node"] for e in events if e.get("event") == "output" and "inline" in e}
    assert inline == {"n3", "n4"}
    n3 = [e.get("state", e["event"]) for e in events if e.get("node") == "n3"]
    assert n3 == ["pending", "running", "output", "succeeded"]  # succeeded once its data is recorded

    store = LineageStore(tmp_path)
    run = ok(store.find("inline-1"))
    stage = ok(store.stage(run, "n3"))
    assert isinstance(stage.output, bytes) and stage.rows == 1
    total = sum(range(ROWS)) * 2
    assert ok(store.table(run, stage)).to_pylist() == [{"total": total, "n": ROWS}]
    assert ok(store.table(run, ok(store.stage(run, "n2")))).num_rows == ROWS

    monkeypatch.chdir(tmp_path)
    (tmp_path / "out.csv").unlink()
    assert main(["replay", "inline-1", "--from", "n4"]) == 0  # reads n3's inline output
    assert pl.read_csv(tmp_path / "out.csv").to_dicts() == [{"total": total, "n": ROWS}]


def test_inline_outputs_read_as_streams_and_as_format_2_files() -> None:
    import io

    from heddle_engine.lineage.files import frame_bytes
    from heddle_engine.lineage.store import read_table

    frame = pl.DataFrame({"id": [1, 2, 3], "name": ["a", None, "c"]})
    stream = frame_bytes(frame)  # format 3: an Arrow IPC stream
    assert not stream.startswith(b"ARROW1")
    assert ok(read_table(stream)).to_pylist() == frame.to_dicts()
    assert ok(read_table(stream, 2)).to_pylist() == frame.head(2).to_dicts()
    file = io.BytesIO()  # format 2 recorded the Arrow IPC file's bytes
    frame.write_ipc(file, compression="lz4", compat_level=pl.CompatLevel.oldest())
    assert ok(read_table(file.getvalue())).to_pylist() == frame.to_dicts()
    assert isinstance(read_table(stream[: len(stream) // 2]), LineageError)  # cut short: an error, not rows
