"""Lineage under concurrent runs and sudden deaths: nothing recorded is lost, and the record never lies.

- Eviction in another process never takes a run still being recorded, not even while its folder is set up.
- A process that dies (`os._exit`) in a step leaves a record where every `succeeded` stage has its data,
  and `heddle replay --from` that step runs on the recorded inputs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from heddle_engine.lineage import LineageStore
from heddle_engine.lineage import recorder as recorder_module
from heddle_engine.lineage.eviction import evict
from heddle_engine.lineage.layout import STARTING_PREFIX
from tests.lineage.support import ORDERS, FakeRun, new_recorder, ok

REPO = Path(__file__).resolve().parents[2]


def test_a_run_being_set_up_or_recorded_is_never_evicted_by_a_concurrent_eviction(
        program: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = program.parent
    store = LineageStore(root)
    slow_write = recorder_module.write_json

    def write_json(path: Path, value: object, **options: bool) -> None:  # widen the window of the set-up
        threading.Event().wait(0.02)
        slow_write(path, value, **options)

    monkeypatch.setattr(recorder_module, "write_json", write_json)
    done = threading.Event()

    def evict_all_the_time() -> None:  # another process with a limit of one byte
        while not done.is_set():
            evict(store, 1, keep=None)

    evictor = threading.Thread(target=evict_all_the_time)
    evictor.start()
    try:
        for number in range(8):
            recorder = new_recorder(root)
            run = FakeRun(recorder, program, f"run-{number}").start()
            run.succeed("n1", ORDERS)
            folder = root / ".heddle" / "runs" / f"run-{number}"
            assert folder.is_dir(), f"run-{number} was evicted while recorded"
            run.finish()
            assert recorder.problem is None, recorder.problem
    finally:
        done.set()
        evictor.join()
    assert not [p for p in (root / ".heddle" / "runs").iterdir() if p.name.startswith(STARTING_PREFIX)]


SCRIPT = """
import sys
from heddle_engine.lineage import LineageRecorder
from tests.lineage.support import FakeRun, catalog_of
from pathlib import Path

program, name, runs, limit = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
problems = []
for number in range(runs):
    recorder = LineageRecorder(program.parent, limit, catalog=catalog_of(program))
    FakeRun(recorder, program, f"{name}-{number}").whole()
    if recorder.problem is not None:
        problems.append(str(recorder.problem))
print(problems)
"""


def test_concurrent_processes_with_eviction_lose_no_run_they_record(program: Path) -> None:
    root = program.parent
    FakeRun(new_recorder(root), program, "sizing").whole()
    one_run = ok(LineageStore(root).find("sizing")).size
    processes = [subprocess.Popen([sys.executable, "-c", SCRIPT, str(program), f"p{index}", "6", str(one_run * 3)],
                                  cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for index in range(4)]
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        assert out.strip() == "[]", out  # every run each process recorded was whole while it recorded it
    runs = LineageStore(root).runs()
    assert runs and all(r.status == "succeeded" for r in runs)  # what is left is whole; nothing reads crashed


CRASHING = '''\
import os

from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="crash")


class Crash(StepConfig[None]):
    die: bool = False


@plugin.step(name="maybe", passthrough=True)
def maybe(config: Crash, input: Table) -> Table:
    if config.die:
        os._exit(3)  # the process dies on the spot: no cleanup, no flush
    return input
'''

WORKFLOW = '''\
import "std/io" io
import "test/crash" crash

workflow Dies {
  [
    { id: 1, amount: 120.5 },
    { id: 2, amount: 15000.0 },
    { id: 3, amount: 20.0 },
  ]
    | (from input filter amount > 100)
    | (from input derive {double = amount * 2})
    | crash.maybe { die: true }
    | io.write_csv { path: "out/after.csv" }
}
'''


def _heddle(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "heddle.cli.main", *args], check=False, cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_a_stage_is_recorded_succeeded_only_with_its_data_and_replay_works_after_a_crash(tmp_path: Path) -> None:
    (tmp_path / "heddle.toml").write_text('[modules]\n"test/crash" = "crashing:plugin"\n', encoding="utf-8")
    (tmp_path / "crashing.py").write_text(CRASHING, encoding="utf-8")
    main = tmp_path / "main.he"
    main.write_text(textwrap.dedent(WORKFLOW), encoding="utf-8")
    died = _heddle("run", str(main), cwd=tmp_path)
    assert died.returncode == 3, died.stderr
    store = LineageStore(tmp_path)
    crashed = store.runs()[0]
    assert crashed.status == "crashed"
    stages = ok(store.stages(crashed))
    succeeded = [s for s in stages if s.state == "succeeded"]
    assert [s.name.label for s in succeeded] == ["[3 rows]", "(from input filter amount > 100)",
                                                 "(from input derive {double = amount * 2})"]
    for stage in succeeded:  # the record says succeeded only where the data is there
        assert stage.output is not None and ok(store.table(crashed, stage)).num_rows == stage.rows
    assert {s.name.label: s.state for s in stages}["crash.maybe"] == "running"

    main.write_text(main.read_text().replace("die: true", "die: false"), encoding="utf-8")  # the fix
    replayed = _heddle("replay", crashed.run_id, "--from", "crash.maybe", "--project", str(tmp_path), cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stderr
    assert (tmp_path / "out" / "after.csv").read_text().splitlines()[1:] == ["1,120.5,241.0", "2,15000.0,30000.0"]
    replay = store.runs()[0]
    assert replay.replay_of == crashed.run_id and replay.status == "succeeded"
    events = [json.loads(line) for line in (replay.folder / "events.jsonl").read_text().splitlines()]
    assert events[-1]["event"] == "run_finished"
