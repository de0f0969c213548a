"""The recorder against a fake run: what it writes, and what survives a crash."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa

from heddle_engine.events import NodeState
from heddle_engine.lineage import LineageStore
from heddle_engine.lineage.errors import BAD_NAME, WRITE_FAILED
from tests.lineage.support import LARGE, ORDERS, FakeRun, error, new_recorder, ok


def read_ipc(path: Path) -> pa.Table:
    with pa.OSFile(str(path)) as source:
        return pa.ipc.open_file(source).read_all()


def test_a_run_writes_its_plan_events_outputs_and_status(program: Path) -> None:
    root = program.parent
    FakeRun(new_recorder(root), program, "run-1", parameters={"day": "2025-01-01"}).whole()
    folder = root / ".heddle" / "runs" / "run-1"
    assert sorted(p.name for p in folder.iterdir()) == ["events.jsonl", "outputs", "plan.json", "run.json"]
    head = json.loads((folder / "run.json").read_text())
    assert head["status"] == "succeeded" and head["workflow"] == "Orders" and head["file"] == str(program)
    assert head["path"] == str(program.resolve()) and head["parameters"] == {"day": "2025-01-01"}
    assert head["rows"] == 3 + 2 + 2 + 2 and head["bytes"] > 0
    plan = json.loads((folder / "plan.json").read_text())
    assert [g["name"] for g in plan["graphs"]] == ["report", "Orders"]
    outputs = sorted(p.relative_to(folder / "outputs").as_posix() for p in (folder / "outputs").rglob("*.arrow"))
    assert outputs == ["Orders/n1.arrow", "Orders/n2.arrow", "Orders/n3.arrow", "Orders/n4.arrow"]
    assert read_ipc(folder / "outputs" / "Orders" / "n1.arrow").equals(ORDERS)
    events = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    assert events[0]["event"] == "run_started" and events[-1] == {**events[-1], "event": "run_finished",
                                                                   "status": "succeeded"}
    n2 = [e for e in events if e.get("node") == "n2"]
    # `succeeded` is logged once the stage's data is written: never before its output
    assert [e.get("state", e["event"]) for e in n2] == ["running", "output", "succeeded"]
    assert n2[1]["rows"] == 2 and n2[1]["schema"] == [
        {"name": "id", "type": "Int64"}, {"name": "customer", "type": "String"}, {"name": "amount", "type": "Float64"}]
    assert n2[2]["seconds"] == 0.01
    assert not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def test_the_store_reads_a_run_back_stage_by_stage(program: Path) -> None:
    root = program.parent
    run = FakeRun(new_recorder(root), program, "run-2").start()
    run.succeed("n1", ORDERS)
    run.succeed("n2", LARGE)
    run.fail("n3", error("vault unreachable"))
    run.event("n4", NodeState.SKIPPED, attempt=0)
    run.succeed("n1", pa.table({"error_msg": ["vault unreachable"], "id": [1]}), graph="report")
    run.event("n2", NodeState.FAILED, graph="report", failure=error("stderr closed", step="io.stderr"))
    run.finish("failed", error("vault unreachable"))
    store = LineageStore(root)
    record = ok(store.find("last"))
    assert record.status == "failed" and record.error is not None and record.error["message"] == "vault unreachable"
    stages = ok(store.stages(record))
    summary = {s.name.qualified: (s.state, s.rows, s.output is not None) for s in stages}
    assert summary == {
        "Orders/n1": ("succeeded", 3, True), "Orders/n2": ("succeeded", 2, True),
        "Orders/n3": ("failed", None, False), "Orders/n4": ("skipped", None, False),
        "report/n1": ("succeeded", 1, True), "report/n2": ("failed", None, False),
    }
    failed = next(s for s in stages if s.name.qualified == "Orders/n3")
    assert failed.error is not None and failed.error["type"] == "RuntimeError" and failed.attempts == 1
    assert [s.name.assigned for s in stages[:3]] == [("orders",), (), ("masked",)]


def test_a_crash_mid_run_leaves_the_stages_before_it_readable(program: Path) -> None:
    root = program.parent
    FakeRun(new_recorder(root), program, "earlier").whole()
    recorder = new_recorder(root)
    run = FakeRun(recorder, program, "crashed").start()
    run.succeed("n1", ORDERS)
    run.succeed("n2", LARGE)
    run.event("n3", NodeState.RUNNING)
    recorder.flush()
    # The process dies here: no run_finished. What it was writing when it died: a temporary output file
    # and the first half of an event line.
    folder = root / ".heddle" / "runs" / "crashed"
    (folder / "outputs" / "Orders" / ".n3.arrow.0123456789ab.tmp").write_bytes(b"ARROW1\0\0half")
    with open(folder / "events.jsonl", "ab") as log:
        log.write(b'{"event":"output","graph":"Orders","no')
    head = json.loads((folder / "run.json").read_text())
    head["pid"] = _dead_pid()
    (folder / "run.json").write_text(json.dumps(head))

    store = LineageStore(root)
    assert [(r.run_id, r.status) for r in store.runs()] == [("crashed", "crashed"), ("earlier", "succeeded")]
    record = ok(store.find("crash"))
    assert record.rows == 5 and record.seconds is not None
    stages = {s.name.qualified: s for s in ok(store.stages(record))}
    assert stages["Orders/n3"].state == "running" and stages["Orders/n3"].output is None
    assert ok(store.table(record, stages["Orders/n2"])).equals(LARGE)


def test_a_running_run_of_a_live_process_is_running(program: Path) -> None:
    root = program.parent
    FakeRun(new_recorder(root), program, "now").start()  # this process is alive
    assert [r.status for r in LineageStore(root).runs()] == ["running"]


def test_a_handler_stage_that_runs_twice_keeps_the_rows_of_both(program: Path) -> None:
    root = program.parent
    run = FakeRun(new_recorder(root), program, "twice").start()
    run.succeed("n1", pa.table({"error_msg": ["first"], "id": [1]}), graph="report")
    run.succeed("n1", pa.table({"error_msg": ["second"], "amount": [2.5]}), graph="report")
    run.finish()
    table = read_ipc(root / ".heddle" / "runs" / "twice" / "outputs" / "report" / "n1.arrow")
    assert table.to_pylist() == [{"error_msg": "first", "id": 1, "amount": None},
                                 {"error_msg": "second", "id": None, "amount": 2.5}]


def test_string_views_are_written_in_plain_layout_holding_only_their_rows(program: Path) -> None:
    root = program.parent
    big = pa.table({"text": pa.array([f"row {i} " + "x" * 50 for i in range(20_000)], pa.string_view())})
    run = FakeRun(new_recorder(root), program, "views").start()
    run.succeed("n2", big.slice(0, 10))  # a slice of views still points at all 20,000 rows' bytes
    run.finish()
    path = root / ".heddle" / "runs" / "views" / "outputs" / "Orders" / "n2.arrow"
    stored = read_ipc(path)
    assert stored.schema.field("text").type == pa.large_string()
    assert stored.column("text").to_pylist() == big.column("text").to_pylist()[:10]
    assert path.stat().st_size < 10_000


def test_a_run_id_that_cannot_be_a_folder_is_not_recorded(program: Path) -> None:
    root = program.parent
    recorder = new_recorder(root)
    FakeRun(recorder, program, "../escape").whole()
    assert recorder.problem is not None and recorder.problem.code == BAD_NAME
    assert not (root / ".heddle" / "escape").exists() and LineageStore(root).runs() == []


def test_a_failure_to_write_is_a_problem_not_an_exception(program: Path) -> None:
    root = program.parent
    (root / ".heddle").write_text("a file where the lineage folder should be")
    recorder = new_recorder(root)
    FakeRun(recorder, program, "blocked").whole()  # nothing raises into the executor
    assert recorder.problem is not None and recorder.problem.code == WRITE_FAILED
    assert "lineage could not be recorded" in recorder.problem.message


def test_a_write_failing_mid_run_leaves_a_gap_not_an_exception(program: Path) -> None:
    root = program.parent
    recorder = new_recorder(root)
    run = FakeRun(recorder, program, "cut").start()
    run.succeed("n1", ORDERS, graph="report")
    (root / ".heddle" / "runs" / "cut" / "outputs" / "Orders" / "n1.arrow").mkdir(parents=True)  # in the way
    run.succeed("n1", ORDERS)  # its output cannot be written
    run.succeed("n2", LARGE)
    run.finish()
    assert recorder.problem is not None and recorder.problem.code == WRITE_FAILED
    record = ok(LineageStore(root).find("cut"))
    assert record.status == "succeeded" and record.incomplete == recorder.problem.message
    stages = {s.name.qualified: s for s in ok(LineageStore(root).stages(record))}
    assert stages["report/n1"].output is not None and stages["Orders/n1"].output is None
    assert stages["Orders/n1"].state == "succeeded" and stages["Orders/n2"].output is not None  # the rest is


def _dead_pid() -> int:
    """A process id no process has (a child that has exited and been reaped)."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid
