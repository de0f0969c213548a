"""`heddle runs` and `heddle inspect` on recorded runs."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow as pa
import pytest

from heddle.cli.main import main
from tests.lineage.support import LARGE, ORDERS, FakeRun, error, new_recorder


def heddle(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def recorded(program: Path) -> Path:
    """A project with two runs: `20250101-aaaa` succeeded, then `20250102-bbbb` failed at `mask`."""
    root = program.parent
    FakeRun(new_recorder(root), program, "20250101-aaaa", parameters={"day": "monday"}).whole()
    run = FakeRun(new_recorder(root), program, "20250102-bbbb").start()
    run.succeed("n1", ORDERS)
    run.succeed("n2", LARGE)
    run.fail("n3", error("vault unreachable\nafter 3 tries"))
    run.succeed("n1", pa.table({"error_msg": ["vault unreachable"], "id": [1]}), graph="report")
    run.finish("failed", error("vault unreachable"))
    return root


def test_runs_lists_newest_first(capsys: pytest.CaptureFixture[str], recorded: Path) -> None:
    status, out, _ = heddle(capsys, "runs", "--project", str(recorded))
    assert status == 0
    header, newest, oldest = out.splitlines()
    assert header.split() == ["ID", "WORKFLOW", "FILE", "STATUS", "STARTED", "DURATION", "ROWS", "SIZE"]
    assert newest.split()[:4] == ["20250102-bbbb", "Orders", str(recorded / "orders.he"), "failed"]
    assert oldest.split()[:4] == ["20250101-aaaa", "Orders", str(recorded / "orders.he"), "succeeded"]
    assert newest.split()[-3:-2] == ["6"] and oldest.split()[-3:-2] == ["9"]  # rows recorded
    assert oldest.split()[-1] == "KiB"


def test_runs_as_json(capsys: pytest.CaptureFixture[str], recorded: Path) -> None:
    status, out, _ = heddle(capsys, "runs", "--format", "json", "--project", str(recorded / "orders.he"))
    runs = json.loads(out)
    assert status == 0 and [r["id"] for r in runs] == ["20250102-bbbb", "20250101-aaaa"]
    assert runs[1]["parameters"] == {"day": "monday"} and runs[1]["rows"] == 9 and runs[1]["bytes"] > 0
    assert runs[0]["error"]["message"] == "vault unreachable"


def test_runs_finds_the_project_from_the_current_folder(capsys: pytest.CaptureFixture[str], recorded: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    (recorded / "sub").mkdir()
    monkeypatch.chdir(recorded / "sub")
    status, out, _ = heddle(capsys, "runs")
    assert status == 0 and "20250101-aaaa" in out


def test_no_runs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, out, err = heddle(capsys, "runs", "--project", str(tmp_path))
    assert status == 0 and out == "" and "no runs recorded in" in err
    assert heddle(capsys, "runs", "--format", "json", "--project", str(tmp_path))[1] == "[]\n"


def test_inspect_shows_the_stages_of_a_run(capsys: pytest.CaptureFixture[str], recorded: Path) -> None:
    status, out, _ = heddle(capsys, "inspect", "last", "--project", str(recorded))
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith("run 20250102-bbbb: Orders in ") and ", failed, started " in lines[0]
    assert lines[1] == "error: RuntimeError: vault unreachable"
    table = {line.split()[0]: line for line in lines[3:]}
    assert table["STAGE"].split() == ["STAGE", "LABEL", "STATE", "ATTEMPTS", "ROWS", "TIME", "ERROR"]
    assert table["Orders/n2"].split()[-4:] == ["succeeded", "1", "2", "0.01s"]
    assert table["Orders/n3"].split()[1:] == ["mask", "failed", "1", "-", "0.01s", "RuntimeError:", "vault",
                                              "unreachable"]
    assert table["Orders/n4"].split()[1:] == ["io.print", "not", "run", "-", "-", "-"]
    assert "report/n1" in table


def test_inspect_stages_as_json_and_csv(capsys: pytest.CaptureFixture[str], recorded: Path) -> None:
    status, out, _ = heddle(capsys, "inspect", "20250101", "--format", "json", "--project", str(recorded))
    data = json.loads(out)
    assert status == 0 and data["run"]["id"] == "20250101-aaaa"
    n1 = data["stages"][0]
    assert n1 == {**n1, "graph": "Orders", "id": "n1", "kind": "dataframe", "state": "succeeded", "rows": 3,
                  "data": True, "from_recording": False}
    assert [c["name"] for c in n1["schema"]] == ["id", "customer", "amount"]
    status, out, _ = heddle(capsys, "inspect", "20250102-bbbb", "--format", "csv", "--project", str(recorded))
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["stage", "label", "state", "attempts", "rows", "time", "error"]
    assert rows[3] == ["Orders/n3", "mask", "failed", "1", "-", "0.01s", "RuntimeError: vault unreachable"]


@pytest.mark.parametrize("name", ["n2", "Orders/n2", "(from input filter amount > 100)"])
def test_inspect_a_stage_by_id_label_or_qualified_name(capsys: pytest.CaptureFixture[str], recorded: Path,
                                                      name: str) -> None:
    status, out, _ = heddle(capsys, "inspect", "last", "--stage", name, "--format", "json", "--project",
                            str(recorded))
    assert status == 0 and json.loads(out) == LARGE.to_pylist()


def test_inspect_a_stage_by_assigned_name_as_a_table(capsys: pytest.CaptureFixture[str], recorded: Path) -> None:
    status, out, _ = heddle(capsys, "inspect", "20250101-aaaa", "--stage", "orders", "--project", str(recorded))
    assert status == 0
    assert out.splitlines()[0] == "`Orders/n1` [3 rows] in run 20250101-aaaa: 3 rows, succeeded"
    assert "customer" in out and "i64" in out and "15000.0" in out and "cy" in out


def test_inspect_limits_rows(capsys: pytest.CaptureFixture[str], recorded: Path) -> None:
    status, out, _ = heddle(capsys, "inspect", "last", "--stage", "orders", "--limit", "1", "--project",
                            str(recorded))
    assert status == 0 and "ada" in out and "bob" not in out
    assert out.splitlines()[-1] == "1 of 3 rows shown (--limit N shows more)"
    status, out, _ = heddle(capsys, "inspect", "last", "--stage", "orders", "--format", "csv", "--limit", "2",
                            "--project", str(recorded))
    assert status == 0 and out.splitlines() == ["id,customer,amount", "1,ada,120.5", "2,bob,15000.0"]


def test_a_handler_stage_needs_its_graph_when_the_name_is_the_workflows(capsys: pytest.CaptureFixture[str],
                                                                        recorded: Path) -> None:
    status, out, _ = heddle(capsys, "inspect", "last", "--stage", "report/n1", "--format", "json", "--project",
                            str(recorded))
    assert status == 0 and json.loads(out) == [{"error_msg": "vault unreachable", "id": 1}]
    status, out, _ = heddle(capsys, "inspect", "last", "--stage", "*", "--format", "json", "--project",
                            str(recorded))
    assert status == 0 and json.loads(out)[0]["error_msg"] == "vault unreachable"


def test_errors(capsys: pytest.CaptureFixture[str], recorded: Path) -> None:
    def error_of(*argv: str) -> str:
        status, out, err = heddle(capsys, *argv, "--project", str(recorded))
        assert status == 2 and out == ""
        assert err.startswith("heddle: error: ") and err.endswith("\n") and err.count("\n") == 1
        return err

    assert "`2025` starts the ids of 2 runs: `20250101-aaaa` and `20250102-bbbb`" in error_of("inspect", "2025")
    assert "no recorded run has an id starting with `nope`" in error_of("inspect", "nope")
    assert "[HL2002]" in error_of("inspect", "nope")
    unknown = error_of("inspect", "last", "--stage", "mask2")
    assert "no stage is named `mask2`; did you mean `mask`?" in unknown and "`Orders/n4` io.print" in unknown
    assert "[HL2004]" in unknown
    empty = error_of("inspect", "last", "--stage", "io.print")
    assert "recorded no data for `Orders/n4` io.print: it never ran [HL2006]" in empty
    failed = error_of("inspect", "last", "--stage", "mask")
    assert "it ended failed" in failed


def test_an_ambiguous_stage_lists_the_choices(capsys: pytest.CaptureFixture[str], program: Path) -> None:
    program.write_text(program.read_text().replace("  masked\n    | io.print\n",
                                                   "  masked\n    | io.print\n    | io.print\n"))
    root = program.parent
    FakeRun(new_recorder(root), program, "twice").whole()
    status, _, err = heddle(capsys, "inspect", "twice", "--stage", "io.print", "--project", str(root))
    assert status == 2
    assert "`io.print` names 2 stages: `Orders/n4` io.print, `Orders/n5` io.print" in err and "[HL2005]" in err


def test_no_runs_to_inspect(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, _, err = heddle(capsys, "inspect", "last", "--project", str(tmp_path))
    assert status == 2 and "no run is recorded in" in err and "[HL2001]" in err
