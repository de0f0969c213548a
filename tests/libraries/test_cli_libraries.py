"""`.he` libraries through the `heddle` command: check follows imports, plan and run use a library's declarations."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from heddle.cli.main import main

PLATFORM = """import "std/io" io
import "fhub/sqlite" sqlite

// The shop's database, next to this file.
resource db = sqlite.connection {
  path: "shop.db"
}

step customers = sqlite.query <connection=db> {
  query: "SELECT id, name FROM customers"
}

step report = io.write_csv {
  path: "failures.csv"
}

handler alert_on_fail {
  *
    | report
}
"""

APP = """import "std/io" io
import "fhub/sqlite" sqlite
import "./shared/platform.he" platform

step counted = sqlite.query <connection=platform.db> {
  query: "SELECT count(*) AS n FROM customers"
}

workflow Main ? platform.alert_on_fail {
  platform.customers
    | (from input filter id > 1)
    | io.write_csv { path: "out.csv" }
  counted
    | io.write_csv { path: "count.csv" }
}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "heddle.toml").write_text("")
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "platform.he").write_text(PLATFORM)
    (tmp_path / "app.he").write_text(APP)
    with sqlite3.connect(tmp_path / "shared" / "shop.db") as db:
        db.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
        db.executemany("INSERT INTO customers VALUES (?, ?)", [(1, "ada"), (2, "bob"), (3, "cy")])
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_run_uses_the_library_resource_step_and_handler(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "run", str(project / "app.he"), "--no-lineage")
    assert status == 0, err
    # The library's relative path starts from the library's folder: its database was found there.
    assert (project / "out.csv").read_text().splitlines() == ["id,name", "2,bob", "3,cy"]
    assert (project / "count.csv").read_text().splitlines() == ["n", "3"]


def test_plan_names_the_library_declarations(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "plan", str(project / "app.he"), "--format", "json")
    assert status == 0, err
    graphs = {g["name"]: g for g in json.loads(out)["graphs"]}
    assert graphs["Main"]["handler"] == "platform.alert_on_fail"
    assert graphs["platform.alert_on_fail"]["kind"] == "handler"
    steps = [n["step"] for n in graphs["Main"]["nodes"] if n.get("step")]
    assert steps == ["platform.customers", "counted"]
    uses = [r["resource"] for n in graphs["Main"]["nodes"] for r in n.get("resources", [])]
    assert uses == ["platform.db", "platform.db"]
    report = next(n for n in graphs["platform.alert_on_fail"]["nodes"] if n.get("step"))
    assert report["step"] == "platform.report"
    assert report["config"]["path"] == (project / "shared" / "failures.csv").resolve().as_posix()


def test_check_reports_a_library_in_its_file_and_once_at_the_import(
        project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "shared" / "platform.he").write_text(PLATFORM.replace("sqlite.query", "sqlite.qurey", 1))
    (project / "other.he").write_text(APP.replace("workflow Main", "workflow Other"))
    monkeypatch.chdir(project)
    status, out, err = run(capsys, "check", ".")
    assert status == 1
    lines = out.splitlines()
    # The library's own error once, though two files import it and the folder holds it too.
    assert [line for line in lines if line.startswith("shared/")] == [
        "shared/platform.he:9:25: error: `sqlite` (fhub/sqlite) has no `qurey`; did you mean `query`? [HE3004]"]
    at_imports = [line for line in lines if "HE3020" in line]
    assert [line.split(":")[0] for line in at_imports] == ["app.he", "other.he"]
    assert "the first, at shared/platform.he:9:25" in at_imports[0]
    assert "in 3 files" in err


def test_check_refuses_a_cycle_and_a_missing_library(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.he").write_text('import "./b.he" b\n')
    (tmp_path / "b.he").write_text('import "./a.he" a\nimport "/missing.he" gone\n')
    status, out, _ = run(capsys, "check", "--format", "json", str(tmp_path))
    assert status == 1
    found = sorted((Path(r["file"]).name, r["code"]) for r in json.loads(out))
    assert found == [("a.he", "HE3019"), ("b.he", "HE3018"), ("b.he", "HE3019")]
