"""End-to-end cases as data: each folder here is a project whose `main.he` is run with `heddle run`.

A case holds `main.he`, its input files (and `heddle.toml`, plugins), an optional `case.toml` —
`params` (`{ name = "value" }`), `workflow`, the exit `status` (0 by default) and `stderr` texts that must
appear (`<case>` stands for the case's folder) — and `expected/`: `stdout.txt`, what the workflow
printed, and `out/...`, the files it wrote under `out/`. Cases run in a copy of their folder.
`pytest tests/run_cases --update-snapshots` rewrites `expected/` from what the runs produce.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.run_cases.cases import CASES, expected, run_case, same


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_case(case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], update_snapshots: bool) -> None:
    got = run_case(case, tmp_path, capsys)
    if update_snapshots:
        shutil.rmtree(case / "expected", ignore_errors=True)
        for name, data in got.items():
            (case / "expected" / name).parent.mkdir(parents=True, exist_ok=True)
            (case / "expected" / name).write_bytes(data)
    want = expected(case)
    assert sorted(got) == sorted(want), "run: pytest tests/run_cases --update-snapshots (then review expected/)"
    for name, data in want.items():
        assert same(name, got[name], data), f"{case.name}/expected/{name} differs from what the run produced"
