"""`heddle check` answered from its store (heddle/cli/check_cache.py) only while nothing it read changed: the file,
a library it imports, a plugin's source, a database script it is described from, `heddle.toml`, the modules of the
tool; never after asking a server."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from heddle.cli import check_files
from heddle.cli.inputs import REFUSING_EVENTS, changed, recording
from heddle.cli.main import main
from heddle_engine.asked import OVERRAN, SERVER_ASKED
from tests.projects import modules_loaded

LIBRARY = """import "std/io" io

step report = io.stderr
"""

APP = """import "std/io" io
import "./platform.he" platform

workflow W {
  [
    { id: 1 },
  ]
    | platform.report
}
"""

SHOP = """CREATE TABLE customers (name TEXT PRIMARY KEY, tier TEXT NOT NULL);
"""

DESCRIBED = """import "std/io" io
import "fhub/sqlite" db

resource shop = db.connection {
  script: "shop.sql"
}

step tiers = <connection=shop> db.query {
  query: "SELECT name, tier FROM customers"
}

workflow W {
  tiers
    | io.print
}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "heddle.toml").write_text("[modules]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HEDDLE_CACHE", raising=False)
    return tmp_path


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """The paths of every check that ran (not answered from the store)."""
    ran: list[list[str]] = []
    real = check_files.check_files

    def counted(paths: list[str], output: str, profile: str | None) -> int:
        ran.append(paths)
        return real(paths, output, profile)

    monkeypatch.setattr(check_files, "check_files", counted)
    yield ran


