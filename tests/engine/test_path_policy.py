"""The path policy of a project: readers and writers stay inside it, or in the folders `[paths] allow` lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from heddle.cli.main import main
from heddle_engine.project import path_policy, read_project


def test_allowed_folders_are_read_from_heddle_toml(tmp_path: Path) -> None:
    (tmp_path / "heddle.toml").write_text('[paths]\nallow = ["../shared", "/srv/data", "~/exports"]\n')
    project = read_project(tmp_path)
    assert project.problems == {}
    assert project.allowed == (tmp_path.parent / "shared", Path("/srv/data"), Path.home() / "exports")
    policy = path_policy(tmp_path / "flows" / "main.he", project)
    assert policy.root == str(tmp_path.resolve()) and policy.folder == str((tmp_path / "flows").resolve())
    assert policy.permits("../data/in.csv") and policy.permits(str(tmp_path / "x.csv"))
    assert policy.permits("../../shared/in.csv") and policy.permits("/srv/data/a/b.parquet")
    assert policy.permits("~/exports/out.csv")
    assert not policy.permits("../../elsewhere.csv") and not policy.permits("/srv/database.db")
    assert not policy.permits("~other/x.csv")


@pytest.mark.parametrize("text", ['[paths]\nallow = "/srv"\n', '[paths]\nallow = [1]\n', '[paths]\nallow = [""]\n',
                                  'paths = 3\n'])
def test_a_malformed_allow_list_is_a_problem_of_the_project(tmp_path: Path, text: str) -> None:
    (tmp_path / "heddle.toml").write_text(text)
    project = read_project(tmp_path)
    assert "`[paths] allow` must be a list of folders" in project.problems[""] and project.allowed == ()


def test_without_a_project_file_the_files_folder_is_the_project(tmp_path: Path) -> None:
    policy = path_policy(tmp_path / "main.he", None)
    assert policy.root == policy.folder == str(tmp_path.resolve())
    assert policy.permits("data/in.csv") and not policy.permits("../in.csv")


def test_heddle_run_refuses_a_path_outside_the_project(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "heddle.toml").write_text("")
    program = project / "main.he"
    program.write_text('import "std/io" io\n\nworkflow W {\n  [{ id: 1 }]\n'
                       '    | io.write_csv { path: "../stolen.csv" }\n}\n')
    assert main(["run", str(program), "--no-lineage"]) == 2
    _, err = capsys.readouterr()
    assert f"{program}:5:28: error: `path` of `io.write_csv` is outside the project" in err and "[HE4011]" in err
    assert not (tmp_path / "stolen.csv").exists()
    (project / "heddle.toml").write_text(f'[paths]\nallow = ["{tmp_path}"]\n')
    assert main(["run", str(program), "--no-lineage"]) == 0
    assert (tmp_path / "stolen.csv").read_text() == "id\n1\n"
