"""Every run case of `tests/run_cases/` on a Ray cluster gives what it gives in process: the same tables
written, the same printed output, the same exit status and messages — and so does every input cut into
partitions of a row (row-local stages per partition, aggregations in two phases, lookups' keys per partition)."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from heddle.cli.main import main
from heddle_engine.loading import forget_project_modules
from tests.cluster.ray_cluster import RayCluster
from tests.run_cases.test_run_cases import CASES, expected, produced, same


@pytest.mark.parametrize("cut", [(), ("--partitions", "3", "--partition-rows", "1")], ids=["whole", "partitioned"])
@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_case_on_ray(case: Path, cut: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                     cluster: RayCluster) -> None:
    work = tmp_path / case.name
    shutil.copytree(case, work, ignore=shutil.ignore_patterns("expected", "case.toml", "__pycache__", ".heddle",
                                                                "out"))
    spec = tomllib.loads((case / "case.toml").read_text(encoding="utf-8")) if (case / "case.toml").is_file() else {}
    argv = ["run", str(work / "main.he"), "--no-lineage", "--cluster", cluster.address, *cut]
    argv += [f"--param={name}={value}" for name, value in spec.get("params", {}).items()]
    argv += ["--workflow", spec["workflow"]] if "workflow" in spec else []
    try:
        status = main(argv)
    finally:
        forget_project_modules(work)
    out, err = capsys.readouterr()
    err = err.replace(str(work), "<case>")
    assert status == spec.get("status", 0), err
    for text in spec.get("stderr", []):
        assert text in err
    got = produced(work, out)
    want = expected(case)
    assert sorted(got) == sorted(want)
    for name, data in want.items():
        assert same(name, got[name], data), f"{case.name}/expected/{name} differs on Ray"
