"""Modules served by Python workers over Arrow Flight: checked from `describe`, run as a remote placement.

Every worker here is a real process: a plugin file ending in `plugin.serve()` (the overview's snippet),
started by the engine from `{ command = [...] }` or by the test and mapped with `{ worker = "grpc://..." }`.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from heddle.flight.protocol import listening_address
from heddle.sdk.spec import module_spec
from heddle_engine.catalog import load_catalog
from heddle_engine.events import NodeState
from heddle_lang.semantic import analyze
from heddle_lang.syntax import parse
from tests.engine.conftest import WriteFiles
from tests.engine.running import Recorder, checked_plan, run_file

S = NodeState

PLUGIN = '''
import os
import sys

import polars as pl

from heddle.core.config import Secret
from heddle.core.resource import Resource, ResourceConfig
from heddle.core.step import StepConfig
from heddle.core.table import RowErrors, Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="score")


class Orders(Table):
    id: int
    amount: float


class Scored(Table):
    id: int
    amount: float
    score: float


class ScoreConfig(StepConfig[None]):
    factor: float = 2.0


@plugin.step(name="score")
def score(config: ScoreConfig, orders: Orders) -> Scored:
    """Scores each order; a negative amount is a failed row."""
    frame = orders.to_polars()
    good = frame.filter(pl.col("amount") >= 0).with_columns(score=pl.col("amount") * config.factor)
    bad = frame.filter(pl.col("amount") < 0)
    if bad.height:
        raise RowErrors(Scored.from_polars(good), Table.from_polars(bad), [f"order {i}: negative" for i in bad["id"]])
    return Scored.from_polars(good)


@plugin.step(name="boom")
def boom(config: dict, orders: Orders) -> Scored:
    raise ValueError("the scoring model is missing")


@plugin.step(name="wrong")
def wrong(config: dict, orders: Orders) -> Scored:
    return Table.from_polars(orders.to_polars().select("id"))


class CrashConfig(StepConfig[None]):
    marker: str


@plugin.step(name="crash", passthrough=True)
def crash(config: CrashConfig, orders: Orders) -> Table:
    """Kills its worker the first time (mid-batch: the input was read, no answer was written)."""
    if not os.path.exists(config.marker):
        open(config.marker, "w").close()
        os._exit(9)
    return orders


class VaultConfig(ResourceConfig):
    api_key: Secret


class Vault(Resource):
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key


@plugin.resource(name="vault")
def vault(config: VaultConfig) -> Vault:
    return Vault(config.api_key)


class SaltConfig(StepConfig[VaultConfig]):
    pass


@plugin.step(name="salted", resource="vault")
def salted(config: SaltConfig, orders: Orders) -> Table:
    key = config.resource.api_key
    if key != "s3cret-value":
        raise ValueError(f"wrong key {key}")
    raise RuntimeError(f"refusing to leak {key}")


@plugin.step(name="sink")
def sink(config: dict, orders: Orders) -> None:
    print(f"sink got {orders.num_rows} rows", file=sys.stderr)


if __name__ == "__main__":
    plugin.serve()
'''

WORKFLOW = '''import "std/io" io
import "shop/score" shop

handler keep {
  *
    | io.write_csv { path: "out/handled.csv" }
}

workflow Score {
  [
    { id: 1, amount: 10.0 },
    { id: 2, amount: -5.0 },
    { id: 3, amount: 7.5 },
    { id: 4, amount: -1.0 },
  ]
    | STEP ? keep
}
'''

PYTHON = sys.executable.replace("\\", "/")
COMMAND = f'"shop/score" = {{ command = ["{PYTHON}", "plugins/score.py"] }}'


def project(write_files: WriteFiles, step: str, mapping: str = COMMAND) -> Path:
    root = write_files({"heddle.toml": f"[modules]\n{mapping}\n", "plugins/score.py": PLUGIN,
                        "flow.he": WORKFLOW.replace("STEP", step)})
    return root / "flow.he"


def handled(root: Path) -> pl.DataFrame:
    return pl.read_csv(root / "out" / "handled.csv")


def test_rows_a_worker_step_fails_go_to_the_handler_and_the_rest_go_on(write_files: WriteFiles) -> None:
    path = project(write_files, "shop.score { factor: 3.0 }")
    recorder = Recorder()
    result = run_file(path, observers=[recorder])
    assert result.status == "succeeded"
    output = pl.from_arrow(next(iter(result.outputs.values())))
    assert isinstance(output, pl.DataFrame)
    assert output.sort("id").to_dict(as_series=False) == {"id": [1, 3], "amount": [10.0, 7.5], "score": [30.0, 22.5]}
    failed = handled(path.parent)
    assert failed["id"].to_list() == [2, 4]
    assert failed["error_msg"].to_list() == ["order 2: negative", "order 4: negative"]
    counts = result.rows[("Score", "n2")]
    assert (counts.input, counts.output, counts.failed) == (4, 2, 2)


def test_a_step_that_raises_in_its_worker_sends_every_row_with_the_workers_error(write_files: WriteFiles) -> None:
    path = project(write_files, "shop.boom")
    result = run_file(path)
    assert result.status == "succeeded"  # the handler took the failure
    failed = handled(path.parent)
    assert failed["id"].to_list() == [1, 2, 3, 4]
    assert set(failed["error_type"]) == {"ValueError"}
    assert set(failed["error_msg"]) == {"the scoring model is missing"}
    assert "plugins/score.py" in failed["stack_trace"][0] and "raise ValueError" in failed["stack_trace"][0]


def test_the_declared_output_check_applies_to_a_workers_answer(write_files: WriteFiles) -> None:
    path = project(write_files, "shop.wrong")
    run_file(path)
    failed = handled(path.parent)
    assert set(failed["error_type"]) == {"OutputContractError"}
    assert "HR4003" in failed["error_msg"][0] and "`amount`" in failed["error_msg"][0]


def test_a_worker_killed_mid_batch_is_started_again_and_the_step_retried(write_files: WriteFiles,
                                                                        tmp_path: Path) -> None:
    marker = tmp_path / "crashed-once"
    path = project(write_files, f'shop.crash {{ marker: "{marker}", retry: {{ attempts: 2, delay: "1ms" }} }}')
    recorder = Recorder()
    catalog = load_catalog(path)
    plan = checked_plan(path)
    from heddle_engine.execute import run_workflow

    result = run_workflow(plan, "Score", catalog, file=str(path), parameters={}, observers=[recorder])
    assert result.status == "succeeded"
    assert recorder.states("Score", "n2") == [S.PENDING, S.RUNNING, S.RETRYING, S.RUNNING, S.SUCCEEDED]
    retrying = next(e for e in recorder.events if e.state == S.RETRYING)
    assert retrying.error is not None and retrying.error.type == "WorkerUnavailableError"
    assert next(iter(result.outputs.values())).num_rows == 4  # nothing lost
    assert not (path.parent / "out" / "handled.csv").exists()
    workers = catalog.workers
    assert workers is not None
    process = workers.endpoint("shop/score").process
    assert process is not None and process.starts == 2
    catalog.close()
    assert not process.alive


def test_secrets_travel_in_the_descriptor_and_never_reach_errors_or_logs(write_files: WriteFiles,
                                                                         monkeypatch: pytest.MonkeyPatch,
                                                                         capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("VAULT_KEY", "s3cret-value")
    root = write_files({"heddle.toml": f"[modules]\n{COMMAND}\n", "plugins/score.py": PLUGIN,
                        "flow.he": WORKFLOW.replace("STEP", "<vault=vault> shop.salted").replace(
                            "workflow Score", 'resource vault = shop.vault {\n  api_key: "env:VAULT_KEY"\n}\n\n'
                            "workflow Score")})
    result = run_file(root / "flow.he")
    failed = handled(root)
    assert set(failed["error_type"]) == {"RuntimeError"}  # the worker got the key: it did not raise ValueError
    assert set(failed["error_msg"]) == {"refusing to leak ***"}
    assert "s3cret-value" not in failed["stack_trace"][0]
    assert result.status == "succeeded"
    out, err = capfd.readouterr()
    assert "s3cret-value" not in out + err


def test_a_sink_in_a_worker_passes_its_input_on(write_files: WriteFiles, capfd: pytest.CaptureFixture[str]) -> None:
    path = project(write_files, "shop.sink")
    result = run_file(path)
    assert result.status == "succeeded"
    assert next(iter(result.outputs.values())).num_rows == 4
    assert "sink got 4 rows" in capfd.readouterr().err  # the worker's own output reaches the engine's stderr


@pytest.fixture
def running_worker(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A worker started by hand (`python plugins/score.py`), as a user starts one; its address."""
    folder = tmp_path / "served"
    (folder / "plugins").mkdir(parents=True)
    (folder / "plugins" / "score.py").write_text(PLUGIN, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEDDLE_WORKER")}
    process = subprocess.Popen([sys.executable, "plugins/score.py"], cwd=folder, env=env, stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout is not None
    address = listening_address(process.stdout.readline())
    assert address is not None and address.startswith("grpc://127.0.0.1:")
    try:
        yield address, folder
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_running_worker_is_described_like_the_plugin_in_process(write_files: WriteFiles,
                                                                  running_worker: tuple[str, Path]) -> None:
    address, folder = running_worker
    path = project(write_files, "shop.score", f'"shop/score" = {{ worker = "{address}" }}')
    remote = load_catalog(path).module("shop/score")
    spec = importlib.util.spec_from_file_location("served_score_plugin", folder / "plugins" / "score.py")
    assert spec is not None and spec.loader is not None
    local = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = local  # while it runs: its classes' annotations are resolved through it
    try:
        spec.loader.exec_module(local)
        expected = module_spec(local.plugin, "shop/score")
    finally:
        del sys.modules[spec.name]
    assert remote is not None
    assert remote.functions == expected.functions
    assert remote.resources == expected.resources
    assert run_file(path).status == "succeeded"


def test_an_unreachable_worker_is_one_error_at_the_import_naming_module_and_address(write_files: WriteFiles) -> None:
    path = project(write_files, "shop.score", '"shop/score" = { worker = "grpc://127.0.0.1:9" }')
    started = time.monotonic()
    analysis = analyze(parse(path.read_text(encoding="utf-8")), load_catalog(path))
    assert time.monotonic() - started < 15
    errors = [d for d in analysis.diagnostics if d.is_error]
    assert [d.code for d in errors] == ["HE3001"]
    assert "shop/score" in errors[0].message and "grpc://127.0.0.1:9" in errors[0].message
    assert path.read_text(encoding="utf-8")[errors[0].span.start:errors[0].span.end].startswith('"shop/score"')


def test_a_command_that_exits_before_listening_is_a_load_error_with_its_output(write_files: WriteFiles) -> None:
    command = f'["{PYTHON}", "-c", "print(\'no model\')"]'
    root = write_files({"heddle.toml": f'[modules]\n"shop/score" = {{ command = {command} }}\n'})
    error = load_catalog(root).load_error("shop/score")
    assert error is not None and "exited (status 0) before it listened: no model" in error


def test_worker_settings_that_are_wrong_are_reported_per_module(write_files: WriteFiles) -> None:
    root = write_files({"heddle.toml": '[modules]\n"a/b" = { worker = "http://x" }\n"c/d" = { command = [] }\n'
                        '"e/f" = { worker = "grpc://127.0.0.1:1", token = "plain" }\n'})
    catalog = load_catalog(root)
    assert "not a worker address" in str(catalog.load_error("a/b"))
    assert "list of strings" in str(catalog.load_error("c/d"))
    assert "env:NAME" in str(catalog.load_error("e/f"))


def test_the_execution_plan_shows_which_steps_run_in_a_worker(write_files: WriteFiles) -> None:
    from heddle_engine.execute import lower
    from heddle_engine.execute.functions import Functions

    path = project(write_files, "shop.score")
    catalog = load_catalog(path)
    analysis = analyze(parse(path.read_text(encoding="utf-8")), catalog)
    exec_plan = lower(analysis.plan, "Score", Functions.of(catalog))
    assert exec_plan.workflow.placements == {"n2": f"the command `{PYTHON} plugins/score.py`"}
    assert "runs in the worker the command" in exec_plan.explain()
    assert exec_plan.workflow.to_json()["placements"] == {"n2": f"the command `{PYTHON} plugins/score.py`"}
    catalog.close()


def test_heddle_run_starts_a_commands_worker_once_and_stops_it(write_files: WriteFiles) -> None:
    path = project(write_files, "shop.score { factor: 3.0 }")
    plugin = path.parent / "plugins" / "score.py"
    announce = "import sys\n\nprint('worker', os.getpid(), 'imports', file=sys.stderr)\n"
    plugin.write_text(PLUGIN.replace("import sys\n", announce, 1), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "heddle.cli.main", "run", str(path), "--format", "json"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    started = [line.split()[1] for line in done.stderr.splitlines() if line.startswith("worker ")]
    assert len(started) == 1  # checking, running and recording the lineage share it
    assert not os.path.exists(f"/proc/{started[0]}")  # stopped when the run ended


@pytest.fixture
def silent_address() -> Iterator[str]:
    """An address that accepts connections and never says a word (a hung worker, a firewall's black hole)."""
    import socket

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    try:
        yield f"grpc://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()


def test_heddle_check_and_plan_on_a_worker_that_never_answers_give_one_error_in_bounded_time(
        write_files: WriteFiles, silent_address: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from heddle.cli.main import main
    from heddle_engine.workers import endpoints

    monkeypatch.setattr(endpoints, "DESCRIBE_SECONDS", 1.0)  # the bound (10 s as shipped), shortened for the test
    path = project(write_files, "shop.score", f'"shop/score" = {{ worker = "{silent_address}" }}')
    for command in ("check", "plan"):
        assert main([command, str(path)]) == 1
        out, err = capsys.readouterr()
        errors = [line for line in (out + err).splitlines() if "[HE3001]" in line]
        assert len(errors) == 1, out + err
        assert "shop/score" in errors[0] and silent_address in errors[0] and "did not answer in time" in errors[0]
        assert f"{path}:2:8: error:" in errors[0]  # at the import


def test_heddle_check_and_plan_read_a_running_workers_describe(write_files: WriteFiles,
                                                               running_worker: tuple[str, Path],
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from heddle.cli.main import main

    address, _ = running_worker
    path = project(write_files, "shop.score { factor: 3.0 }", f'"shop/score" = {{ worker = "{address}" }}')
    assert main(["check", str(path)]) == 0
    capsys.readouterr()
    assert not (path.parent / ".heddle" / "cache" / "check").exists()  # the worker's answer: not stored
    assert main(["plan", str(path)]) == 0
    assert "{id: Int64, amount: Float64, score: Float64}" in capsys.readouterr().out
    path.write_text(path.read_text(encoding="utf-8").replace("factor: 3.0", "factor: \"high\""), encoding="utf-8")
    assert main(["check", str(path)]) == 1
    assert "factor" in capsys.readouterr().out  # the worker's config spec checks the literal
