"""Writers as sinks: the relational blocks before a writer stream into its file as one Polars plan (readers,
blocks, writer), never collected; the files are the same as when the result is collected, a failure is
still the failing stage's own, and a workflow larger than the memory it may use completes."""

from __future__ import annotations

import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

from heddle.cli.main import main
from heddle_engine.catalog import load_catalog
from heddle_engine.events import NodeState
from heddle_engine.execute import lower
from heddle_engine.execute.functions import Functions
from heddle_engine.execute.polars_engine import TURNED, streaming_avoided
from heddle_engine.lineage import LineageRecorder, LineageStore
from tests.engine.running import Recorder, checked_plan, run_file


def program(folder: Path, text: str) -> Path:
    path = folder / "flow.he"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def orders(folder: Path, rows: int = 1000) -> None:
    pl.DataFrame({
        "id": range(rows),
        "customer": [f"c{i % 17}" for i in range(rows)],
        "amount": [(i * 7919 % 1009) / 4 for i in range(rows)],
        "when": pl.date_range(pl.date(2020, 1, 1), pl.date(2020, 1, 1) + pl.duration(days=rows - 1), eager=True),
        "note": [None if i % 5 == 0 else ("" if i % 7 == 0 else f'say "hi",\n{i}') for i in range(rows)],
    }).write_parquet(folder / "orders.parquet")


def events_only() -> Recorder:
    """A recorder of events that wants no node outputs: the sinks stay on."""
    recorder = Recorder()
    recorder.wants_outputs = False  # type: ignore[attr-defined]
    return recorder


WRITERS = {
    "csv": ('io.write_csv { path: "out/result.csv" }', "result.csv"),
    "parquet": ('io.write_parquet { path: "out/result.parquet" }', "result.parquet"),
    "ipc": ('io.write_ipc { path: "out/result.arrow" }', "result.arrow"),
    "ndjson": ('io.write_json { path: "out/result.jsonl", lines: true }', "result.jsonl"),
}


def flow(writer: str) -> str:
    return f"""\
        import "std/io" io

        workflow W {{
          io.read_parquet {{
            path: "orders.parquet"
            schema: {{ id: "Int64", customer: "String", amount: "Float64", when: "Date", note: "String" }}
          }}
            | (from input filter amount > 20 derive {{double = amount * 2}})
            | (from input select {{id, customer, double, when, note}} sort {{customer, id}})
            | {writer}
        }}
        """


@pytest.mark.parametrize("kind", list(WRITERS))
def test_a_sink_writes_the_same_file_as_a_collected_result(tmp_path: Path, kind: str) -> None:
    writer, name = WRITERS[kind]
    orders(tmp_path)
    path = program(tmp_path, flow(writer))
    lowered = lower(checked_plan(path), "W", Functions.of(load_catalog(path)))
    assert lowered.workflow.sinks == {"n4": "n2+n3"}

    streamed = run_file(path)  # no observer wants node outputs: the blocks stream into the file
    assert streamed.status == "succeeded", streamed.failures
    first = (tmp_path / "out" / name).read_bytes()
    (tmp_path / "out" / name).unlink()
    recorder = Recorder()  # an observer of node outputs: the result is collected, then written
    collected = run_file(path, observers=[recorder])
    assert collected.status == "succeeded", collected.failures
    assert recorder.outputs[("W", "n3")].num_rows == 920
    if kind in ("csv", "ndjson"):
        assert first == (tmp_path / "out" / name).read_bytes()
    else:
        reread = pl.read_parquet if kind == "parquet" else pl.read_ipc
        assert reread(tmp_path / "out" / name).equals(reread(first))
    for key in (("W", "n3"), ("W", "n4")):
        assert streamed.rows[key].output == collected.rows[key].output == 920
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [name]  # no partial file left


