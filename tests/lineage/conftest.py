"""Each test gets its own project folder; plugin modules imported from it are forgotten afterwards."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lineage.support import TAGGING, write_project


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    before = set(sys.modules)
    yield tmp_path / "project"
    for name in set(sys.modules) - before:
        if str(getattr(sys.modules[name], "__file__", "") or "").startswith(str(tmp_path)):
            del sys.modules[name]


@pytest.fixture
def program(project: Path) -> Path:
    """`orders.he` in a fresh project: secrets in its configs, a handler."""
    return write_project(project)


@pytest.fixture
def tagging(project: Path) -> Path:
    """`tagging.he` in a fresh project: a workflow parameter, a stage that fails, no handler."""
    return write_project(project, TAGGING, "tagging.he")
