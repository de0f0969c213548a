"""A run on the cluster is recorded by the driver like any other — `heddle runs`, `inspect` and `replay`
read it — and an interrupted cluster run ends at once, its work on the cluster stopped."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from heddle.cli.main import main
from heddle.cli.project import Catalogs, analyze_file
from heddle_engine.execute import INTERRUPTED, Interrupt, run_workflow
from heddle_engine.loading import forget_project_modules
from heddle_lang.syntax import parse
from tests.cluster.ray_cluster import RayCluster
from tests.processes import still_alive, written_pid
from tests.projects import plugin_project

PLUGIN = '''
import logging
import os
import sys
import time
from pathlib import Path

from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="slow")


class Wait(StepConfig[None]):
    marker: str
    seconds: float


@plugin.step(name="wait", passthrough=True)
def wait(config: Wait, input: Table) -> Table:
    Path(config.marker).write_text(str(os.getpid()))
    time.sleep(config.seconds)
    return input


@plugin.step(name="talk", passthrough=True)
def talk(input: Table) -> Table:
    print(f"talking about {input.num_rows} rows")
    print("a word on stderr", file=sys.stderr)
    logging.getLogger("slow.talk").warning("a warning logged")
    return input
'''


def _project(folder: Path, seconds: float) -> Path:
    return plugin_project(folder, "slow", PLUGIN, f'''import "std/io" io
import "t/slow" slow

workflow Slow {{
  [{{ id: 1, name: "a" }}, {{ id: 2, name: "b" }}]
    | slow.wait {{ marker: "{folder / 'pid'}", seconds: {seconds} }}
    | (from input derive {{twice = id * 2}})
    | io.write_csv {{ path: "out/slow.csv" }}
}}
''')


def test_runs_inspect_and_replay_read_a_cluster_run(tmp_path: Path, cluster: RayCluster,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    file = _project(tmp_path, 0.0)
    try:
        assert main(["run", str(file), "--cluster", cluster.address]) == 0
        capsys.readouterr()
        assert main(["runs", "--project", str(tmp_path)]) == 0
        assert "succeeded" in capsys.readouterr().out
        assert main(["inspect", "last", "--project", str(tmp_path), "--stage", "n3", "--format", "csv"]) == 0
        assert capsys.readouterr().out.splitlines() == ["id,name,twice", "1,a,2", "2,b,4"]
        (tmp_path / "out" / "slow.csv").unlink()
        assert main(["replay", "last", "--from", "n3", "--project", str(tmp_path), "--cluster",
                     cluster.address]) == 0
        assert (tmp_path / "out" / "slow.csv").read_text(encoding="utf-8").splitlines() == [
            "id,name,twice", "1,a,2", "2,b,4"]
    finally:
        forget_project_modules(tmp_path)


def test_an_interrupted_cluster_run_ends_at_once_and_stops_its_work(tmp_path: Path, cluster: RayCluster) -> None:
    file = _project(tmp_path, 600.0)
    catalogs = Catalogs()
    catalog = catalogs.for_file(file)
    analysis = analyze_file(parse(file.read_text(encoding="utf-8")), catalogs, file)
    interrupt = Interrupt()
    results = []
    runner = threading.Thread(target=lambda: results.append(run_workflow(
        analysis.plan, "Slow", catalog, file=str(file), parameters={}, interrupt=interrupt,
        cluster=cluster.address)))
    try:
        runner.start()
        pid = written_pid(tmp_path / "pid", 120)
        started = time.monotonic()
        interrupt()
        runner.join(timeout=60)
        assert not runner.is_alive() and time.monotonic() - started < 30
    finally:
        forget_project_modules(tmp_path)
    assert results[0].status == INTERRUPTED
    assert not (tmp_path / "out").exists()
    # the host that ran the step is ended with the run
    assert not still_alive([pid], 30), "the step's process on the cluster still runs"


def test_what_a_step_prints_or_logs_on_the_cluster_is_written_by_the_driver(
        tmp_path: Path, cluster: RayCluster, capsys: pytest.CaptureFixture[str]) -> None:
    file = _project(tmp_path, 0.0)
    file.write_text(file.read_text(encoding="utf-8").replace("| slow.wait", "| slow.talk\n    | slow.wait"),
                    encoding="utf-8")
    try:
        assert main(["run", str(file), "--no-lineage", "--cluster", cluster.address]) == 0
        out, err = capsys.readouterr()
        assert out.count("talking about 2 rows\n") == 1
        assert err.count("a word on stderr\n") == 1 and err.count("a warning logged\n") == 1
        assert main(["run", str(file), "--no-lineage", "--cluster", cluster.address]) == 0  # the next run: its own
        out, err = capsys.readouterr()
        assert out.count("talking about 2 rows\n") == 1 and err.count("a word on stderr\n") == 1
    finally:
        forget_project_modules(tmp_path)
