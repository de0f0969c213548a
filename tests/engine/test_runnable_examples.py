"""The seeds' programs, run on local data (`examples/runnable/`: the embedded database stands in for PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from heddle_engine.events import NodeState
from tests.engine.running import Recorder, run_file

EXAMPLES = Path(__file__).parent.parent.parent / "examples"
RUNNABLE = EXAMPLES / "runnable"


def test_runnable_copies_differ_from_the_seeds_only_where_said() -> None:
    seed = (EXAMPLES / "seeds" / "validate_emails.he").read_text(encoding="utf-8")
    copy = (RUNNABLE / "validate_emails.he").read_text(encoding="utf-8")
    squeeze = lambda text: [line.strip() for line in text.splitlines() if line.strip()]  # noqa: E731
    kept = [line for line in squeeze(seed) if line not in ('host: "db.internal"', "port: 5432")]
    body = squeeze(copy)[3:]  # after the comment that says what differs
    assert [line for line in body if line != 'script: "data/app.sql"'] == kept


def test_analytics_on_the_embedded_database(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_file(RUNNABLE / "analytics.he")
    assert result.status == "succeeded", result.message
    assert pl.from_arrow(result.outputs["n4"]).to_dicts() == [{"username": "zed", "id": 101},
                                                              {"username": "xi", "id": 120}]
    assert "zed" in capsys.readouterr().out


@pytest.mark.parametrize(("name", "expected"), [("validate_emails", "1-ada@example.com"),
                                                ("validate_emails_direct", "1ada@example.com")])
def test_validate_emails_with_a_failing_check_routed_to_its_handler(name: str, expected: str,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    recorder = Recorder()
    result = run_file(RUNNABLE / f"{name}.he", parameters={"timestamp": "2026-01-01"}, observers=[recorder])
    assert result.status == "succeeded", result.message
    (last,) = result.outputs.values()
    assert pl.from_arrow(last).to_series().to_list() == [expected]
    check = next(n for (g, n), _ in result.rows.items() if g == "validate_emails" and
                 recorder.run is not None and recorder.run.plan.graph(g).node(n).label == "email_validate.exists")
    count = result.rows[("validate_emails", check)]
    assert (count.input, count.output, count.failed) == (3, 2, 1)
    handled = recorder.outputs[("debug_error_handler", "n1")]
    assert handled.column("id").to_pylist() == [3] and handled.column("error_msg").to_pylist() == [
        "no address to check"]
    assert recorder.states("debug_error_handler", "n2")[-1] == NodeState.SUCCEEDED
    assert "RowErrors" in capsys.readouterr().err  # the handler printed the error context
