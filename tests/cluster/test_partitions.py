"""Data parallelism on the cluster: a large input of row-local stages (filter/derive/select blocks, a join of
a small table broadcast to every partition, a step declared `rowwise`) runs per partition, partitions flow
from one such stage to the next, and what is not row-local (an aggregation, a sort) reads them all — with the
same tables as in process. The plan says which stage may run per partition."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from heddle.cli.main import main
from heddle_engine.loading import forget_project_modules
from tests.cluster.ray_cluster import RayCluster

PLUGIN = '''
import polars as pl

from heddle.core.step import StepConfig
from heddle.core.table import RowErrors, Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="part")


class Make(StepConfig[None]):
    rows: int


class Rows(Table):
    id: int
    k: int


@plugin.step(name="make")
def make(config: Make) -> Rows:
    ids = pl.int_range(0, config.rows, eager=True)
    return Rows.from_polars(pl.DataFrame({"id": ids, "k": ids % 5}))


class Scored(Rows):
    score: int


@plugin.step(name="score", rowwise=True)
def score(input: Rows) -> Scored:
    """Scores each row; a row whose id ends in 6 fails (it goes to the handler)."""
    frame = input.to_polars()
    bad = frame.filter(pl.col("id") % 10 == 6)
    good = frame.filter(pl.col("id") % 10 != 6).with_columns(score=pl.col("id") * 3)
    if bad.height:
        raise RowErrors(Scored.from_polars(good), Table.from_polars(bad), "ends in 6")
    return Scored.from_polars(good)
'''

PROGRAM = '''import "std/io" io
import "t/part" part

handler failed {
  *
    | (from input select {id, error_msg} sort {id})
    | io.write_csv { path: "out/failed.csv" }
}

workflow Parts {
  [{ k: 0, name: "zero" }, { k: 1, name: "one" }, { k: 3, name: "three" }, { k: 4, name: "four" }]
  > names

  part.make { rows: 1000 }
    | (from input filter k != 3 derive {twice = id * 2} join side:inner names (==k))
    | (from input select {id, k})
    | part.score ? failed
    | (from input group {k} (aggregate {n = count this, total = sum score}) sort {k})
    | io.write_csv { path: "out/totals.csv" }
}
'''


def _project(folder: Path) -> Path:
    folder.mkdir()
    (folder / "heddle.toml").write_text('[modules]\n"t/part" = "part:plugin"\n', encoding="utf-8")
    (folder / "part.py").write_text(PLUGIN, encoding="utf-8")
    (folder / "main.he").write_text(PROGRAM, encoding="utf-8")
    return folder / "main.he"


def _run(file: Path, *more: str) -> int:
    try:
        return main(["run", str(file), "--no-lineage", *more])
    finally:
        forget_project_modules(file.parent)


def test_row_local_stages_run_per_partition_with_the_tables_of_a_local_run(
        tmp_path: Path, cluster: RayCluster, capsys: pytest.CaptureFixture[str]) -> None:
    local, ray = _project(tmp_path / "local"), _project(tmp_path / "ray")
    assert _run(local) == 0
    capsys.readouterr()
    assert _run(ray, "--cluster", cluster.address, "--partitions", "3", "--partition-rows", "100",
                "--format", "json") == 0
    report = json.loads(capsys.readouterr().out)
    for name in ("totals.csv", "failed.csv"):
        assert pl.read_csv(ray.parent / "out" / name).equals(pl.read_csv(local.parent / "out" / name)), name
    labels = {s["node"]: s["label"] for s in report["stages"]}
    partitioned = {labels[node]: parts for node, parts in report["cluster"]["partitions"].items()}
    assert sorted(partitioned.values()) == [3, 3, 3]  # the two blocks (fused: one unit) and the rowwise step
    assert "part.score" in partitioned
    assert not any("aggregate" in label for label in partitioned)


def test_the_plan_shows_which_stages_may_run_per_partition(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    file = _project(tmp_path / "p")
    try:
        status = main(["plan", str(file), "--stage", "exec", "--cluster", "auto"])
    finally:
        forget_project_modules(file.parent)
    out = capsys.readouterr().out
    assert status == 0
    lines = out.splitlines()
    placed = [line.strip() for line in lines if line.strip().startswith("cluster:")]
    assert placed == [
        "cluster: on the driver (rows written in the program)",
        "cluster: one task (a source)",
        "cluster: per partition of a large input (row-local)",
        "cluster: per partition (a rowwise step)",
        "cluster: one task over all partitions (not row-local)",
        "cluster: on the driver (placement=\"driver\")",
        "cluster: on the driver (the failure's rows)",
        "cluster: one task over all partitions (not row-local)",
        "cluster: on the driver (placement=\"driver\")",
    ]
