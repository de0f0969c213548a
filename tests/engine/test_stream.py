"""The engine's stream mode, on a test stream source: batches through the DAG, committed only when done."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from heddle_engine.catalog import load_catalog
from heddle_engine.events import BatchEvent
from heddle_engine.execute import Interrupt, StreamLimits, lower
from heddle_engine.execute.functions import Functions
from tests.engine.conftest import WriteFiles
from tests.engine.running import Recorder, checked_plan, run_file
from tests.projects import run_command
from tests.tied import tied

PLUGIN = '''
import json
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from heddle.core.step import StepConfig
from heddle.core.stream import Batch
from heddle.core.table import RowErrors, Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="t")


class Tick(Table):
    id: int
    amount: float


class TicksConfig(StepConfig[None]):
    batches: int = 3
    rows: int = 4
    empty_after: bool = False
    log: str = "log.jsonl"


def note(path: str, **record: object) -> None:
    with (Path(__file__).parent / path).open("a") as log:
        log.write(json.dumps(record) + "\\n")


@plugin.step(name="ticks", stream=True)
def ticks(config: TicksConfig) -> Iterator[Tick]:
    """`batches` batches of `rows` rows; each commit is logged; then empty batches when `empty_after`."""
    try:
        for number in range(config.batches):
            ids = list(range(number * config.rows, (number + 1) * config.rows))
            frame = pl.DataFrame({"id": ids, "amount": [float(i * 10) for i in ids]})
            yield Batch(Tick.from_polars(frame), commit=lambda n=number: note(config.log, commit=n), lag=7)
        while config.empty_after:
            yield pl.DataFrame({"id": [], "amount": []}, schema={"id": pl.Int64, "amount": pl.Float64})
    finally:
        note(config.log, closed=True)


class LogConfig(StepConfig[None]):
    log: str = "log.jsonl"
    fail_on: int = -1
    sleep: float = 0.0


@plugin.step(name="sink", passthrough=True)
def sink(config: LogConfig, input: Table) -> Table:
    ids = input.to_polars()["id"].to_list()
    if config.fail_on in ids:
        raise RuntimeError(f"the sink refuses {config.fail_on}")
    if config.sleep:
        note(config.log, sinking=sorted(ids))
        time.sleep(config.sleep)
    note(config.log, sink=sorted(ids))
    return input


@plugin.step(name="odd_fail", passthrough=True)
def odd_fail(config: LogConfig, input: Table) -> Table:
    frame = input.to_polars()
    bad = frame.filter(pl.col("id") % 2 == 1)
    if bad.height:
        raise RowErrors(Table.from_polars(frame.filter(pl.col("id") % 2 == 0)), Table.from_polars(bad), "odd")
    return input


@plugin.step(name="reference")
def reference(config: LogConfig) -> Table:
    note(config.log, reference=True)
    return Table.from_polars(pl.DataFrame({"id": list(range(100)), "tier": [i % 3 for i in range(100)]}))
'''

FLOW = '''import "test/t" t

handler to_dlq {
  *
    | t.sink { log: "dlq.jsonl" }
}

workflow Live ? to_dlq {
  t.reference
  > tiers

  t.ticks { batches: 3, rows: 4 }
    | (from input filter amount >= 10)
    | t.odd_fail ? to_dlq
    | (from input join tiers (==id))
    | t.sink
}
'''


def _log(root: Path, name: str = "log.jsonl") -> list[dict[str, object]]:
    path = root / name
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def project(write_files: WriteFiles) -> Path:
    return write_files({"heddle.toml": '[modules]\n"test/t" = "plug:plugin"\n', "plug.py": PLUGIN,
                        "live.he": FLOW})


class Batches(Recorder):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[BatchEvent] = []

    def batch_event(self, event: BatchEvent) -> None:
        self.batches.append(event)


def test_every_batch_runs_the_dag_and_is_committed_after_its_sinks(project: Path) -> None:
    recorder = Batches()
    result = run_file(project / "live.he", observers=[recorder])
    assert result.status == "succeeded", result.message
    assert result.batches == 3
    log = _log(project)
    # the reference table is read once; each batch's sink (and handler) runs before its commit; closed last
    assert log[0] == {"reference": True}
    sinks_and_commits = [r for r in log[1:] if "sink" in r or "commit" in r]
    assert sinks_and_commits == [{"sink": [2]}, {"commit": 0}, {"sink": [4, 6]}, {"commit": 1},
                                 {"sink": [8, 10]}, {"commit": 2}]
    assert log[-1] == {"closed": True}
    # every row is accounted for: id 0 filtered out, odd ids in the DLQ, even ids in the sink
    dlq = [i for r in _log(project, "dlq.jsonl") for i in r["sink"]]
    assert sorted(dlq) == [1, 3, 5, 7, 9, 11]
    assert [(b.number, b.state, b.rows, b.lag) for b in recorder.batches] == [
        (1, "started", 4, 7), (1, "committed", 4, 7), (2, "started", 4, 7), (2, "committed", 4, 7),
        (3, "started", 4, 7), (3, "committed", 4, 7)]
    source = next(n for n in checked_plan(project / "live.he").graph("Live").nodes if n.label == "t.ticks")
    assert result.rows[("Live", source.id)].output == 12  # row counts add up over the batches


def test_a_batch_whose_handler_fails_is_not_committed_and_stops_the_stream(project: Path) -> None:
    flow = FLOW.replace('t.sink { log: "dlq.jsonl" }', 't.sink { log: "dlq.jsonl", fail_on: 5 }')
    (project / "live.he").write_text(flow)
    recorder = Batches()
    result = run_file(project / "live.he", observers=[recorder])
    assert result.status == "failed"
    assert "refuses 5" in (result.message or "")
    commits = [r["commit"] for r in _log(project) if "commit" in r]
    assert commits == [0]  # batch 2 (ids 4-7, with 5) is not committed: it is delivered again
    assert [(b.number, b.state) for b in recorder.batches][-1] == (2, "failed")
    assert _log(project)[-1] == {"closed": True}


def test_a_failing_sink_without_a_handler_leaves_its_batch_uncommitted(project: Path) -> None:
    flow = FLOW.replace("workflow Live ? to_dlq {", "workflow Live {").replace(
        "    | t.sink\n}", '    | t.sink { fail_on: 10 }\n}')
    (project / "live.he").write_text(flow)
    result = run_file(project / "live.he")
    assert result.status == "failed"
    assert [r["commit"] for r in _log(project) if "commit" in r] == [0, 1]
    assert result.batches == 3


def test_max_batches_and_until_idle_end_a_stream(project: Path) -> None:
    flow = FLOW.replace("t.ticks { batches: 3, rows: 4 }", "t.ticks { batches: 5, rows: 2, empty_after: true }")
    (project / "live.he").write_text(flow)
    result = run_file(project / "live.he", stream=StreamLimits(max_batches=2))
    assert result.status == "succeeded" and result.batches == 2
    assert [r["commit"] for r in _log(project) if "commit" in r] == [0, 1]
    (project / "log.jsonl").unlink()
    result = run_file(project / "live.he", stream=StreamLimits(until_idle=0.2))
    assert result.status == "succeeded" and result.batches == 5
    assert [r["commit"] for r in _log(project) if "commit" in r] == [0, 1, 2, 3, 4]


def test_a_drained_stream_commits_the_batch_in_flight_and_a_second_interrupt_does_not(project: Path) -> None:
    flow = FLOW.replace("t.ticks { batches: 3, rows: 4 }", "t.ticks { batches: 5, rows: 2 }")
    (project / "live.he").write_text(flow)
    interrupt = Interrupt()

    class DrainAtFirst(Batches):
        def batch_event(self, event: BatchEvent) -> None:
            super().batch_event(event)
            if event.state == "started" and event.number == 1:
                interrupt()

    result = run_file(project / "live.he", observers=[DrainAtFirst()], interrupt=interrupt)
    assert result.status == "succeeded" and result.batches == 1
    assert [r["commit"] for r in _log(project) if "commit" in r] == [0]
    (project / "log.jsonl").unlink()

    interrupt = Interrupt()

    class StopAtSecond(Batches):
        def batch_event(self, event: BatchEvent) -> None:
            super().batch_event(event)
            if event.state == "started" and event.number == 2:
                interrupt()
                interrupt()

    result = run_file(project / "live.he", observers=[StopAtSecond()], interrupt=interrupt)
    assert result.status == "interrupted"
    assert [r["commit"] for r in _log(project) if "commit" in r] == [0]


def test_stream_sources_are_refused_where_they_cannot_run(project: Path) -> None:
    two = FLOW.replace("  t.reference\n  > tiers\n", "  t.ticks\n    | t.sink\n\n  t.reference\n  > tiers\n")
    (project / "two.he").write_text(two)
    plan = checked_plan(project / "two.he")
    lowered = lower(plan, "Live", Functions(load_catalog(project / "two.he")))
    assert [e.code for e in lowered.errors] == ["HR2006"]
    assert "several stream sources" in lowered.errors[0].message


def test_a_declared_stream_source_must_be_a_generator() -> None:
    from heddle.core.step import StepConfig
    from heddle.core.table import Table
    from heddle.sdk.plugin import Plugin

    plugin = Plugin(namespace="bad")

    @plugin.step(name="once", stream=True)
    def once(config: StepConfig[None]) -> Iterator[Table]:
        return iter(())

    with pytest.raises(TypeError, match="must be a generator function"):
        plugin.spec("bad/once")
    other = Plugin(namespace="bad")

    @other.step(name="table", stream=True)
    def table(config: StepConfig[None]) -> Table:
        yield from ()

    with pytest.raises(TypeError, match=r"annotate it `-> Iterator\[Table\]`"):
        other.spec("bad/table")


def test_heddle_run_on_a_stream_prints_batches_and_takes_max_batches(project: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "heddle.cli.main", "run", "live.he", "--max-batches", "2",
                           "--progress", "jsonl", "--no-lineage", "--format", "json"],
                          check=False, cwd=project, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "succeeded" and report["batches"] == 2
    events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    batches = [(e["batch"], e["state"]) for e in events if e["event"] == "batch"]
    assert batches == [(1, "started"), (1, "committed"), (2, "started"), (2, "committed")]
    bad = subprocess.run([sys.executable, "-m", "heddle.cli.main", "run", "live.he", "--until-idle", "soon"],
                         check=False, cwd=project, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "a duration is a number with a unit" in bad.stderr


def test_a_streams_batches_are_recorded_as_segments_and_the_oldest_evicted(project: Path) -> None:
    (project / "heddle.toml").write_text('[modules]\n"test/t" = "plug:plugin"\n\n[lineage]\nlimit = "3KiB"\n')
    done = subprocess.run([sys.executable, "-m", "heddle.cli.main", "run", "live.he"], check=False, cwd=project,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "batch 3 committed: 4 rows" in done.stderr
    assert "3 batches committed" in done.stderr

    def inspect(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "heddle.cli.main", "inspect", "last", *args, "--format", "json"],
                              check=False, cwd=project, capture_output=True, text=True, timeout=120)

    sink = json.loads(inspect("--batch", "3", "--stage", "t.sink").stdout)
    assert sorted(row["id"] for row in sink) == [8, 10]
    stages = {s["label"]: s for s in json.loads(inspect("--batch", "3").stdout)["stages"]}
    assert stages["t.ticks"]["rows"] == 4 and stages["t.reference"]["rows"] == 100  # once per run, as it ran
    evicted = inspect("--batch", "1", "--stage", "t.sink")  # past the 3 KiB limit: the oldest batch went
    assert evicted.returncode != 0 and "no data" in evicted.stderr
    missing = inspect("--batch", "9")
    assert missing.returncode != 0 and "has no batch 9: it recorded batches 1 to 3" in missing.stderr


HIERARCHY = '''import "test/t" t

handler to_dlq {
  *
    | t.sink { log: "dlq.jsonl", fail_on: OUTER }
}

handler step_trap {
  *
    | t.sink { log: "step.jsonl", fail_on: 1 }
}

workflow Finite ? to_dlq {
  [{ id: 1, amount: 1.0 }, { id: 2, amount: 2.0 }, { id: 3, amount: 3.0 }]
    | t.odd_fail ? step_trap
    | t.sink
}
'''


def test_a_failing_step_handler_goes_up_to_the_workflow_handler_with_both_errors(project: Path) -> None:
    (project / "h.he").write_text(HIERARCHY.replace("OUTER", "-1"))
    recorder = Batches()
    result = run_file(project / "h.he", observers=[recorder])
    assert result.status == "succeeded", result.message
    assert _log(project, "step.jsonl") == []  # the step's handler failed on row 1
    assert [r["sink"] for r in _log(project, "dlq.jsonl")] == [[1, 3]]  # the original payload, upstairs
    assert _log(project)[-1] == {"sink": [2]}


def test_when_the_workflow_handler_fails_too_the_run_fails_saying_so(project: Path) -> None:
    (project / "h.he").write_text(HIERARCHY.replace("OUTER", "3"))
    result = run_file(project / "h.he")
    assert result.status == "failed"
    message = result.message or ""
    assert "the sink refuses 3" in message and "handler `step_trap` failed too" in message
    assert "the sink refuses 1" in message
    assert result.kept  # the failed rows are kept in the result, not lost


def _heddle(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "heddle.cli.main", *args], check=False, cwd=project,
                          capture_output=True, text=True, timeout=120)


def test_a_failed_batch_is_replayed_from_a_stage_once_the_file_is_fixed(project: Path) -> None:
    flow = FLOW.replace("workflow Live ? to_dlq {", "workflow Live {").replace(
        "    | t.sink\n}", '    | t.sink { fail_on: 10 }\n}')
    (project / "live.he").write_text(flow)
    failed = _heddle(project, "run", "live.he")
    assert failed.returncode == 1 and "the sink refuses 10" in failed.stderr
    assert [r["commit"] for r in _log(project) if "commit" in r] == [0, 1]  # batch 3 is not committed
    run_id = json.loads(_heddle(project, "inspect", "last", "--format", "json").stdout)["run"]["id"]
    (project / "live.he").write_text(flow.replace(" { fail_on: 10 }", ""))  # the fix
    (project / "log.jsonl").unlink()
    (project / "dlq.jsonl").unlink()

    done = _heddle(project, "replay", run_id, "--batch", "3", "--from", "t.sink")
    assert done.returncode == 0, done.stderr
    assert f"a replay of {run_id} batch 3 from " in done.stderr and done.stderr.rstrip().endswith("succeeded")
    # batch 3's rows, read from the recording: the source is neither opened nor committed, the filter and
    # the step before the sink do not run again (their DLQ stays empty)
    assert _log(project) == [{"sink": [8, 10]}]
    assert _log(project, "dlq.jsonl") == []
    replay = json.loads(_heddle(project, "inspect", "last", "--format", "json").stdout)
    assert (replay["run"]["replay_of"], replay["run"]["replay_batch"]) == (run_id, 3)
    states = {s["label"]: (s["state"], s["from_recording"]) for s in replay["stages"] if s["graph"] == "Live"}
    assert states["t.ticks"] == ("skipped", False) and states["t.sink"] == ("succeeded", False)
    assert states["(from input join tiers (==id))"] == ("succeeded", True)
    assert "a replay of " + run_id + " batch 3 from" in _heddle(project, "inspect", "last").stdout

    # the reference table, run once per run, is replayed too: its recorded output and batch 2's rows
    again = _heddle(project, "replay", run_id, "--batch", "2", "--from", "t.reference")
    assert again.returncode == 0, again.stderr
    assert _log(project)[1:] == [{"reference": True}, {"sink": [4, 6]}]


def test_a_stream_replay_is_refused_without_a_batch_it_can_read(project: Path) -> None:
    (project / "heddle.toml").write_text('[modules]\n"test/t" = "plug:plugin"\n\n[lineage]\nlimit = "3KiB"\n')
    assert _heddle(project, "run", "live.he").returncode == 0
    run_id = json.loads(_heddle(project, "inspect", "last", "--format", "json").stdout)["run"]["id"]
    ran = _log(project)

    def refused(*args: str) -> str:
        done = _heddle(project, "replay", run_id, *args)
        assert done.returncode == 2, done.stderr
        return done.stderr

    assert "is a stream: replay one of its batches with --batch N (it recorded batches 1 to 3)" in refused(
        "--from", "t.sink")
    assert "has no batch 9: it recorded batches 1 to 3" in refused("--batch", "9", "--from", "t.sink")
    assert "would read the stream `t.ticks` again: a replay starts downstream of the stream source" in refused(
        "--batch", "3", "--from", "t.ticks")
    assert "batch 1 of run " + run_id + " was deleted under the project's [lineage] limit" in refused(
        "--batch", "1", "--from", "t.sink")
    assert "expected a batch number (1 or more)" in refused("--batch", "0", "--from", "t.sink")
    assert _log(project) == ran  # no refused replay ran anything: the source was not opened


def test_heddle_run_on_a_stream_drains_at_the_first_signal_and_quits_at_the_second(project: Path) -> None:
    flow = FLOW.replace("    | t.sink\n}", "    | t.sink { sleep: SLEEP }\n}")
    (project / "live.he").write_text(flow.replace("SLEEP", "1.5"))
    first = subprocess.Popen(tied(run_command("live.he")), cwd=project, stderr=subprocess.PIPE, text=True)
    _wait_for(project, "sinking")
    first.send_signal(signal.SIGTERM)  # the batch in flight finishes and is committed, then the run ends
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert [r["commit"] for r in _log(project) if "commit" in r] == [0]
    assert _log(project)[-1] == {"closed": True}
    (project / "log.jsonl").unlink()

    (project / "live.he").write_text(flow.replace("SLEEP", "600"))
    second = subprocess.Popen(tied(run_command("live.he")), cwd=project, stderr=subprocess.PIPE, text=True)
    _wait_for(project, "sinking")
    second.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    second.send_signal(signal.SIGTERM)  # at once, the batch in flight (its sink asleep) left uncommitted
    _, err = second.communicate(timeout=60)
    assert second.returncode == 130, err
    assert not any("commit" in r for r in _log(project))


def _wait_for(project: Path, key: str) -> None:
    deadline = time.monotonic() + 60
    while not any(key in r for r in _log(project)):
        assert time.monotonic() < deadline, f"no {key} in the log within 60 s"
        time.sleep(0.05)