def test_the_written_table_reads_back_as_the_result_of_the_run(tmp_path: Path) -> None:
    orders(tmp_path)
    path = program(tmp_path, flow(WRITERS["csv"][0]))
    result = run_file(path)
    expected = (pl.read_parquet(tmp_path / "orders.parquet").filter(pl.col("amount") > 20)
                .select("id", "customer", (pl.col("amount") * 2).alias("double"), "when", "note")
                .sort("customer", "id"))
    assert pl.from_arrow(result.outputs["n4"]).equals(expected)  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_with_lineage_the_blocks_still_stream_and_the_file_written_is_recorded(
        tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch, joint_plans: list[str],
        capsys: pytest.CaptureFixture[str]) -> None:
    """Lineage on: the last block streams into the writer's file all the same; its output and the writer's are
    recorded from that file (a copy of a Parquet file, else streamed from it), the earlier block's streamed into
    its lineage file by the same plan (never collected); `inspect` and `replay` read them."""
    writer, name = WRITERS[kind]
    orders(tmp_path, 5000)  # too many for the log's inline outputs: files
    path = program(tmp_path, flow(writer))
    method = f"sink_{kind}"
    sunk: list[str] = []
    original = getattr(pl.LazyFrame, method)

    def spy(self: pl.LazyFrame, target: Path, **options: object) -> object:
        sunk.append(Path(target).name)
        return original(self, target, **options)

    monkeypatch.setattr(pl.LazyFrame, method, spy)
    assert main(["run", str(path)]) == 0
    assert [n for n in sunk if n.startswith(".result.") and ".partial" in n], sunk  # streamed by the writer
    # the writer's sink and n2's lineage file in one plan, n2 computed once for both (the reader's output is
    # recorded by a plan of its own: its declared schema makes it other than the file)
    one = [p for p in joint_plans if "CACHE" in p]
    assert len(one) == 1 and one[0].count("SINK (file)") == 2 and one[0].count("Parquet SCAN") == 1, joint_plans
    monkeypatch.undo()  # the run observed: what reads its lineage below runs as it is
    expected = (pl.read_parquet(tmp_path / "orders.parquet").filter(pl.col("amount") > 20)
                .select("id", "customer", (pl.col("amount") * 2).alias("double"), "when", "note")
                .sort("customer", "id"))
    store = LineageStore(tmp_path)
    run = store.runs()[0]
    assert run.status == "succeeded" and run.incomplete is None
    for stage in ("n3", "n4"):
        assert pl.from_arrow(store.table(run, store.stage(run, stage))).equals(expected)  # type: ignore[arg-type]
    earlier = pl.from_arrow(store.table(run, store.stage(run, "n2")))
    assert earlier.sort("id").equals(  # type: ignore[union-attr]
        pl.read_parquet(tmp_path / "orders.parquet").filter(pl.col("amount") > 20)
        .with_columns(double=pl.col("amount") * 2).sort("id"))
    assert store.stage(run, "n2").rows == expected.height  # type: ignore[union-attr]
    assert not list((run.folder / "outputs").rglob(".*"))  # no temporary file left
    suffixes = sorted(p.suffix for p in (run.folder / "outputs").rglob("n[34]*"))
    assert suffixes == ([".parquet", ".parquet"] if kind == "parquet" else [".arrow", ".arrow"]), suffixes
    capsys.readouterr()
    assert main(["inspect", run.run_id, "--project", str(tmp_path)]) == 0
    assert "n3" in capsys.readouterr().out
    (tmp_path / "out" / name).unlink()
    assert main(["replay", run.run_id, "--from", "n4", "--project", str(tmp_path)]) == 0
    written = pl.read_csv(tmp_path / "out" / name, schema=expected.schema) if kind == "csv" \
        else pl.read_parquet(tmp_path / "out" / name)
    assert written.equals(expected)


def test_a_block_that_fails_in_the_stream_fails_as_itself_and_leaves_no_file(tmp_path: Path) -> None:
    # `b` is an integer in the first 200 rows, then text: the scan fails when the block reads `b`
    pl.DataFrame({"a": range(300), "b": [str(i) for i in range(200)] + ["oops"] * 100}).write_csv(
        tmp_path / "data.csv")
    path = program(tmp_path, """\
        import "std/io" io

        workflow W {
          io.read_csv { path: "data.csv" }
            | (from input filter a >= 0 select {a, b})
            | io.write_parquet { path: "out/result.parquet" }
        }
        """)
    recorder = events_only()
    result = run_file(path, observers=[recorder])
    assert result.status == "failed"
    assert result.failures[0].node == "n2" and "oops" in str(result.error)
    # it failed on the streaming engine, streamed into the writer: the unit ran again on the in-memory engine
    assert TURNED in result.warnings and streaming_avoided()
    assert recorder.states("W", "n3") == [NodeState.PENDING, NodeState.SKIPPED]
    assert not (tmp_path / "out" / "result.parquet").exists()
    assert list((tmp_path / "out").iterdir()) == []


def test_a_writer_that_cannot_write_fails_as_itself(tmp_path: Path) -> None:
    orders(tmp_path)
    (tmp_path / "out" / "result.csv").mkdir(parents=True)  # a folder where the file should go
    path = program(tmp_path, flow(WRITERS["csv"][0]))
    recorder = events_only()
    result = run_file(path, observers=[recorder])
    assert result.status == "failed"
    assert result.failures[0].node == "n4"
    assert recorder.states("W", "n3")[-1] == NodeState.SUCCEEDED
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["result.csv"]  # the folder, nothing beside it


