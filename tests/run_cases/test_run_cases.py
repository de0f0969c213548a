"""End-to-end cases as data: each folder here is a project whose `main.he` is run with `heddle run`.

A case holds `main.he`, its input files (and `heddle.toml`, plugins), an optional `case.toml` —
`params` (`{ name = "value" }`), `workflow`, the exit `status` (0 by default) and `stderr` texts that must
appear (`<case>` stands for the case's folder) — and `expected/`: `stdout.txt`, what the workflow
printed, and `out/...`, the files it wrote under `out/`. Cases run in a copy of their folder.
`pytest tests/run_cases --update-snapshots` rewrites `expected/` from what the runs produce.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import polars as pl
import pytest

from heddle.cli.main import main
from heddle_engine.loading import forget_project_modules

HERE = Path(__file__).parent
CASES = sorted(p for p in HERE.iterdir() if (p / "main.he").is_file())


def produced(work: Path, stdout: str) -> dict[str, bytes]:
    files = {f"out/{p.relative_to(work / 'out')}": p.read_bytes() for p in sorted((work / "out").rglob("*"))
             if p.is_file()} if (work / "out").is_dir() else {}
    return {**({"stdout.txt": stdout.encode()} if stdout else {}), **files}


def expected(case: Path) -> dict[str, bytes]:
    folder = case / "expected"
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def same(name: str, got: bytes, want: bytes) -> bool:
    if name.endswith(".parquet"):  # compared as tables: the bytes carry writer metadata
        return pl.read_parquet(got).equals(pl.read_parquet(want))
    return got == want


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_case(case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], update_snapshots: bool) -> None:
    work = tmp_path / case.name
    shutil.copytree(case, work, ignore=shutil.ignore_patterns("expected", "case.toml", "__pycache__", ".heddle",
                                                                "out"))
    spec = tomllib.loads((case / "case.toml").read_text(encoding="utf-8")) if (case / "case.toml").is_file() else {}
    argv = ["run", str(work / "main.he"), "--no-lineage"]
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
    if update_snapshots:
        shutil.rmtree(case / "expected", ignore_errors=True)
        for name, data in got.items():
            (case / "expected" / name).parent.mkdir(parents=True, exist_ok=True)
            (case / "expected" / name).write_bytes(data)
    want = expected(case)
    assert sorted(got) == sorted(want), "run: pytest tests/run_cases --update-snapshots (then review expected/)"
    for name, data in want.items():
        assert same(name, got[name], data), f"{case.name}/expected/{name} differs from what the run produced"
