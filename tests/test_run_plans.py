"""`heddle run` takes its plan from the store (heddle/cli/run_plans.py) only while nothing its check read changed,
and reads back nothing but what a plan is made of."""

from __future__ import annotations

import base64
import json
import os
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from heddle.cli import checked as checked_module
from heddle.cli.main import main
from heddle.cli.run_plans import PLAN_FIELD, _plan
from tests.projects import modules_loaded

LIBRARY = """import "std/io" io

step save = io.write_csv {
  path: "out.csv"
}
"""

APP = """import "std/io" io
import "./platform.he" platform

workflow W {
  [
    { n: 1 },
    { n: 2 },
    { n: 3 },
  ]
    | (from input filter n > 1)
    | platform.save
}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "heddle.toml").write_text("[modules]\n", encoding="utf-8")
    (tmp_path / "app.he").write_text(APP, encoding="utf-8")
    (tmp_path / "platform.he").write_text(LIBRARY, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HEDDLE_CACHE", raising=False)
    return tmp_path


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The files checked (a plan taken from the store is not)."""
    ran: list[str] = []
    real = checked_module.check_source

    def counted(source: checked_module.Source, *args: object, **kwargs: object) -> object:
        ran.append(source.name)
        return real(source, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(checked_module, "check_source", counted)
    yield ran


def run(*argv: str) -> int:
    return main(["run", *argv, "--no-lineage"])


def records(project: Path) -> list[Path]:
    return sorted((project / ".heddle" / "cache" / "check").glob("*.json"))


def test_an_unchanged_file_runs_its_stored_plan(project: Path, checks: list[str]) -> None:
    assert run("app.he") == 0
    first = (project / "out.csv").read_text(encoding="utf-8")
    (project / "out.csv").unlink()
    assert run("app.he") == 0
    assert checks == ["app.he"]
    assert (project / "out.csv").read_text(encoding="utf-8") == first == "n\n2\n3\n"
    [record] = records(project)
    assert PLAN_FIELD in json.loads(record.read_text(encoding="utf-8"))


def test_an_edited_library_is_checked_again_and_its_change_runs(project: Path, checks: list[str]) -> None:
    assert run("app.he") == 0
    (project / "platform.he").write_text(LIBRARY.replace("out.csv", "other.csv"), encoding="utf-8")
    assert run("app.he") == 0
    assert (project / "other.csv").read_text(encoding="utf-8") == "n\n2\n3\n"
    assert checks == ["app.he", "app.he"]


def test_a_file_that_does_not_check_stores_no_plan(project: Path, checks: list[str]) -> None:
    (project / "platform.he").write_text(LIBRARY.replace("step save", "step keep"), encoding="utf-8")
    assert run("app.he") == 2
    assert run("app.he") == 2
    assert checks == ["app.he", "app.he"] and records(project) == []


def test_standard_input_is_always_checked(project: Path, checks: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(2):
        monkeypatch.setattr(sys, "stdin", open(project / "app.he", encoding="utf-8"))  # noqa: SIM115
        assert run("-", "--stdin-filename", "app.he") == 0
        sys.stdin.close()
    assert checks == ["app.he", "app.he"] and records(project) == []


def test_a_record_holding_anything_but_a_plan_is_not_read_and_runs_nothing(project: Path, checks: list[str]) -> None:
    assert run("app.he") == 0
    [record] = records(project)
    data = json.loads(record.read_text(encoding="utf-8"))
    marker = project / "ran"
    hostile = _call_pickle(f"touch {marker}")
    assert _plan(base64.b64encode(hostile).decode("ascii")) is None
    data[PLAN_FIELD] = base64.b64encode(hostile).decode("ascii")
    record.write_text(json.dumps(data), encoding="utf-8")
    assert run("app.he") == 0
    assert not marker.exists()
    assert checks == ["app.he", "app.he"]  # checked again, and stored anew
    assert run("app.he") == 0 and checks == ["app.he", "app.he"]


def _call_pickle(command: str) -> bytes:
    """A pickle that would run `command` through `os.system` when loaded by a plain unpickler."""

    class Call:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return os.system, (command,)

    return pickle.dumps(Call())


def test_a_stored_plan_loads_neither_the_parser_nor_the_analysis(project: Path) -> None:
    modules = ("heddle_lang.semantic", "heddle_lang.syntax", "tree_sitter", "heddle.cli.checked", "prqlc")
    run = ["run", "app.he", "--no-lineage"]
    assert modules_loaded(project, run, modules) == (list(modules), 0)
    assert modules_loaded(project, run, modules) == ([], 0)
    assert (project / "out.csv").read_text(encoding="utf-8") == "n\n2\n3\n"
