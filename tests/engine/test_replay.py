"""Replays: nodes upstream of the start are not run, their outputs come from the recording."""

from __future__ import annotations

from pathlib import Path

import pytest

from heddle_engine.events import NodeState
from heddle_engine.execute import RunRefused
from tests.engine.running import Recorder, run_file

QUICKSTART = Path(__file__).parent.parent.parent / "examples" / "quickstart.he"
S = NodeState


def test_a_replay_runs_from_its_start_on_recorded_inputs(capsys: pytest.CaptureFixture[str]) -> None:
    first = Recorder()
    original = run_file(QUICKSTART, observers=[first])
    assert original.status == "succeeded"
    recorded = {node: table for (graph, node), table in first.outputs.items() if graph == "Quickstart"}

    again = Recorder()
    replay = run_file(QUICKSTART, observers=[again], recorded=recorded, start_from="n6", replay_of=original.run_id)
    assert replay.status == "succeeded"
    assert again.run is not None and (again.run.replay_of, again.run.replay_from) == (original.run_id, "n6")
    for node in ("n1", "n2", "n3", "n4", "n5"):
        assert again.states("Quickstart", node) == [S.PENDING, S.SUCCEEDED]  # from the recording
        assert next(e.attempt for e in again.events if e.node_id == node and e.state == S.SUCCEEDED) == 0
    assert again.states("Quickstart", "n6") == [S.PENDING, S.RUNNING, S.SUCCEEDED]
    assert replay.outputs["n7"].equals(original.outputs["n7"])
    assert "bob" in capsys.readouterr().out


def test_a_replay_without_the_recorded_inputs_it_needs_is_refused() -> None:
    with pytest.raises(RunRefused) as refused:
        run_file(QUICKSTART, recorded={}, start_from="n6")
    assert [(e.code, e.message) for e in refused.value.errors] == [
        ("HR3002", "the replay needs the recorded output of `(from input join customer_account (==c...)` (n5), "
                   "which the recording lacks")]
