"""`heddle worker` and `heddle run --workers`: the run ships its plugins' source (JIT), the worker runs each
version in a namespace of its own, an edit runs on the next run without a restart, unused versions go."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from heddle.flight.jit import digest_of
from heddle.flight.protocol import StepRequest, listening_address
from heddle_engine.execute import RunRefused
from heddle_engine.loading import forget_project_modules
from heddle_engine.workers.client import WorkerClient
from tests.engine.conftest import WriteFiles
from tests.engine.running import checked_plan, run_file

PLUGIN = '''
import os

import polars as pl

from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="tag")


class Ids(Table):
    id: int


class Tagged(Table):
    id: int
    version: str
    pid: int


@plugin.step(name="tag")
def tag(config: dict, rows: Ids) -> Tagged:
    frame = rows.to_polars().with_columns(version=pl.lit("VERSION"), pid=pl.lit(os.getpid(), dtype=pl.Int64))
    return Tagged.from_polars(frame)
'''

WORKFLOW = '''import "std/io" io
import "test/tag" tags

workflow Tag {
  [
    { id: 1 },
    { id: 2 },
  ]
    | tags.tag
}
'''


@pytest.fixture
def worker() -> Iterator[tuple[str, int]]:
    """A `heddle worker` process: its address and pid."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEDDLE_WORKER")}
    process = subprocess.Popen([sys.executable, "-m", "heddle.cli.main", "worker"], env=env, stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout is not None
    address = listening_address(process.stdout.readline())
    assert address is not None
    try:
        yield address, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def write_project(write_files: WriteFiles, version: str) -> Path:
    return write_files({"heddle.toml": '[modules]\n"test/tag" = "plugins.tag:plugin"\n',
                        "plugins/__init__.py": "", "plugins/tag.py": PLUGIN.replace("VERSION", version),
                        "flow.he": WORKFLOW}) / "flow.he"


def versions(address: str) -> list[dict[str, str]]:
    return list(WorkerClient(address).action("load", {"run_id": "probe", "modules": []})["versions"])


def test_an_edited_plugin_runs_in_its_new_version_on_the_next_run_without_a_restart(
        write_files: WriteFiles, worker: tuple[str, int]) -> None:
    address, pid = worker
    outputs = []
    for version in ("v1", "v2"):
        path = write_project(write_files, version)
        forget_project_modules(path.parent)
        result = run_file(path, jit_workers=[address])
        assert result.status == "succeeded"
        outputs.append(next(iter(result.outputs.values())).to_pydict())
        assert versions(address) == []  # released at the end of the run: no run uses it any more
    assert [o["version"] for o in outputs] == [["v1", "v1"], ["v2", "v2"]]
    assert {p for o in outputs for p in o["pid"]} == {pid}  # in the worker, the same process both times
    assert os.getpid() != pid


def test_two_versions_of_a_module_live_side_by_side_until_their_runs_end(worker: tuple[str, int]) -> None:
    address, _ = worker
    client = WorkerClient(address)
    sources = {run: PLUGIN.replace("VERSION", run) for run in ("run-a", "run-b")}
    for run, source in sources.items():
        answer = client.action("load", {"run_id": run, "modules": [
            {"path": "test/tag", "digest": digest_of(source), "module": "plugins.tag", "attribute": "plugin",
             "filename": "plugins/tag.py", "source": source}]})
        assert [m["status"] for m in answer["modules"]] == ["imported"]
    for run, source in sources.items():
        answer = client.exchange(StepRequest("test/tag", "tag", run_id=run, version=digest_of(source)),
                                 pa.table({"id": [1]}))
        assert answer.table is not None and answer.table.column("version").to_pylist() == [run]
    client.action("release", {"run_id": "run-a"})
    assert [v["digest"] for v in versions(address)] == [digest_of(sources["run-b"])]
    client.action("release", {"run_id": "run-b"})
    assert versions(address) == []


def test_a_shipped_source_that_fails_to_import_refuses_the_run_and_the_worker_goes_on(
        write_files: WriteFiles, worker: tuple[str, int]) -> None:
    address, _ = worker
    path = write_project(write_files, "v1")
    forget_project_modules(path.parent)
    plan = checked_plan(path)  # the version imported here checks; the one on disk when the run starts fails
    (path.parent / "plugins" / "tag.py").write_text(PLUGIN + "\nraise RuntimeError('no')\n", encoding="utf-8")
    with pytest.raises(RunRefused) as refused:
        run_file(path, plan=plan, jit_workers=[address])
    assert [e.code for e in refused.value.errors] == ["HR2005"]
    assert "RuntimeError: no" in refused.value.errors[0].message
    assert WorkerClient(address).action("health")["status"] == "ok"


def test_an_unreachable_worker_refuses_the_run(write_files: WriteFiles) -> None:
    path = write_project(write_files, "v1")
    with pytest.raises(RunRefused) as refused:
        run_file(path, jit_workers=["grpc://127.0.0.1:9"])
    assert [e.code for e in refused.value.errors] == ["HR2005"]
    assert "grpc://127.0.0.1:9" in refused.value.errors[0].message


def test_heddle_run_takes_workers_from_the_command_line(write_files: WriteFiles, worker: tuple[str, int]) -> None:
    address, pid = worker
    path = write_project(write_files, "v1")
    path.write_text(WORKFLOW.replace("    | tags.tag\n", '    | tags.tag\n    | io.write_csv { path: "out.csv" }\n'),
                    encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "heddle.cli.main", "run", str(path), "--no-lineage", "--workers",
                           address], check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert set(pl.read_csv(path.parent / "out.csv")["pid"]) == {pid}


def test_the_projects_workers_table_sends_its_runs_python_steps_there(write_files: WriteFiles,
                                                                    worker: tuple[str, int]) -> None:
    """`[workers] jit = [...]` in heddle.toml: what `--workers` says, for every run of the project."""
    from heddle_engine.catalog import load_catalog

    address, pid = worker
    path = write_project(write_files, "v1")
    toml = path.parent / "heddle.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + f'\n[workers]\njit = ["{address}"]\n', encoding="utf-8")
    forget_project_modules(path.parent)
    result = run_file(path)
    assert result.status == "succeeded"
    assert set(next(iter(result.outputs.values())).column("pid").to_pylist()) == {pid}
    toml.write_text('[workers]\njit = ["http://x:1"]\n', encoding="utf-8")
    problems = load_catalog(path).problems
    assert len(problems) == 1 and "http://x:1" in problems[0]
