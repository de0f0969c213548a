"""Plugins written as test source: each is imported from a temporary file under a unique module name."""

from __future__ import annotations

import importlib.util
import itertools
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

_counter = itertools.count()

LoadModule = Callable[[str], ModuleType]


@pytest.fixture
def load_module(tmp_path: Path) -> Iterator[LoadModule]:
    """`load_module(source)` imports `source` as a fresh module; removed from sys.modules afterwards."""
    names: list[str] = []

    def load(source: str) -> ModuleType:
        name = f"heddle_test_plugin_{next(_counter)}"
        path = tmp_path / f"{name}.py"
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        names.append(name)
        spec.loader.exec_module(module)
        return module

    yield load
    for name in names:
        sys.modules.pop(name, None)
