"""The executor: concurrency, sharing, contracts, resources and secrets, observers, fused blocks."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest

from heddle_engine.events import NodeState
from heddle_engine.execute import RunRefused
from tests.engine.conftest import WriteFiles
from tests.engine.running import Recorder, run_file

S = NodeState

PLUGIN = '''
import threading
from typing import Annotated

import polars as pl

from heddle.core.resource import Resource, ResourceConfig, Secret
from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="t")
BARRIER = threading.Barrier(2, timeout=20)
EVENTS: list[str] = []


class Both(StepConfig[None]):
    tag: str


@plugin.step(name="meet", passthrough=True)
def meet(config: Both, input: Table) -> Table:
    """Returns only when another branch reaches it too: proof that two branches run at once."""
    BARRIER.wait()
    EVENTS.append(config.tag)
    return input


class Numbers(Table):
    n: int


@plugin.step(name="numbers")
def numbers(config: dict) -> Numbers:
    EVENTS.append("numbers")
    return Numbers.from_polars(pl.DataFrame({"n": [1, 2, 3]}))


class Wrong(Table):
    n: int
    label: str


@plugin.step(name="wrong")
def wrong(config: dict) -> Wrong:
    return Table.from_polars(pl.DataFrame({"n": ["one"], "other": [1]}))


@plugin.step(name="not_a_table")
def not_a_table(config: dict) -> Numbers:
    return [1, 2, 3]


@plugin.step(name="kind", passthrough=True)
def kind(config: dict, input: Numbers) -> Table:
    EVENTS.append(type(input).__name__)
    return input


class VaultConfig(ResourceConfig):
    user: str
    token: Annotated[str, Secret]


class Vault(Resource):
    def __init__(self, config: VaultConfig) -> None:
        self.config = config
        EVENTS.append("open")

    def close(self) -> None:
        EVENTS.append("close")


@plugin.resource(name="vault")
def vault(config: VaultConfig) -> Vault:
    return Vault(config)


class UseConfig(StepConfig[VaultConfig]):
    pass


@plugin.step(name="leak", resource="vault", passthrough=True)
def leak(config: UseConfig, input: Table) -> Table:
    raise PermissionError(f"{config.resource.config.user} may not use {config.resource.config.token}")


@plugin.step(name="use", resource="vault", passthrough=True)
def use(config: UseConfig, input: Table) -> Table:
    EVENTS.append(f"use {config.resource.config.user}")
    return input
'''


@pytest.fixture
def project(write_files: WriteFiles):  # type: ignore[no-untyped-def]
    def make(body: str) -> Path:
        header = 'import "std/io" io\nimport "test/t" t\n\n'
        root = write_files({"heddle.toml": '[modules]\n"test/t" = "plug:plugin"\n', "plug.py": PLUGIN,
                            "main.he": header + body})
        return root / "main.he"

    return make


def events() -> list[str]:
    return list(sys.modules["plug"].EVENTS)


def test_independent_branches_run_at_the_same_time(project) -> None:  # type: ignore[no-untyped-def]
    main = project('workflow W {\n  [{ id: 1 }]\n  > rows\n\n  rows\n    | t.meet { tag: "a" }\n\n'
                   '  rows\n    | t.meet { tag: "b" }\n}\n')
    result = run_file(main, workers=2)
    assert result.status == "succeeded", result.message
    assert sorted(events()) == ["a", "b"]


def test_a_step_several_stages_read_runs_once(project) -> None:  # type: ignore[no-untyped-def]
    main = project("step numbers = t.numbers\n\nworkflow W {\n  (from numbers filter n > 1)\n    | io.print\n\n"
                   "  (from numbers join side:left numbers (==n))\n    | io.print\n}\n")
    result = run_file(main)
    assert result.status == "succeeded", result.message
    assert events() == ["numbers"]


def test_a_step_receives_the_table_class_it_annotates(project) -> None:  # type: ignore[no-untyped-def]
    main = project("workflow W {\n  [{ n: 1 }]\n    | t.kind\n}\n")
    assert run_file(main).status == "succeeded"
    assert events() == ["Numbers"]


def test_an_output_that_breaks_its_contract_fails_the_node(project) -> None:  # type: ignore[no-untyped-def]
    main = project("workflow W {\n  t.wrong\n    | io.print\n}\n")
    result = run_file(main)
    assert result.status == "failed"
    assert result.error is not None and result.error.type == "OutputContractError"
    assert result.error.message == (
        "the output of `t.wrong` does not match its declared output {n: Int64, label: String}: `n` is String, not "
        "Int64; `label` is missing; `other` is not declared [HR4003]")
    bad = project("workflow W {\n  t.not_a_table\n}\n")
    assert run_file(bad).error.message == "`t.not_a_table` returned list, not a Table [HR4001]"  # type: ignore[union-attr]


def test_an_input_that_breaks_the_contract_at_run_time_fails_the_node(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "rows.csv").write_text("m\n1\n")
    main = project('workflow W {\n  io.read_csv { path: "rows.csv" }\n    | t.kind\n}\n')
    result = run_file(main)
    assert result.error is not None and result.error.type == "InputContractError"
    assert "the input of `t.kind` does not meet its contract: `n` is missing" in result.error.message


def test_resources_open_once_close_at_the_end_and_secrets_stay_hidden(project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("VAULT_TOKEN", "s3cr3t-value")
    main = project('resource v = t.vault {\n  user: "ada"\n  token: "env:VAULT_TOKEN"\n}\n\n'
                   "step use = <vault=v> t.use\n\nstep leak = <vault=v> t.leak\n\n"
                   "handler h {\n  *\n    | io.stderr\n}\n\n"
                   'workflow W {\n  [{ id: 1 }]\n    | use\n    | use\n    | leak ? h\n}\n')
    recorder = Recorder()
    result = run_file(main, observers=[recorder])
    assert result.status == "succeeded"
    assert events() == ["open", "use ada", "use ada", "close"]
    failed = next(e for e in recorder.events if e.state == S.FAILED)
    assert failed.error is not None
    assert failed.error.message == "ada may not use ***"
    assert "s3cr3t-value" not in failed.error.stack_trace
    context = recorder.outputs[("h", "n1")]
    assert all("s3cr3t-value" not in str(v) for column in context.columns for v in column.to_pylist())


def test_a_missing_environment_secret_is_a_failure_that_names_the_variable(project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("VAULT_TOKEN", raising=False)
    main = project('resource v = t.vault {\n  user: "ada"\n  token: "env:VAULT_TOKEN"\n}\n\n'
                   'workflow W {\n  [{ id: 1 }]\n    | <vault=v> t.use\n}\n')
    result = run_file(main)
    assert result.error is not None and result.error.type == "ResourceError"
    assert result.error.message == ("resource `v`: `token` is read from the environment variable VAULT_TOKEN, "
                                    "which is not set")


def test_observers_hear_every_node_in_order_and_one_that_raises_is_dropped(project) -> None:  # type: ignore[no-untyped-def]
    class Broken(Recorder):
        def node_event(self, event):  # type: ignore[no-untyped-def]
            raise RuntimeError("observer bug")

    main = project("workflow W {\n  [{ n: 1 }, { n: 2 }]\n    | (from input filter n > 1)\n    | io.print\n}\n")
    recorder = Recorder()
    result = run_file(main, observers=[Broken(), recorder])
    assert result.status == "succeeded"
    assert result.warnings == ("observer Broken raised RuntimeError in node_event (observer bug); the run goes on "
                               "without it",)
    assert recorder.run is not None and recorder.run.workflow == "W" and recorder.result is result
    for node in ("n1", "n2", "n3"):
        assert recorder.states("W", node) == [S.PENDING, S.RUNNING, S.SUCCEEDED]
    assert {key: table.num_rows for key, table in recorder.outputs.items()} == {("W", "n1"): 2, ("W", "n2"): 1,
                                                                                ("W", "n3"): 1}
    assert result.outputs["n3"].num_rows == 1


def test_fused_blocks_run_as_one_query_and_show_each_output_when_asked(project) -> None:  # type: ignore[no-untyped-def]
    main = project("workflow W {\n  [{ n: 1 }, { n: 2 }, { n: 3 }]\n    | (from input filter n > 1)\n"
                   "    | (from input derive {m = n * 10})\n    | (from input sort {-m})\n}\n")

    class Quiet(Recorder):
        wants_outputs = False

    quiet = Quiet()
    result = run_file(main, observers=[quiet])
    assert result.status == "succeeded"
    assert pl.from_arrow(result.outputs["n4"]).to_dicts() == [{"n": 3, "m": 30}, {"n": 2, "m": 20}]
    assert quiet.outputs == {}
    rows = {e.node_id: e.rows for e in quiet.events if e.state == S.SUCCEEDED}
    assert rows == {"n1": 3, "n2": None, "n3": None, "n4": 2}  # the intermediate tables were never made
    loud = Recorder()
    run_file(main, observers=[loud])
    assert {k[1]: t.num_rows for k, t in loud.outputs.items()} == {"n1": 3, "n2": 2, "n3": 2, "n4": 2}


def test_a_fused_query_that_fails_is_blamed_on_its_block(project) -> None:  # type: ignore[no-untyped-def]
    main = project('handler h {\n  *\n    | io.stderr\n}\n\nworkflow W ? h {\n  [{ n: "1" }, { n: "x" }]\n'
                   "    | (from input filter n != \"\")\n    | (from input derive {m = (n | as int) + 1})\n"
                   "    | (from input sort {m})\n}\n")
    recorder = Recorder()
    result = run_file(main, observers=[recorder])
    assert result.status == "succeeded"
    states = {n: result.states[("W", n)] for n in ("n2", "n3", "n4")}
    assert states == {"n2": S.SUCCEEDED, "n3": S.HANDLED, "n4": S.SKIPPED}
    assert recorder.outputs[("h", "n1")].column("n").to_pylist() == ["1", "x"]  # n3's input, the payload


def test_parameters_are_refused_before_anything_runs(project) -> None:  # type: ignore[no-untyped-def]
    main = project("workflow W {\n  [{ n: 1 }]\n    | io.print\n}\n")
    with pytest.raises(RunRefused) as refused:
        run_file(main, parameters={"day": "monday"})
    assert [e.code for e in refused.value.errors] == ["HR1002"]