def test_the_plan_names_what_streams_and_what_materialises(tmp_path: Path) -> None:
    orders(tmp_path)
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "keep.py").write_text(textwrap.dedent("""\
        from heddle.core.table import Table
        from heddle.sdk.plugin import Plugin

        plugin = Plugin(namespace="keep")


        @plugin.step(name="all")
        def keep_all(input: Table) -> Table:
            return input
        """), encoding="utf-8")
    (tmp_path / "heddle.toml").write_text('[modules]\n"local/keep" = "plugins.keep:plugin"\n', encoding="utf-8")
    path = program(tmp_path, """\
        import "std/io" io
        import "local/keep" keep

        workflow W {
          io.read_parquet { path: "orders.parquet" }
            | (from input filter amount > 20)
            | keep.all
            | (from input select {id})
            | io.write_parquet { path: "out/ids.parquet", retry: { attempts: 2 } }
        }
        """)
    lowered = lower(checked_plan(path), "W", Functions.of(load_catalog(path)))
    text = lowered.explain()
    assert lowered.workflow.sinks == {}  # a writer that may be retried is given a collected table
    assert "n2 [relational] (from input filter amount > 20) <- n1  (line 6)\n      collected into memory for " \
           "`keep.all` (line 7): the stage that materialises it" in text
    assert "collected into memory for `io.write_parquet` (line 9)" in text
    path = program(tmp_path, path.read_text().replace(", retry: { attempts: 2 }", "").replace("    | keep.all\n", ""))
    text = lower(checked_plan(path), "W", Functions.of(load_catalog(path))).explain()
    assert "streams into `io.write_parquet` (Polars' streaming engine): its result is never all in memory" in text
    assert "a sink: writes n2+n3's lazy query as it streams" in text


# --- two writers of one file ---------------------------------------------------------------------------

TWO_WRITERS = """\
    import "std/io" io
    import "local/plain" plain

    workflow W {
      io.read_parquet { path: "orders.parquet" }
      > rows

      rows
        | (from input filter amount > 20 select {id, customer} sort {id})
        | io.write_parquet { path: "out/high.parquet" }

      rows
        | (from input group {customer} (aggregate {n = count this}) sort {customer})
        | FIRST_WRITER

      rows
        | (from input aggregate {total = sum amount})
        > total
    }
    """

PLAIN_WRITER = """\
from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="plain")


class Config(StepConfig[None]):
    path: str


@plugin.step(name="write", sink=True)
def write(config: Config, input: Table) -> Table:
    \"\"\"Writes the query itself, without `input.sink`: run alone, not with the engine's group.\"\"\"
    query = input.pending_query()
    if query is None:
        input.to_polars().write_csv(config.path)
    else:
        query.sink_csv(config.path)
    return Table.scan(__import__("polars").scan_csv(config.path))
"""


def _two_writers(folder: Path, first: str) -> Path:
    orders(folder)
    (folder / "plugins").mkdir(exist_ok=True)
    (folder / "plugins" / "plain.py").write_text(PLAIN_WRITER, encoding="utf-8")
    (folder / "heddle.toml").write_text('[modules]\n"local/plain" = "plugins.plain:plugin"\n', encoding="utf-8")
    return program(folder, TWO_WRITERS.replace("FIRST_WRITER", first))


@pytest.mark.parametrize("lineage", [False, True])
def test_two_blocks_of_one_file_stream_into_their_writers_in_one_pass(
        tmp_path: Path, joint_plans: list[str], lineage: bool) -> None:
    """The joint unit's chains that end in writers stream into them, the third is collected: one collect_all
    of two sink plans and a frame, over one scan of the file."""
    path = _two_writers(tmp_path, 'io.write_csv { path: "out/counts.csv" }')
    lowered = lower(checked_plan(path), "W", Functions.of(load_catalog(path)))
    assert lowered.workflow.sinks == {"n3": "n2+n4+n6", "n5": "n2+n4+n6"}
    assert ("n2: streams into `io.write_parquet`, never all in memory; n4: streams into `io.write_csv`, never all "
            "in memory; n6: collected into memory: a result of the workflow") in lowered.explain()
    observers = [LineageRecorder(tmp_path)] if lineage else []
    result = run_file(path, observers=observers)
    assert result.status == "succeeded", result.failures
    joint = [p for p in joint_plans if "SINK_MULTIPLE" in p]
    assert len(joint) == 1 and joint[0].count("SINK (file)") == 2 and joint[0].count("Parquet SCAN") == 1, joint_plans
    source = pl.read_parquet(tmp_path / "orders.parquet")
    assert pl.read_parquet(tmp_path / "out" / "high.parquet").equals(
        source.filter(pl.col("amount") > 20).select("id", "customer").sort("id"))
    counts = pl.read_csv(tmp_path / "out" / "counts.csv")
    assert counts.equals(source.group_by("customer").agg(n=pl.len().cast(pl.Int64)).sort("customer"))
    assert pl.from_arrow(result.outputs["n6"]).item() == source["amount"].sum()  # type: ignore[union-attr]
    if lineage:
        store = LineageStore(tmp_path)
        run = store.runs()[0]
        for stage, expected in (("n4", counts), ("n5", counts)):
            assert pl.from_arrow(store.table(run, store.stage(run, stage))).equals(expected)  # type: ignore[arg-type]


