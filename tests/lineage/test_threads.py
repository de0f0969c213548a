"""Observers are called from the executor's threads: nothing recorded is lost or garbled."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pyarrow as pa
import pytest

from heddle_engine.events import NodeState
from heddle_engine.lineage import recorder as recorder_module
from tests.lineage.support import LARGE, ORDERS, FakeRun, new_recorder

THREADS = 8
NODES = 10  # per thread


def test_events_and_outputs_from_many_threads_are_all_recorded(program: Path) -> None:
    root = program.parent
    recorder = new_recorder(root)
    run = FakeRun(recorder, program, "parallel").start()
    barrier = threading.Barrier(THREADS)

    def work(worker: int) -> None:
        barrier.wait()
        for index in range(NODES):
            node = f"w{worker}x{index}"
            run.succeed(node, pa.table({"worker": [worker] * (index + 1), "text": ["x" * 100] * (index + 1)}))
            run.succeed("n1", pa.table({"error_msg": [node]}), graph="report")  # one stage, many writers

    threads = [threading.Thread(target=work, args=(w,)) for w in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run.finish()
    assert recorder.problem is None

    folder = root / ".heddle" / "runs" / "parallel"
    lines = (folder / "events.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]  # every line whole
    per_node = 3  # running, output, succeeded
    assert len(events) == 2 + THREADS * NODES * 2 * per_node
    assert sum(1 for e in events if e.get("state") == NodeState.SUCCEEDED) == THREADS * NODES * 2
    for worker in range(THREADS):
        for index in range(NODES):
            with pa.OSFile(str(folder / "outputs" / "Orders" / f"w{worker}x{index}.arrow")) as source:
                assert pa.ipc.open_file(source).read_all().num_rows == index + 1
    with pa.OSFile(str(folder / "outputs" / "report" / "n1.arrow")) as source:
        handled = pa.ipc.open_file(source).read_all()
    assert sorted(handled.column("error_msg").to_pylist()) == sorted(
        f"w{w}x{i}" for w in range(THREADS) for i in range(NODES))
    head = json.loads((folder / "run.json").read_text())
    assert head["rows"] == THREADS * sum(range(1, NODES + 1)) + THREADS * NODES


def test_outputs_waiting_for_the_writer_are_capped(program: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = threading.Event()
    write = recorder_module.write_table

    def slow_write(path: Path, table: pa.Table) -> int:
        gate.wait(10)
        return write(path, table)

    monkeypatch.setattr(recorder_module, "PENDING_BYTES", 1)
    monkeypatch.setattr(recorder_module, "write_table", slow_write)
    root = program.parent
    recorder = new_recorder(root)
    run = FakeRun(recorder, program, "capped").start()
    recorder.node_output("Orders", "n1", ORDERS)  # taken at once: nothing was waiting
    second = threading.Thread(target=recorder.node_output, args=("Orders", "n2", LARGE))
    second.start()
    second.join(0.5)
    assert second.is_alive()  # the executor's thread waits for the writer
    gate.set()
    second.join(10)
    assert not second.is_alive()
    run.finish()
    outputs = root / ".heddle" / "runs" / "capped" / "outputs" / "Orders"
    assert sorted(p.name for p in outputs.iterdir()) == ["n1.arrow", "n2.arrow"]
