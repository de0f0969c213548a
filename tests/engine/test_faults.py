"""Fault injection: retries of the failing node only, failures on some rows, handlers that fail, no handler.

Every test accounts for every row: each input row is in the output, in a handler's input, or kept in the
run's result.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from heddle_engine.events import NodeState
from heddle_lang.plan import RetryPolicy
from tests.engine.conftest import WriteFiles
from tests.engine.running import Recorder, checked_plan, run_file, with_retry

S = NodeState

PLUGIN = '''
import polars as pl

from heddle.core.step import StepConfig
from heddle.core.table import RowErrors, Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="faults")
CALLS: dict[str, int] = {}


class Flaky(StepConfig[None]):
    failures: int = 0


@plugin.step(name="flaky", passthrough=True)
def flaky(config: Flaky, input: Table) -> Table:
    CALLS["flaky"] = CALLS.get("flaky", 0) + 1
    if CALLS["flaky"] <= config.failures:
        raise TimeoutError(f"attempt {CALLS['flaky']} timed out")
    return input


class Rows(Table):
    id: int


class Picky(StepConfig[None]):
    bad: list[int]


@plugin.step(name="picky", passthrough=True)
def picky(config: Picky, input: Rows) -> Table:
    frame = input.to_polars()
    bad = pl.col("id").is_in(config.bad)
    failed = frame.filter(bad)
    if failed.is_empty():
        return input
    reasons = [f"id {i} is not accepted" for i in failed["id"]]
    raise RowErrors(Table.from_polars(frame.filter(~bad)), Table.from_polars(failed), reasons)


@plugin.step(name="boom", passthrough=True)
def boom(config: dict, input: Table) -> Table:
    raise ValueError("boom")


@plugin.step(name="explode", passthrough=True)
def explode(config: dict, input: Table) -> Table:
    raise RuntimeError("the handler broke too")


@plugin.step(name="panic", passthrough=True)
def panic(config: dict, input: Table) -> Table:
    from polars.exceptions import PanicException

    raise PanicException("index out of bounds")  # what Polars raises when it panics: not an Exception
'''

HEADER = '''import "std/io" io
import "test/faults" faults

handler keep {
  *
    | io.write_csv { path: "out/handled.csv" }
}

handler broken {
  *
    | faults.explode
}

'''

ROWS = "[{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }, { id: 5 }]"


@pytest.fixture
def project(write_files: WriteFiles):  # type: ignore[no-untyped-def]
    def make(workflow: str) -> Path:
        root = write_files({"heddle.toml": '[modules]\n"test/faults" = "faults:plugin"\n', "faults.py": PLUGIN,
                            "main.he": HEADER + workflow})
        return root / "main.he"

    return make


def calls(path: Path) -> int:
    import sys

    module = sys.modules["faults"]
    assert str(path.parent) in str(module.__file__)
    return int(module.CALLS.get("flaky", 0))


def read(path: Path) -> pl.DataFrame:
    return pl.read_csv(path)


def test_a_retried_node_succeeds_and_nothing_upstream_runs_again(project) -> None:  # type: ignore[no-untyped-def]
    main = project(f"workflow Retry ? keep {{\n  {ROWS}\n    | faults.flaky {{ failures: 2 }}\n"
                   '    | io.write_csv { path: "out/retry.csv" }\n}\n')
    plan = with_retry(checked_plan(main), "faults.flaky", RetryPolicy(attempts=3, delay=0.001, jitter=0.5))
    recorder = Recorder()
    result = run_file(main, plan=plan, observers=[recorder])
    assert result.status == "succeeded", result.message
    assert calls(main) == 3
    assert recorder.states("Retry", "n2") == [S.PENDING, S.RUNNING, S.RETRYING, S.RUNNING, S.RETRYING, S.RUNNING,
                                              S.SUCCEEDED]
    assert recorder.states("Retry", "n1") == [S.PENDING, S.RUNNING, S.SUCCEEDED]  # the source ran once
    retrying = [e for e in recorder.events if e.state == S.RETRYING]
    assert [e.attempt for e in retrying] == [1, 2]
    assert retrying[0].error is not None and retrying[0].error.message == "attempt 1 timed out"
    assert read(main.parent / "out" / "retry.csv")["id"].to_list() == [1, 2, 3, 4, 5]


def test_exhausted_retries_go_to_the_handler_with_every_row(project) -> None:  # type: ignore[no-untyped-def]
    main = project(f"workflow Retry ? keep {{\n  {ROWS}\n    | faults.flaky {{ failures: 9 }}\n"
                   '    | io.write_csv { path: "out/retry.csv" }\n}\n')
    plan = with_retry(checked_plan(main), "faults.flaky", RetryPolicy(attempts=3, delay=0.001))
    recorder = Recorder()
    result = run_file(main, plan=plan, observers=[recorder])
    assert result.status == "succeeded"  # the handler took the failure
    assert calls(main) == 3
    assert recorder.states("Retry", "n2")[-2:] == [S.FAILED, S.HANDLED]
    assert recorder.states("Retry", "n3") == [S.PENDING, S.SKIPPED]
    handled = read(main.parent / "out" / "handled.csv")
    assert handled["id"].to_list() == [1, 2, 3, 4, 5]
    assert set(handled["attempt"]) == {3} and set(handled["error_type"]) == {"TimeoutError"}
    assert set(handled["error_msg"]) == {"attempt 3 timed out"} and set(handled["step"]) == {"faults.flaky"}
    assert not (main.parent / "out" / "retry.csv").exists()
    assert result.rows[("Retry", "n2")].failed == 5


@pytest.mark.parametrize(("on", "attempts"), [(("OSError",), 2), (("builtins.TimeoutError",), 2),
                                              (("ValueError",), 1)])
def test_retry_only_the_error_classes_named(project, on: tuple[str, ...], attempts: int) -> None:  # type: ignore[no-untyped-def]
    main = project(f"workflow Retry ? keep {{\n  {ROWS}\n    | faults.flaky {{ failures: 1 }}\n}}\n")
    plan = with_retry(checked_plan(main), "faults.flaky", RetryPolicy(attempts=2, delay=0.001, on=on))
    result = run_file(main, plan=plan)
    assert calls(main) == attempts
    assert result.states[("Retry", "n2")] == (S.SUCCEEDED if attempts == 2 else S.HANDLED)


def test_rows_a_step_rejects_go_to_the_handler_and_the_rest_go_on(project) -> None:  # type: ignore[no-untyped-def]
    main = project(f"workflow Picky ? keep {{\n  {ROWS}\n    | faults.picky {{ bad: [2, 4] }}\n"
                   '    | io.write_csv { path: "out/accepted.csv" }\n}\n')
    recorder = Recorder()
    result = run_file(main, observers=[recorder])
    assert result.status == "succeeded"
    accepted = read(main.parent / "out" / "accepted.csv")["id"].to_list()
    handled = read(main.parent / "out" / "handled.csv")
    assert accepted == [1, 3, 5]
    assert handled["id"].to_list() == [2, 4]
    assert handled["error_msg"].to_list() == ["id 2 is not accepted", "id 4 is not accepted"]
    assert set(handled["error_type"]) == {"RowErrors"}
    count = result.rows[("Picky", "n2")]
    assert (count.input, count.output, count.failed) == (5, 3, 2)
    assert sorted(accepted + handled["id"].to_list()) == [1, 2, 3, 4, 5]  # every row accounted for
    succeeded = [e for e in recorder.events if e.node_id == "n2" and e.state == S.SUCCEEDED]
    assert succeeded[0].rows == 3 and succeeded[0].error is not None  # it succeeded, with failed rows


def test_a_polars_panic_is_the_stages_failure_and_its_rows_go_to_the_handler(project) -> None:  # type: ignore[no-untyped-def]
    main = project(f"workflow Panic ? keep {{\n  {ROWS}\n    | faults.panic\n"
                   '    | io.write_csv { path: "out/panic.csv" }\n}\n')
    result = run_file(main)
    assert result.status == "succeeded", result.message  # the handler took it: the run was not interrupted
    handled = read(main.parent / "out" / "handled.csv")
    assert handled["id"].to_list() == [1, 2, 3, 4, 5]
    assert set(handled["error_type"]) == {"PolarsPanic"}
    assert set(handled["error_msg"]) == {"Polars panicked: index out of bounds [HR4008]"}
    assert result.rows[("Panic", "n2")].failed == 5


def test_a_handler_that_fails_fails_the_run_and_the_rows_are_kept(project) -> None:  # type: ignore[no-untyped-def]
    main = project(f"workflow Broken ? broken {{\n  {ROWS}\n    | faults.boom\n    | io.print\n}}\n")
    result = run_file(main)
    assert result.status == "failed"
    assert result.error is not None and result.error.step == "faults.explode"
    message = result.message or ""
    assert "faults.explode" in message and "handler `broken`" in message
    assert "while handling the failure of stage `faults.boom`" in message and "ValueError: boom" in message
    assert f"{main}:16:7" in message  # where `faults.boom` stands
    kept = pl.from_arrow(result.kept["Broken/n2"])
    assert kept["id"].to_list() == [1, 2, 3, 4, 5]  # nothing lost
    assert set(kept["error_msg"]) == {"boom"}
    assert result.states[("Broken", "n2")] == S.FAILED
    assert result.states[("Broken", "n3")] == S.SKIPPED
    assert result.states[("broken", "n2")] == S.FAILED


def test_without_a_handler_the_run_fails_naming_the_stage_and_its_place(project) -> None:  # type: ignore[no-untyped-def]
    main = project(f"workflow Bare {{\n  {ROWS}\n    | faults.boom\n    | io.print\n}}\n")
    result = run_file(main)
    assert result.status == "failed"
    assert result.message == f"stage `faults.boom` ({main}:16:7) failed: ValueError: boom"
    assert pl.from_arrow(result.kept["Bare/n2"])["id"].to_list() == [1, 2, 3, 4, 5]
    assert result.states[("Bare", "n3")] == S.SKIPPED


def test_a_handled_failure_skips_its_branch_and_the_others_go_on(project) -> None:  # type: ignore[no-untyped-def]
    main = project(f"workflow Branches ? keep {{\n  {ROWS}\n  > rows\n\n  rows\n    | faults.boom\n"
                   '    | io.write_csv { path: "out/never.csv" }\n\n  rows\n    | (from input filter id > 3)\n'
                   '    | io.write_csv { path: "out/kept.csv" }\n}\n')
    result = run_file(main)
    assert result.status == "succeeded"
    states = {node: result.states[("Branches", node)] for node in ("n2", "n3", "n4", "n5")}
    assert states == {"n2": S.HANDLED, "n3": S.SKIPPED, "n4": S.SUCCEEDED, "n5": S.SUCCEEDED}
    assert read(main.parent / "out" / "kept.csv")["id"].to_list() == [4, 5]
    assert read(main.parent / "out" / "handled.csv")["id"].to_list() == [1, 2, 3, 4, 5]
    assert not (main.parent / "out" / "never.csv").exists()