def test_a_writer_that_runs_its_own_sink_is_not_waited_for(tmp_path: Path) -> None:
    """A writer that sinks its query itself (not through `input.sink`) leaves the group when it returns: the
    others' plans run without it, and its file is written all the same."""
    (tmp_path / "out").mkdir()
    path = _two_writers(tmp_path, f'plain.write {{ path: "{(tmp_path / "out" / "counts.csv").as_posix()}" }}')
    assert lower(checked_plan(path), "W", Functions.of(load_catalog(path))).workflow.sinks["n5"] == "n2+n4+n6"
    result = run_file(path)
    assert result.status == "succeeded", result.failures
    assert pl.read_csv(tmp_path / "out" / "counts.csv").height == 17
    assert pl.read_parquet(tmp_path / "out" / "high.parquet").height == 920


def test_a_writer_of_a_joint_unit_that_cannot_write_fails_as_itself(tmp_path: Path) -> None:
    path = _two_writers(tmp_path, 'io.write_csv { path: "out/counts.csv" }')
    (tmp_path / "out" / "counts.csv").mkdir(parents=True)  # a folder where the file should go
    recorder = events_only()
    result = run_file(path, observers=[recorder])
    assert result.status == "failed"
    assert [f.node for f in result.failures] == ["n5"]
    assert recorder.states("W", "n4")[-1] == NodeState.SUCCEEDED
    assert pl.read_parquet(tmp_path / "out" / "high.parquet").height == 920  # the other writer's file


# --- larger than memory -------------------------------------------------------------------------------

ROWS = 24_000_000  # three 8-byte columns: 576 MB in memory (the file: a few MB)
CAP = 400 * 2**20  # what the process may allocate (RLIMIT_DATA): less than the input, room for heddle itself

BIG = """\
    import "std/io" io

    workflow Big {
      io.read_parquet { path: "big.parquet" }
        | (from input filter amount > 10 derive {total = amount + k})
        | io.write_parquet { path: "out/big.parquet" }
    }
    """


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_DATA, (CAP, CAP))


def _capped_run(folder: Path, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], check=False, cwd=folder, preexec_fn=_capped,
                          capture_output=True, text=True, timeout=300)


BIG_FUSED = BIG.replace("| (from input filter amount > 10 derive {total = amount + k})",
                        "| (from input filter amount > 10)\n        | (from input derive {total = amount + k})")


@pytest.mark.parametrize("lineage", [False, True])
def test_a_workflow_larger_than_its_memory_streams_through(tmp_path: Path, lineage: bool) -> None:
    """Without lineage, and with it (two blocks fused: the first one's output streams into its lineage file,
    the last one's is the file written, kept as a copy)."""
    (pl.LazyFrame().select(pl.int_range(0, ROWS, dtype=pl.Int64).alias("id"))
     .with_columns(amount=(pl.col("id") * 7919 % 1009).cast(pl.Float64), k=pl.col("id") % 1000)
     .sink_parquet(tmp_path / "big.parquet"))
    program(tmp_path, BIG_FUSED if lineage else BIG)
    # the control: collecting the same query does not fit under the cap
    collect = ("import polars as pl; pl.scan_parquet('big.parquet').filter(pl.col('amount') > 10)"
               ".with_columns(total=pl.col('amount') + pl.col('k')).collect()")
    assert _capped_run(tmp_path, collect).returncode != 0

    run = _capped_run(tmp_path, "import sys; from heddle.cli.main import main; sys.exit(main(sys.argv[1:]))",
                      "run", "flow.he", *(() if lineage else ("--no-lineage",)))
    assert run.returncode == 0, run.stderr[-2000:]
    if lineage:
        store = LineageStore(tmp_path)
        recorded = store.runs()[0]
        assert recorded.status == "succeeded" and recorded.incomplete is None
        first = store.stage(recorded, "n2")
        assert first.rows == pl.scan_parquet(tmp_path / "big.parquet").filter(pl.col("amount") > 10).select(  # type: ignore[union-attr]
            pl.len()).collect().item()
    written = pl.scan_parquet(tmp_path / "out" / "big.parquet")
    expected = (pl.scan_parquet(tmp_path / "big.parquet").filter(pl.col("amount") > 10)
                .with_columns(total=pl.col("amount") + pl.col("k")))
    summary = [pl.len(), pl.col("id").sum().alias("ids"), pl.col("total").sum(), pl.col("id").min().alias("first"),
               pl.col("id").max().alias("last")]
    assert written.select(summary).collect().equals(expected.select(summary).collect())
    assert written.collect_schema() == expected.collect_schema()
