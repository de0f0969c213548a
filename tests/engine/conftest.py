"""Projects written into temporary folders; modules they import are forgotten after each test."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest

WriteFiles = Callable[[dict[str, str]], Path]


@pytest.fixture
def write_files(tmp_path: Path) -> Iterator[WriteFiles]:
    """`write_files({"heddle.toml": ..., "pkg/mod.py": ...})` → the folder holding them."""
    before = set(sys.modules)

    def write(files: dict[str, str]) -> Path:
        for name, text in files.items():
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return tmp_path

    yield write
    for name in set(sys.modules) - before:
        module = sys.modules[name]
        if str(getattr(module, "__file__", "") or "").startswith(str(tmp_path)):
            del sys.modules[name]


@pytest.fixture
def joint_plans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The plans `pl.collect_all` runs in this test, as `pl.explain_all` draws them (one text per call)."""
    plans: list[str] = []
    collect_all = pl.collect_all

    def explained(frames: list[pl.LazyFrame], **options: object) -> list[pl.DataFrame]:
        plans.append(pl.explain_all(frames))
        return collect_all(frames, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(pl, "collect_all", explained)
    return plans
