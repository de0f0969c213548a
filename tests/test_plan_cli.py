"""`heddle plan`: the typed DAG in every format, narrowed to one workflow, refused on errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from heddle.cli.main import main

EXAMPLES = Path(__file__).parent.parent / "examples"
FRAUD = str(EXAMPLES / "seeds" / "fraud_detection.he")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_text_plan_types_every_stage(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "plan", str(EXAMPLES / "quickstart.he"))
    assert status == 0
    assert "workflow Quickstart ? report" in out
    assert "[dataframe] [3 rows]" in out
    assert "-> {id: Int64, customer: String, amount: Float64}" in out
    assert "> large_orders = n2" in out


def test_json_plan_of_one_workflow(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "plan", FRAUD, "--workflow", "FraudDetection", "--format", "json")
    assert status == 0
    graphs = {g["name"]: g for g in json.loads(out)["graphs"]}
    assert set(graphs) == {"FraudDetection", "alert_on_fail", "alert_step_fail"}
    nodes = {n["label"]: n for n in graphs["FraudDetection"]["nodes"]}
    fetch = nodes["fetch_user_data"]
    assert fetch["kind"] == "step" and fetch["module"] == "fhub/postgresql" and fetch["function"] == "query"
    assert fetch["resources"] == [{"key": "connection", "resource": "pg_db", "kind": "postgresql.connection"}]
    assert [c["name"] for c in fetch["output"]["columns"]] == ["user_id", "country"]
    process = nodes["fraud_detection.process"]
    assert process["handler"] == "alert_step_fail"
    assert {"fraud_score", "is_fraud"} <= {c["name"] for c in process["output"]["columns"]}
    join = next(n for n in graphs["FraudDetection"]["nodes"] if n["kind"] == "relational" and "join" in n["label"])
    assert set(join["tables"]) == {"input", "fetch_user_data", "fetch_risk_profile"}
    assert join["sql"].startswith("WITH ")


@pytest.mark.parametrize(("fmt", "marker"), [("mermaid", "flowchart LR"), ("dot", "digraph heddle {")])
def test_graph_formats(capsys: pytest.CaptureFixture[str], fmt: str, marker: str) -> None:
    status, out, _ = run(capsys, "plan", FRAUD, "--format", fmt)
    assert status == 0 and out.startswith(marker)
    assert "FraudDetection" in out


def test_unknown_workflow_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "plan", FRAUD, "--workflow", "Nope")
    assert status == 2 and "no workflow `Nope` (workflows: FraudDetection)" in err


def test_no_plan_for_a_program_that_does_not_check(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "plan", str(EXAMPLES / "seeds" / "validate_emails_direct.he"))
    assert status == 1 and out == ""
    assert "[HE6002]" in err and "no plan: the file does not check" in err
