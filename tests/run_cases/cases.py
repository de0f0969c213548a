"""The run cases of this folder (their layout: `test_run_cases.py`): where they are, running one with
`heddle run` in a copy of its folder, and comparing what it produced with its `expected/`."""

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


def run_case(case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], *options: str) -> dict[str, bytes]:
    """`heddle run` of the case (with its `params` and `workflow`, then `options`) in a copy of its folder under
    `tmp_path`, its exit status and stderr texts asserted as `case.toml` says; what it produced (`produced`)."""
    work = tmp_path / case.name
    shutil.copytree(case, work, ignore=shutil.ignore_patterns("expected", "case.toml", "__pycache__", ".heddle",
                                                                "out"))
    spec = tomllib.loads((case / "case.toml").read_text(encoding="utf-8")) if (case / "case.toml").is_file() else {}
    argv = ["run", str(work / "main.he"), "--no-lineage", *options]
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
        assert text in err, err  # (a helper module: pytest does not rewrite its asserts)
    return produced(work, out)


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