def check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["check", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def records(project: Path) -> list[Path]:
    return sorted((project / ".heddle" / "cache" / "check").glob("*.json"))


def test_an_unchanged_file_is_answered_from_the_store_as_the_check_answered(
        project: Path, checks: list[list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    (project / "app.he").write_text("import \"std/io\" io\n", encoding="utf-8")
    first = check(capsys, "app.he")
    assert first[0] == 0 and "HE3012" in first[1] and "1 warning" in first[2]
    assert check(capsys, "app.he") == first
    assert checks == [["app.he"]]
    json_first = check(capsys, "--format", "json", "app.he")  # another answer: another record
    assert json.loads(json_first[1])[0]["code"] == "HE3012"
    assert check(capsys, "--format", "json", "app.he") == json_first
    assert len(checks) == 2 and len(records(project)) == 2


def test_the_store_records_the_tool_and_its_libraries_as_inputs(project: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    (project / "app.he").write_text(APP, encoding="utf-8")
    (project / "platform.he").write_text(LIBRARY, encoding="utf-8")
    check(capsys, "app.he")
    [path] = records(project)
    stored = json.loads(path.read_text(encoding="utf-8"))
    files = {Path(name) for name, _ in stored["files"]}
    assert {project / "app.he", project / "platform.he", project / "heddle.toml"} <= files
    modules = {Path(name).as_posix() for name, _ in stored["modules"]}
    for part in ("heddle_lang/version.py", "heddle_lang/semantic/analyze.py", "polars/__init__.py",
                 "prqlc/__init__.py"):
        assert any(name.endswith(part) for name in modules), part


def test_an_edited_library_checks_again(project: Path, checks: list[list[str]],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    (project / "app.he").write_text(APP, encoding="utf-8")
    (project / "platform.he").write_text(LIBRARY, encoding="utf-8")
    assert check(capsys, "app.he")[0] == 0
    (project / "platform.he").write_text(LIBRARY.replace("step report", "step reporter"), encoding="utf-8")
    status, out, _ = check(capsys, "app.he")
    assert status == 1 and "report" in out
    assert len(checks) == 2
    (project / "platform.he").write_text(LIBRARY, encoding="utf-8")
    assert check(capsys, "app.he")[0] == 0
    assert len(checks) == 3  # the key holds the named file only: the library's first version was replaced


def test_a_library_that_appears_is_read(project: Path, checks: list[list[str]],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    (project / "app.he").write_text(APP, encoding="utf-8")
    status, out, _ = check(capsys, "app.he")
    assert status == 1 and "platform.he" in out
    (project / "platform.he").write_text(LIBRARY, encoding="utf-8")
    assert check(capsys, "app.he")[0] == 0
    assert len(checks) == 2


def test_an_edited_schema_script_checks_again(project: Path, checks: list[list[str]],
                                              capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEDDLE_DESCRIBE", "on")
    (project / "shop.sql").write_text(SHOP, encoding="utf-8")
    (project / "app.he").write_text(DESCRIBED, encoding="utf-8")
    first = check(capsys, "app.he")
    assert "HE5008" not in first[1]
    assert check(capsys, "app.he") == first
    (project / "shop.sql").write_text(SHOP.replace("tier", "level"), encoding="utf-8")
    second = check(capsys, "app.he")
    assert "HE5008" in second[1] and "no such column: tier" in second[1]
    assert len(checks) == 2


def test_an_edited_project_file_checks_again(project: Path, checks: list[list[str]],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    (project / "app.he").write_text("import \"shop/tools\" tools\n", encoding="utf-8")
    status, out, _ = check(capsys, "app.he")
    assert status == 1 and "shop/tools" in out
    (project / "heddle.toml").write_text('[modules]\n"shop/tools" = "std/io"\n', encoding="utf-8")
    status, out, _ = check(capsys, "app.he")
    assert "shop/tools" not in out
    assert len(checks) == 2


def test_a_changed_module_of_the_tool_checks_again(project: Path, checks: list[list[str]],
                                                   capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Another version of the tool is other module files: a module imported while checking stands for them."""
    folder = project / "site"
    folder.mkdir()
    (folder / "heddle_probe_module.py").write_text("VERSION = 1\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, "heddle_probe_module", raising=False)
    __import__("heddle_probe_module")
    (project / "app.he").write_text("import \"std/io\" io\n", encoding="utf-8")
    check(capsys, "app.he")
    check(capsys, "app.he")
    assert len(checks) == 1
    (folder / "heddle_probe_module.py").write_text("VERSION = 22\n", encoding="utf-8")
    check(capsys, "app.he")
    assert len(checks) == 2


def test_an_edited_plugin_checks_again(tmp_path: Path) -> None:
    """As a user runs it: one process per check, the plugin's module imported by each."""
    (tmp_path / "heddle.toml").write_text('[modules]\n"shop/tools" = "tools:plugin"\n', encoding="utf-8")
    plugin = """from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="tools")


class TagConfig(StepConfig):
    {key}: str


@plugin.step(name="tag")
def tag(config: TagConfig, input: Table) -> Table:
    return input
"""
    (tmp_path / "tools.py").write_text(plugin.replace("{key}", "label"), encoding="utf-8")
    (tmp_path / "app.he").write_text("""import "std/io" io
import "shop/tools" tools

step tagged = tools.tag {
  label: "x"
}

workflow W {
  [
    { id: 1 },
  ]
    | tagged
    | io.print
}
""", encoding="utf-8")
    environment = {k: v for k, v in os.environ.items() if k != "HEDDLE_CACHE"}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "heddle.cli.main", "check", "app.he"], cwd=tmp_path,
                              capture_output=True, text=True, check=False, timeout=120, env=environment)

    assert run().returncode == 0
    assert run().returncode == 0
    assert len(records(tmp_path)) == 1
    (tmp_path / "tools.py").write_text(plugin.replace("{key}", "tag_name"), encoding="utf-8")
    edited = run()
    assert edited.returncode == 1 and "label" in edited.stdout


def test_a_check_that_asked_a_server_is_not_stored(project: Path, checks: list[list[str]],
                                                   capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEDDLE_DESCRIBE", "on")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
    (project / "app.he").write_text(f"""import "std/io" io
import "fhub/postgresql" pg

resource db = pg.connection {{
  host: "127.0.0.1"
  port: {port}
}}

step rows = <connection=db> pg.query {{
  query: "SELECT 1 AS one"
}}

workflow W {{
  rows
    | io.print
}}
""", encoding="utf-8")
    check(capsys, "app.he")
    check(capsys, "app.he")
    assert len(checks) == 2 and records(project) == []


def test_nothing_is_stored_when_turned_off(project: Path, checks: list[list[str]],
                                           capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "app.he").write_text("import \"std/io\" io\n", encoding="utf-8")
    monkeypatch.setenv("HEDDLE_CACHE", "off")
    check(capsys, "app.he")
    check(capsys, "app.he")
    assert len(checks) == 2 and records(project) == []


def test_standard_input_is_never_stored(project: Path, checks: list[list[str]],
                                        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(2):
        monkeypatch.setattr(sys, "stdin", io.StringIO("import \"std/io\" io\n"))
        assert "HE3012" in check(capsys, "-")[1]
    assert len(checks) == 2 and records(project) == []


def test_a_nested_recording_refuses() -> None:
    with recording() as outer, recording() as inner:
        pass
    assert outer.refusal is None and inner.refusal is not None


def test_the_engines_events_are_the_ones_that_refuse() -> None:
    assert SERVER_ASKED in REFUSING_EVENTS and OVERRAN in REFUSING_EVENTS


def test_a_check_whose_database_answered_too_late_is_not_stored(project: Path, checks: list[list[str]],
                                                                capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from heddle_engine.describe import DESCRIBER

    monkeypatch.setenv("HEDDLE_DESCRIBE", "on")
    monkeypatch.setattr(DESCRIBER, "timeout", 0.05)
    answer = DESCRIBER._ask

    def late(*args: object) -> None:
        time.sleep(0.5)
        answer(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(DESCRIBER, "_ask", late)
    (project / "shop.sql").write_text(SHOP, encoding="utf-8")
    (project / "app.he").write_text(DESCRIBED, encoding="utf-8")
    check(capsys, "app.he")
    assert records(project) == []


def test_a_stored_answer_loads_neither_the_checker_nor_polars(tmp_path: Path) -> None:
    (tmp_path / "heddle.toml").write_text("[modules]\n", encoding="utf-8")
    (tmp_path / "app.he").write_text("import \"std/io\" io\n", encoding="utf-8")
    modules = ("polars", "heddle_lang.semantic", "heddle_lang.syntax", "heddle_engine.catalog")
    assert modules_loaded(tmp_path, ["check", "app.he"], modules) == (list(modules), 0)
    assert modules_loaded(tmp_path, ["check", "app.he"], modules) == ([], 0)


def test_a_file_changed_while_the_check_ran_refuses_and_a_missing_one_is_an_input(tmp_path: Path) -> None:
    (tmp_path / "read.txt").write_text("one", encoding="utf-8")
    with recording() as recorder:
        (tmp_path / "read.txt").read_text(encoding="utf-8")
        with pytest.raises(FileNotFoundError):
            (tmp_path / "missing.txt").read_text(encoding="utf-8")
        os.listdir(tmp_path)
    files, modules = recorder.stamps()
    stamps = dict(files)
    assert recorder.refusal is None
    assert stamps[str(tmp_path / "missing.txt")] is None and stamps[str(tmp_path)].startswith("d")
    assert any(path.endswith("heddle/cli/inputs.py") for path, _ in modules)
    assert not changed(files, modules)
    (tmp_path / "missing.txt").write_text("here", encoding="utf-8")
    assert changed(files, modules)

    with recording() as recorder:
        (tmp_path / "read.txt").read_text(encoding="utf-8")
    (tmp_path / "read.txt").write_text("three", encoding="utf-8")
    recorder.stamps()
    assert recorder.refusal is not None and "changed while it was read" in recorder.refusal


def test_a_file_named_with_bytes_that_are_not_utf8_is_stored_and_answered(tmp_path: Path) -> None:
    """Its name reaches every line printed as lone surrogates (written back as the bytes on such a terminal)."""
    (tmp_path / "heddle.toml").write_text("[modules]\n", encoding="utf-8")
    (tmp_path / os.fsdecode(b"caf\xe9.he")).write_text("import \"std/io\" io\n", encoding="utf-8")
    environment = {k: v for k, v in os.environ.items() if k != "HEDDLE_CACHE"}
    environment["PYTHONIOENCODING"] = "utf-8:surrogateescape"

    def run() -> bytes:
        done = subprocess.run([sys.executable, "-m", "heddle.cli.main", "check", b"caf\xe9.he"], cwd=tmp_path,
                              capture_output=True, check=False, timeout=120, env=environment)
        assert done.returncode == 0, done.stderr
        return done.stdout

    first = run()
    assert first.startswith(b"caf\xe9.he:1:17: warning")
    assert [p.name.startswith(".") for p in records(tmp_path)] == [False]  # one record, no temporary file left
    assert run() == first
