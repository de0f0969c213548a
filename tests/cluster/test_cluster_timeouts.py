"""`timeout:` on the cluster stops the call: an attempt that overruns it fails with `StepTimeoutError` (retried by
its policy, then handled with its rows, as in process), its stack says where it hung, and the process that ran it
is ended — nothing keeps running on the cluster. A lookup's calls are timed too."""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
import pytest

from tests.cluster.ray_cluster import RayCluster
from tests.processes import still_alive
from tests.projects import plugin_project, run_here

PLUGIN = '''
import os
import time
from pathlib import Path

import polars as pl

from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="slow")


class Hang(StepConfig[None]):
    folder: str
    hangs: int = 1000
    """How many attempts hang; the others return at once."""


def _attempt(folder: str) -> int:
    """Record this attempt's process; its number."""
    marks = Path(folder)
    marks.mkdir(exist_ok=True)
    number = len(list(marks.iterdir())) + 1
    (marks / f"{number}.pid").write_text(str(os.getpid()))
    return number


@plugin.step(name="hang", passthrough=True)
def hang(config: Hang, input: Table) -> Table:
    if _attempt(config.folder) <= config.hangs:
        time.sleep(600)
    return input


class Found(Table):
    id: int
    name: str


class Find(StepConfig[None]):
    folder: str


@plugin.step(name="find", parameters=["id"])
def find(config: Find, **parameters: object) -> Found:
    _attempt(config.folder)
    time.sleep(600)
    return Found.from_polars(pl.DataFrame({"id": [parameters["id"]], "name": ["never"]}))
'''

HEADER = '''import "std/io" io
import "t/slow" slow

handler keep {
  *
    | io.write_csv { path: "out/handled.csv" }
}

'''


def _project(folder: Path, body: str) -> Path:
    return plugin_project(folder, "slow", PLUGIN, HEADER + body)


def _run(file: Path, cluster: RayCluster) -> int:
    return run_here(file, "--cluster", cluster.address)


def _ended(folder: Path) -> None:
    """Every process an attempt ran in has ended (within 30 s)."""
    assert not still_alive((int(p.read_text()) for p in folder.iterdir()), 30), \
        "a timed-out call still runs on the cluster"


def test_an_attempt_that_overruns_its_timeout_is_stopped_retried_then_handled(
        tmp_path: Path, cluster: RayCluster, capsys: pytest.CaptureFixture[str]) -> None:
    marks = tmp_path / "attempts"
    file = _project(tmp_path, f'''workflow Hung ? keep {{
  [{{ id: 1 }}, {{ id: 2 }}, {{ id: 3 }}]
    | slow.hang {{ folder: "{marks}", timeout: "3s", retry: {{ attempts: 2, delay: "10ms" }} }}
    | io.print
}}
''')
    started = time.monotonic()
    assert _run(file, cluster) == 0, capsys.readouterr().err  # the handler took the failure
    assert time.monotonic() - started < 90
    handled = pl.read_csv(tmp_path / "out" / "handled.csv")
    assert handled["id"].to_list() == [1, 2, 3]  # the payload: every row of the attempt
    assert set(handled["error_type"]) == {"StepTimeoutError"} and set(handled["attempt"]) == {2}
    message = handled["error_msg"][0]
    assert "did not finish within its timeout of 3s" in message and "[HR4005]" in message
    trace = handled["stack_trace"][0]
    assert "slow.py" in trace and "time.sleep(600)" in trace  # where the call hung, as the host saw it
    assert len(list(marks.iterdir())) == 2
    _ended(marks)


def test_a_timed_out_attempt_is_retried_on_timeout_errors_and_the_next_one_succeeds(
        tmp_path: Path, cluster: RayCluster, capsys: pytest.CaptureFixture[str]) -> None:
    marks = tmp_path / "attempts"
    file = _project(tmp_path, f'''workflow Once ? keep {{
  [{{ id: 1 }}, {{ id: 2 }}]
    | slow.hang {{
        folder: "{marks}"
        hangs: 1
        timeout: "3s"
        retry: {{ attempts: 2, delay: "10ms", on: ["TimeoutError"] }}
      }}
    | io.write_csv {{ path: "out/done.csv" }}
}}
''')
    assert _run(file, cluster) == 0, capsys.readouterr().err
    assert pl.read_csv(tmp_path / "out" / "done.csv")["id"].to_list() == [1, 2]
    assert not (tmp_path / "out" / "handled.csv").exists()
    _ended(marks)  # the first attempt's process (the second's host lives on, ended with the run)


def test_a_lookup_s_call_that_overruns_its_timeout_is_stopped_and_its_keys_handled(
        tmp_path: Path, cluster: RayCluster, capsys: pytest.CaptureFixture[str]) -> None:
    marks = tmp_path / "attempts"
    file = _project(tmp_path, f'''step found = slow.find {{
  folder: "{marks}"
  timeout: "3s"
}}

workflow Looked ? keep {{
  [{{ id: 1 }}, {{ id: 2 }}]
    | (from input join found (==id))
    | io.print
}}
''')
    assert _run(file, cluster) == 0, capsys.readouterr().err
    handled = pl.read_csv(tmp_path / "out" / "handled.csv")
    assert handled["id"].to_list() == [1, 2]  # the keys not looked up
    assert set(handled["error_type"]) == {"StepTimeoutError"}
    assert "did not finish within its timeout of 3s" in handled["error_msg"][0]
    _ended(marks)
