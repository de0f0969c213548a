"""`heddle replay` end to end with the executor: the recorded upstream is read, the rest runs on the new plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from heddle.cli.main import main
from heddle_engine.execute import run_workflow
from heddle_engine.lineage import LineageStore, RunRecord
from tests.lineage.support import catalog_of, new_recorder, ok, plan_of


def record(path: Path, workflow: str, **parameters: str) -> RunRecord:
    """Run `workflow` with the executor, recorded; its record."""
    catalog = catalog_of(path)
    recorder = new_recorder(path.parent)
    result = run_workflow(plan_of(path, workflow), workflow, catalog, file=str(path), parameters=parameters,
                          observers=(recorder,))
    assert recorder.problem is None
    return ok(LineageStore(path.parent).find(result.run_id))


def replay(capsys: pytest.CaptureFixture[str], project: Path, *argv: str) -> tuple[int, str, str]:
    status = main(["replay", *argv, "--project", str(project)])
    out, err = capsys.readouterr()
    return status, out, err


def stages(run: RunRecord) -> dict[str, tuple[str, int]]:
    return {s.name.qualified: (s.state, s.attempts) for s in ok(LineageStore(run.folder.parent.parent.parent)
                                                               .stages(run))}


def data(run: RunRecord, stage: str) -> list[dict[str, object]]:
    store = LineageStore(run.folder.parent.parent.parent)
    return ok(store.table(run, ok(store.stage(run, stage)))).to_pylist()


def test_a_fixed_stage_is_replayed_on_the_recorded_upstream(capsys: pytest.CaptureFixture[str],
                                                            tagging: Path) -> None:
    failed = record(tagging, "Tagging", label="first")
    assert failed.status == "failed" and failed.parameters == {"label": "first"}
    assert stages(failed)["Tagging/n4"] == ("failed", 1)
    tagging.write_text(tagging.read_text().replace("fail: true", "fail: false"))  # the fix

    status, _, err = replay(capsys, tagging.parent, failed.run_id, "--from", "vault.check")
    assert status == 0, err
    replayed = LineageStore(tagging.parent).runs()[0]
    assert err.splitlines()[-1] == (f"heddle: run {replayed.run_id}, a replay of {failed.run_id} from "
                                    f"`Tagging/n4` vault.check, succeeded")
    assert "heddle: stage vault.check succeeded 2 rows" in err  # the progress of `heddle run`
    assert replayed.status == "succeeded" and replayed.replay_of == failed.run_id and replayed.replay_from == "n4"
    assert replayed.parameters == {"label": "first"}
    assert stages(replayed) == {"Tagging/n1": ("skipped", 0), "Tagging/n2": ("skipped", 0),
                                "Tagging/n3": ("succeeded", 0), "Tagging/n4": ("succeeded", 1),
                                "Tagging/n5": ("succeeded", 1)}
    assert data(replayed, "n5") == [{"id": 1, "tag": "first"}, {"id": 2, "tag": "first"}]
    main(["inspect", replayed.run_id, "--project", str(tagging.parent)])
    shown = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()[2:]}
    assert shown["Tagging/n3"][:4] == ["vault.tag", "recorded", "-", "2"]
    assert shown["Tagging/n4"][:4] == ["vault.check", "succeeded", "1", "2"]


def test_a_parameter_given_again_overrides_the_recorded_one(capsys: pytest.CaptureFixture[str],
                                                            tagging: Path) -> None:
    tagging.write_text(tagging.read_text().replace("fail: true", "fail: false"))
    first = record(tagging, "Tagging", label="first")
    status, _, err = replay(capsys, tagging.parent, "last", "--from", "vault.tag", "--param", "label=second")
    assert status == 0, err
    replayed = LineageStore(tagging.parent).runs()[0]
    assert replayed.replay_of == first.run_id and replayed.parameters == {"label": "second"}
    assert data(replayed, "n5") == [{"id": 1, "tag": "second"}, {"id": 2, "tag": "second"}]
    assert stages(replayed)["Tagging/n2"] == ("succeeded", 0)  # read from the recording, not run


def test_a_replay_that_fails_again_exits_1(capsys: pytest.CaptureFixture[str], tagging: Path) -> None:
    record(tagging, "Tagging", label="x")
    status, _, err = replay(capsys, tagging.parent, "last", "--from", "n4")
    assert status == 1
    assert err.splitlines()[-1].endswith(", failed: ValueError: check failed on purpose (line 11)")


def test_recorded_data_that_no_longer_fits_is_refused(capsys: pytest.CaptureFixture[str], tagging: Path) -> None:
    record(tagging, "Tagging", label="x")
    tagging.write_text(tagging.read_text().replace("(from input filter amount > 100)",
                                                   "(from input filter amount > 100 derive {cents = amount * 100})"))
    status, out, err = replay(capsys, tagging.parent, "last", "--from", "n4")
    assert status == 2 and out == ""
    assert "no longer fits its schema" in err and "column `cents` (Float64) was not recorded" in err
    assert "[HL3002]" in err


def test_a_stage_inserted_upstream_is_refused(capsys: pytest.CaptureFixture[str], tagging: Path) -> None:
    record(tagging, "Tagging", label="x")
    inserted = "    | (from input sort id)\n    | vault.tag\n"
    tagging.write_text(tagging.read_text().replace("    | vault.tag\n", inserted))
    status, _, err = replay(capsys, tagging.parent, "last", "--from", "vault.check")
    assert status == 2
    assert "`Tagging/n4` vault.tag, which was `vault.check` in run" in err and "[HL3002]" in err


def test_a_stage_the_recording_has_no_data_for_is_refused(capsys: pytest.CaptureFixture[str],
                                                          tagging: Path) -> None:
    record(tagging, "Tagging", label="x")  # fails at n4: n4 has no data, n5 never ran
    status, _, err = replay(capsys, tagging.parent, "last", "--from", "n5")
    assert status == 2
    assert "reads `Tagging/n4` vault.check, but run" in err and "recorded no data for it (it ended failed)" in err
    assert "[HL3001]" in err


def test_a_file_that_no_longer_checks_is_not_replayed(capsys: pytest.CaptureFixture[str], tagging: Path) -> None:
    run = record(tagging, "Tagging", label="x")
    tagging.write_text(tagging.read_text().replace("vault.check", "vault.chek"))
    status, _, err = replay(capsys, tagging.parent, "last", "--from", "n2")
    assert status == 2
    assert "tagging.he:11:13: error: " in err and f"cannot replay run {run.run_id}: the file does not check" in err


def test_usage_errors(capsys: pytest.CaptureFixture[str], program: Path, tagging: Path) -> None:
    record(tagging, "Tagging", label="x")
    project = tagging.parent
    assert replay(capsys, project, "nope", "--from", "n2")[0] == 2
    status, _, err = replay(capsys, project, "last", "--from", "n2", "--param", "label")
    assert status == 2 and "--param expects NAME=VALUE, not 'label'" in err
    status, _, err = replay(capsys, project, "last", "--from", "nothing")
    assert status == 2 and "no stage is named `nothing`" in err
    status, _, err = replay(capsys, project, "last", "--from", "n3", "--param", "colour=red")  # the executor refuses
    assert status == 2 and "[HR1002]" in err and "the workflow cannot start" in err
    orders = record(program, "Orders")
    status, _, err = replay(capsys, project, orders.run_id, "--from", "report/n2")
    assert status == 2 and "is a stage of handler `report`: a replay starts from a stage of workflow" in err
    program.unlink()
    status, _, err = replay(capsys, project, orders.run_id, "--from", "n2")
    assert status == 2 and "which is no longer there" in err


def test_the_replay_is_recorded_as_a_run_of_its_own(capsys: pytest.CaptureFixture[str], tagging: Path) -> None:
    tagging.write_text(tagging.read_text().replace("fail: true", "fail: false"))
    first = record(tagging, "Tagging", label="x")
    assert replay(capsys, tagging.parent, "last", "--from", "n3")[0] == 0
    assert replay(capsys, tagging.parent, "last", "--from", "n5")[0] == 0  # a replay of the replay
    runs = LineageStore(tagging.parent).runs()
    assert len(runs) == 3 and runs[1].replay_of == first.run_id and runs[0].replay_of == runs[1].run_id
    main(["runs", "--format", "json", "--project", str(tagging.parent)])
    listed = json.loads(capsys.readouterr().out)
    assert [r["replay_from"] for r in listed] == ["n5", "n3", None]
