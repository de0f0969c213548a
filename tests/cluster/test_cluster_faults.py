"""What holds locally holds on the cluster: a killed worker's unit is attempted again and nothing is lost
(the run's record says so); an edited plugin runs in its new version on the next job of the same running
cluster; intermediates several times larger than the object store complete (Ray spills them), the driver
fetching none of them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from pathlib import Path

import polars as pl
import pytest

from heddle.cli.main import main
from heddle_engine.loading import forget_project_modules
from tests.cluster.ray_cluster import RayCluster
from tests.processes import written_pid
from tests.projects import plugin_project, run_command
from tests.tied import tied

PLUGIN = '''
from __future__ import annotations

import os
import time
from pathlib import Path

import polars as pl

from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="work")
VERSION = 1


class Hold(StepConfig[None]):
    marker: str


@plugin.step(name="hold", passthrough=True)
def hold(config: Hold, input: Table) -> Table:
    """The first call writes its process id and waits (to be killed); later calls pass their input on."""
    marker = Path(config.marker)
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        time.sleep(120)
    return input


class Versioned(Table):
    id: int
    version: int


@plugin.step(name="version")
def version() -> Versioned:
    return Versioned.from_polars(pl.DataFrame({"id": [1, 2], "version": [VERSION, VERSION]}))


class Make(StepConfig[None]):
    rows: int


class Wide(Table):
    id: int
    k: int
    pad: str


@plugin.step(name="make")
def make(config: Make) -> Wide:
    """`rows` rows of about 100 bytes each."""
    ids = pl.int_range(0, config.rows, eager=True)
    return Wide.from_polars(pl.DataFrame({"id": ids, "k": ids % 7}).with_columns(
        pad=pl.format("{}-{}", pl.lit("x" * 80), pl.col("id"))))


class Widen(StepConfig[None]):
    by: int


class Widened(Wide):
    x: int


@plugin.step(name="widen", rowwise=True)
def widen(config: Widen, input: Wide) -> Widened:
    return Widened.from_polars(input.to_polars().with_columns(x=pl.col("id") + config.by))
'''


def project(tmp_path: Path, program: str) -> Path:
    return plugin_project(tmp_path, "work", PLUGIN, program)


def events(folder: Path) -> list[dict[str, object]]:
    (run,) = [p for p in (folder / ".heddle" / "runs").iterdir() if not p.name.startswith(".")]
    return [json.loads(line) for line in (run / "events.jsonl").read_text(encoding="utf-8").splitlines()]


def test_a_killed_worker_s_unit_runs_again_and_the_record_says_so(tmp_path: Path, cluster: RayCluster,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    marker = tmp_path / "held.pid"
    file = project(tmp_path, f'''import "std/io" io
import "t/work" work

workflow Held {{
  [{{ id: 1 }}, {{ id: 2 }}, {{ id: 3 }}]
    | work.hold {{ marker: "{marker}" }}
    | (from input derive {{twice = id * 2}})
    | io.write_csv {{ path: "out/held.csv" }}
}}
''')
    statuses: list[int] = []
    runner = threading.Thread(target=lambda: statuses.append(main(["run", str(file), "--cluster", cluster.address])))
    runner.start()
    os.kill(written_pid(marker, 120), signal.SIGKILL)  # the Ray worker process running the step
    runner.join(timeout=180)
    forget_project_modules(tmp_path)
    err = capsys.readouterr().err
    assert statuses == [0], err
    assert pl.read_csv(tmp_path / "out" / "held.csv").to_dicts() == [
        {"id": 1, "twice": 2}, {"id": 2, "twice": 4}, {"id": 3, "twice": 6}]
    retrying = [e for e in events(tmp_path) if e.get("state") == "retrying"]
    assert len(retrying) == 1
    error = retrying[0]["error"]
    assert isinstance(error, dict) and error["step"] == "work.hold" and "[HR4006]" in error["message"]
    held = [e for e in events(tmp_path) if e.get("node") == retrying[0]["node"] and e.get("event") == "node"]
    assert [(e["state"], e["attempt"]) for e in held] == [
        ("pending", 0), ("running", 1), ("retrying", 1), ("running", 2), ("succeeded", 2)]


def _run(file: Path, cluster: RayCluster, *more: str) -> tuple[int, str, str, int]:
    """`heddle run` as a job of its own (a process of its own: its own connection to the cluster): its exit
    status, output, errors and peak memory (bytes)."""
    out, err = file.parent / "run.out", file.parent / "run.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(tied(run_command(file, "--cluster", cluster.address, *more)), stdout=stdout,
                                   stderr=stderr, env={**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"})
    _, status, usage = os.wait4(process.pid, 0)  # this child's own peak memory
    process.returncode = os.waitstatus_to_exitcode(status)
    return (process.returncode, out.read_text(encoding="utf-8"), err.read_text(encoding="utf-8"),
            usage.ru_maxrss * 1024)


def test_an_edited_plugin_runs_its_new_version_on_the_next_job(tmp_path: Path, cluster: RayCluster) -> None:
    file = project(tmp_path, '''import "std/io" io
import "t/work" work

workflow Versions {
  work.version {}
    | io.write_csv { path: "out/version.csv" }
}
''')
    status, _, err, _ = _run(file, cluster)
    assert status == 0, err
    assert pl.read_csv(tmp_path / "out" / "version.csv")["version"].to_list() == [1, 1]
    source = (tmp_path / "work.py").read_text(encoding="utf-8")
    (tmp_path / "work.py").write_text(source.replace("VERSION = 1", "VERSION = 2"), encoding="utf-8")
    status, _, err, _ = _run(file, cluster)  # the same cluster, not restarted
    assert status == 0, err
    assert pl.read_csv(tmp_path / "out" / "version.csv")["version"].to_list() == [2, 2]


def test_intermediates_larger_than_the_object_store_spill_and_stay_off_the_driver(tmp_path: Path,
                                                                                  cluster: RayCluster) -> None:
    # four branches of 800k rows (≈ 90 MB each as Arrow) that one block appends, so they are alive together
    # with the source: ≈ 4 times the cluster's 100 MiB object store
    rows = 800_000
    branches = "\n".join(f"  big\n    | work.widen {{ by: {i} }}\n  > b{i}\n" for i in range(4))
    file = project(tmp_path, f'''import "std/io" io
import "t/work" work

workflow Spill {{
  work.make {{ rows: ROWS }}
  > big

{branches}
  b0
    | (
        from input
        append (from b1 | select {{id, k, pad, x}})
        append (from b2 | select {{id, k, pad, x}})
        append (from b3 | select {{id, k, pad, x}})
        group {{k}} (aggregate {{n = count this, s = sum x}})
        sort {{k}}
      )
    | io.write_csv {{ path: "out/totals.csv" }}
}}
''')
    program = file.read_text(encoding="utf-8")
    file.write_text(program.replace("ROWS", "1000"), encoding="utf-8")
    status, _, err, small = _run(file, cluster)  # the driver's own memory
    assert status == 0, err
    file.write_text(program.replace("ROWS", str(rows)), encoding="utf-8")
    status, out, err, peak = _run(file, cluster, "--format", "json")
    assert status == 0, err
    report = json.loads(out)
    table = pl.read_csv(tmp_path / "out" / "totals.csv")
    assert table["n"].sum() == 4 * rows
    assert table["s"].sum() == 4 * sum(range(rows)) + sum(range(4)) * rows
    # what the driver fetched: the small result it writes, no intermediate
    assert report["cluster"]["fetched_bytes"] < 10_000
    assert report["cluster"]["put_bytes"] == 0
    intermediates = 5 * rows * 100
    # the driver's peak memory: what the same workflow on 1000 rows takes (≈ 200 MB: Python, Polars, Arrow, Ray's
    # client), and less than one of the 85 MB intermediates more
    assert peak - small < intermediates / 5, (small, peak)
    # Ray makes its spill folder when it first spills (and deletes the files once their objects are freed)
    assert list(cluster.folder.rglob("ray_spilled_objects*")), "nothing was spilled"
