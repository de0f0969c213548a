"""`timeout:` on a call, and interrupted runs: a step that never returns never hangs the run.

An attempt that overruns its timeout is a failed attempt (retried, then handled with its rows); the
abandoned call's late result is discarded; `heddle run` with such a step finishes and exits; Ctrl-C ends a
run with exit status 130 and the run is recorded `interrupted`.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from heddle.cli.interrupt import INTERRUPTED_EXIT
from heddle_engine.events import NodeState
from heddle_engine.lineage import LineageStore
from tests.engine.conftest import WriteFiles
from tests.engine.running import Recorder, checked_plan, run_file

S = NodeState

PLUGIN = '''
import threading
import time

from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="slow")
CALLS = {"hang": 0}
RELEASE = threading.Event()  # set by a test when it is done: the abandoned calls return
LATE: list[int] = []  # attempts that returned after being abandoned


class Hang(StepConfig[None]):
    seconds: float = -1.0
    """How long an attempt takes; -1: until released."""
    hangs: int = 1000
    """How many attempts hang; the others return at once."""


@plugin.step(name="hang", passthrough=True)
def hang(config: Hang, input: Table) -> Table:
    CALLS["hang"] += 1
    number = CALLS["hang"]
    if number <= config.hangs:
        if config.seconds < 0:
            RELEASE.wait()
        else:
            time.sleep(config.seconds)
        LATE.append(number)
    return input
'''

HEADER = '''import "std/io" io
import "test/slow" slow

handler keep {
  *
    | io.write_csv { path: "out/handled.csv" }
}

'''

ROWS = "[{ id: 1 }, { id: 2 }, { id: 3 }]"


@pytest.fixture
def project(write_files: WriteFiles):  # type: ignore[no-untyped-def]
    def make(workflow: str) -> Path:
        root = write_files({"heddle.toml": '[modules]\n"test/slow" = "slow:plugin"\n', "slow.py": PLUGIN,
                            "main.he": HEADER + workflow})
        return root / "main.he"

    yield make
    module = sys.modules.get("slow")
    if module is not None:
        module.RELEASE.set()


def test_an_attempt_that_overruns_its_timeout_is_retried_then_handled_with_its_rows(project) -> None:  # type: ignore[no-untyped-def]
    main = project(f"workflow Hung ? keep {{\n  {ROWS}\n"
                   '    | slow.hang { timeout: "200ms", retry: { attempts: 2, delay: "10ms" } }\n    | io.print\n}\n')
    recorder = Recorder()
    started = time.monotonic()
    result = run_file(main, observers=[recorder])
    assert time.monotonic() - started < 20
    assert result.status == "succeeded", result.message  # the handler took the failure
    assert recorder.states("Hung", "n2") == [S.PENDING, S.RUNNING, S.RETRYING, S.RUNNING, S.FAILED, S.HANDLED]
    assert recorder.states("Hung", "n3") == [S.PENDING, S.SKIPPED]
    handled = pl.read_csv(main.parent / "out" / "handled.csv")
    assert handled["id"].to_list() == [1, 2, 3]  # the payload: every row of the attempt
    assert set(handled["error_type"]) == {"StepTimeoutError"} and set(handled["attempt"]) == {2}
    message = handled["error_msg"][0]
    assert "did not finish within its timeout of 200ms" in message and "[HR4005]" in message
    trace = handled["stack_trace"][0]
    assert "slow.py" in trace and "RELEASE.wait()" in trace  # where the call hung
    assert "heddle_engine" not in trace and "_bootstrap" not in trace
    assert any("`slow.hang` (2 calls)" in w and "still running" in w for w in result.warnings)


def test_a_timed_out_attempt_is_retried_like_a_timeout_error_and_its_late_result_discarded(project) -> None:  # type: ignore[no-untyped-def]
    main = project(f"workflow Once ? keep {{\n  {ROWS}\n"
                   '    | slow.hang { hangs: 1, seconds: 0.6, timeout: "150ms", retry: { attempts: 2, delay: "10ms", '
                   'on: ["TimeoutError"] } }\n    | io.write_csv { path: "out/done.csv", timeout: "30s" }\n}\n')
    result = run_file(main)
    assert result.status == "succeeded", result.message
    assert result.states[("Once", "n2")] == S.SUCCEEDED
    # written from the call's own thread, relative to the .he file's folder as every call is
    assert pl.read_csv(main.parent / "out" / "done.csv")["id"].to_list() == [1, 2, 3]
    assert not (main.parent / "out" / "handled.csv").exists()
    module = sys.modules["slow"]
    deadline = time.monotonic() + 10
    while not module.LATE and time.monotonic() < deadline:
        time.sleep(0.05)
    assert module.LATE == [1]  # the abandoned attempt returned later; nothing took its result
    assert result.rows[("Once", "n2")].output == 3


def test_the_timeout_is_on_the_plan(project) -> None:  # type: ignore[no-untyped-def]
    main = project(f"workflow W {{\n  {ROWS}\n    | slow.hang {{ timeout: \"2m\" }}\n}}\n")
    plan = checked_plan(main)
    node = plan.graph("W").node("n2")
    assert node.timeout == 120.0 and "timeout" not in node.config  # the function never sees it
    assert "timeout: 2m an attempt" in plan.explain()
    assert json.loads(plan.to_json())["graphs"][1]["nodes"][1]["timeout"] == 120.0


# --- the command: a hung step never hangs `heddle run` ----------------------------------------------


# `heddle` as a terminal starts it: a process started in the background may inherit SIGINT ignored.
_HEDDLE = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
           "from heddle.cli.main import main; sys.exit(main(sys.argv[1:]))")


def _heddle(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", _HEDDLE, *args], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_until_running(process: subprocess.Popen[str], label: str) -> list[str]:
    """Read `--progress jsonl` lines until the stage `label` is running; the lines read."""
    assert process.stderr is not None
    seen: list[str] = []
    for line in process.stderr:
        seen.append(line)
        event = json.loads(line) if line.startswith("{") else {}
        if event.get("event") == "node" and event.get("label") == label and event.get("state") == "running":
            return seen
    raise AssertionError("the stage never ran:\n" + "".join(seen))


def test_a_run_whose_step_never_returns_finishes_and_exits_with_a_timeout(project) -> None:  # type: ignore[no-untyped-def]
    main = project(f"workflow Hung ? keep {{\n  {ROWS}\n    | slow.hang {{ timeout: \"300ms\" }}\n    | io.print\n}}\n")
    process = _heddle("run", str(main), cwd=main.parent)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "failed, handled by keep" in err and "StepTimeoutError" in err
    assert "still running when the run ended: `slow.hang`" in err
    assert pl.read_csv(main.parent / "out" / "handled.csv")["id"].to_list() == [1, 2, 3]


def test_ctrl_c_lets_the_running_stage_finish_then_exits_130_and_records_the_run_interrupted(project) -> None:  # type: ignore[no-untyped-def]
    main = project(f"workflow Slow {{\n  {ROWS}\n    | slow.hang {{ seconds: 1.5 }}\n"
                   '    | io.write_csv { path: "out/never.csv" }\n}\n')
    process = _heddle("run", str(main), "--progress", "jsonl", cwd=main.parent)
    _wait_until_running(process, "slow.hang")
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == INTERRUPTED_EXIT, err
    assert "interrupted: no further stage starts" in err
    assert not (main.parent / "out" / "never.csv").exists()
    record = LineageStore(main.parent).runs()[0]
    assert record.status == "interrupted"
    stages = {(s.name.graph, s.name.label): s.state
              for s in LineageStore(main.parent).stages(record)}  # type: ignore[union-attr]
    assert stages[("Slow", "slow.hang")] == "succeeded" and stages[("Slow", "io.write_csv")] == "skipped"


def test_a_second_ctrl_c_quits_at_once_even_when_a_step_never_returns(project) -> None:  # type: ignore[no-untyped-def]
    main = project(f"workflow Forever {{\n  {ROWS}\n    | slow.hang\n    | io.print\n}}\n")
    process = _heddle("run", str(main), "--progress", "jsonl", cwd=main.parent)
    _wait_until_running(process, "slow.hang")
    process.send_signal(signal.SIGINT)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, err = process.communicate(timeout=60)
    assert process.returncode == INTERRUPTED_EXIT, err
    assert time.monotonic() - started < 4  # not the 5 s the stages would have had
    assert "stages still running were abandoned" in err
    assert LineageStore(main.parent).runs()[0].status == "interrupted"
