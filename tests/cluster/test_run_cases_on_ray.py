"""Every run case of `tests/run_cases/` on a Ray cluster gives what it gives in process: the same tables
written, the same printed output, the same exit status and messages — and so does every input cut into
partitions of a row (row-local stages per partition, aggregations in two phases, lookups' keys per partition)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cluster.ray_cluster import RayCluster
from tests.run_cases.cases import CASES, expected, run_case, same


@pytest.mark.parametrize("cut", [(), ("--partitions", "3", "--partition-rows", "1")], ids=["whole", "partitioned"])
@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_case_on_ray(case: Path, cut: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                     cluster: RayCluster) -> None:
    got = run_case(case, tmp_path, capsys, "--cluster", cluster.address, *cut)
    want = expected(case)
    assert sorted(got) == sorted(want)
    for name, data in want.items():
        assert same(name, got[name], data), f"{case.name}/expected/{name} differs on Ray"
