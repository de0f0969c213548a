"""`heddle run` and `heddle plan --stage exec`: exit codes, progress lines, reports, refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from heddle.cli.main import main

EXAMPLES = Path(__file__).parent.parent.parent / "examples"
QUICKSTART = str(EXAMPLES / "quickstart.he")
RUNNABLE = EXAMPLES / "runnable"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_quickstart_runs_and_shows_each_stage(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "run", QUICKSTART, "--no-lineage")
    assert status == 0, err
    assert "│ 2   ┆ bob      ┆ gold ┆ 15000.0" in out
    lines = err.splitlines()
    assert any(line.startswith("heddle: stage io.print succeeded 1 row ") and line.endswith("(line 54)")
               for line in lines)
    assert any(line.startswith("heddle: stage credit.check succeeded 1 row ") and
               line.endswith("1 row failed: order 3 of 22000.0 exceeds the credit limit 20000.0 of cy, sent to "
                             "over_limit") for line in lines)
    assert "order 3 of 22000.0 exceeds the credit limit 20000.0 of cy" in err  # the handler's io.stderr
    # Ten stage lines, seven of the workflow and three of its handler, and the summary counts them so.
    assert sum(line.startswith("heddle: stage ") for line in lines) == 10
    assert sum(" of handler over_limit " in line for line in lines if line.startswith("heddle: stage ")) == 3
    assert lines[-1].startswith("heddle: run ") and " succeeded: 7 stages, 3 handler stages in " in lines[-1]


def test_lineage_is_recorded_unless_asked_not_to(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    project = tmp_path / "examples"
    shutil.copytree(EXAMPLES, project, ignore=shutil.ignore_patterns(".heddle", "out", "__pycache__"))
    status, _, err = run(capsys, "run", str(project / "quickstart.he"), "--no-lineage")
    assert status == 0, err
    assert not (project / ".heddle" / "runs").exists()  # its cache holds the plan (heddle/cli/run_plans.py), no run
    status, _, err = run(capsys, "run", str(project / "quickstart.he"))
    assert status == 0, err
    run_id = err.splitlines()[-1].split()[2]
    assert (project / ".heddle" / "runs" / run_id).is_dir()


def test_a_json_report_keeps_stdout_for_itself(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "run", str(RUNNABLE / "validate_emails.he"), "--param", "timestamp=2026-01-01",
                           "--no-lineage", "--format", "json")
    assert status == 0, err
    report = json.loads(out)
    assert (report["workflow"], report["status"], report["error"]) == ("validate_emails", "succeeded", None)
    stages = {(s["graph"], s["label"]): s for s in report["stages"]}
    check = stages[("validate_emails", "email_validate.exists")]
    assert check["state"] == "succeeded" and check["rows"] == {"input": 3, "output": 2, "failed": 1}
    assert stages[("debug_error_handler", "io.stderr")]["state"] == "succeeded"
    assert "1-ada@example.com" in err  # what io.print printed went to stderr


def test_parameters_missing_or_unknown_are_reported_like_diagnostics(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "run", str(RUNNABLE / "validate_emails.he"), "--no-lineage")
    assert status == 2 and out == ""
    name = str(RUNNABLE / "validate_emails.he")
    assert err.splitlines() == [
        f"{name}:15:86: error: the workflow parameter `@timestamp` (used by `fetch_users`) has no value: pass "
        "`--param timestamp=VALUE` [HR1001]",
        f"{name}: not run: workflow `validate_emails` cannot start",
    ]
    status, _, err = run(capsys, "run", str(RUNNABLE / "analytics.he"), "--param", "since=1", "--no-lineage")
    assert status == 2 and "names no parameter of this workflow (its parameters: none) [HR1002]" in err
    status, _, err = run(capsys, "run", str(RUNNABLE / "analytics.he"), "--param", "since", "--no-lineage")
    assert status == 2 and "--param expects NAME=VALUE, not 'since'" in err


def test_a_program_that_does_not_check_is_not_run(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "run", str(EXAMPLES / "seeds" / "validate_emails_direct.he"), "--no-lineage")
    assert status == 2 and out == ""
    assert "[HE6002]" in err and "validate_emails_direct.he: not run: the file does not check" in err


def test_a_failed_run_exits_1_naming_the_stage(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    main_he = tmp_path / "main.he"
    main_he.write_text('import "std/io" io\n\nworkflow W {\n  io.read_csv { path: "missing.csv" }\n    | io.print\n}\n')
    status, _, err = run(capsys, "run", str(main_he), "--no-lineage")
    assert status == 1
    assert "heddle: stage io.read_csv failed " in err
    last = err.splitlines()[-1]
    assert last.startswith("heddle: run ") and f"failed: stage `io.read_csv` ({main_he}:4:3) failed: " in last
    assert "missing.csv" in last and last.endswith("; failed rows kept in the run's result: W/n1 (1 row)")


def test_choosing_a_workflow(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    main_he = tmp_path / "main.he"
    main_he.write_text('import "std/io" io\n\nworkflow A {\n  [{ n: 1 }]\n    | io.print\n}\n\n'
                       'workflow B {\n  [{ n: 2 }]\n    | io.print\n}\n')
    status, _, err = run(capsys, "run", str(main_he), "--no-lineage")
    assert status == 2 and "has several workflows (A, B): choose one with --workflow" in err
    status, _, err = run(capsys, "run", str(main_he), "--workflow", "C", "--no-lineage")
    assert status == 2 and "has no workflow `C` (workflows: A, B)" in err
    status, out, _ = run(capsys, "run", str(main_he), "--workflow", "B", "--no-lineage")
    assert status == 0 and "│ 2   │" in out


def test_plan_shows_the_execution_dag(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "plan", QUICKSTART, "--stage", "exec")
    assert status == 0
    assert "  n2+n3 [fused: 2 relational blocks, one lazy query] <- n1\n" in out
    assert ("  n4 [lookup step] customer_account <- n2+n3  (line 50)\n"
            "      lookup for n5: @customer <- n3.customer") in out
    status, out, _ = run(capsys, "plan", str(RUNNABLE / "validate_emails.he"), "--stage", "exec", "--format", "json")
    assert status == 0
    (plan,) = json.loads(out)
    assert plan["parameters"] == {"timestamp": ["validate_emails/n1"]}
    status, _, err = run(capsys, "plan", QUICKSTART, "--stage", "exec", "--format", "dot")
    assert status == 2 and "--stage exec prints text or json" in err
