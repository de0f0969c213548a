"""What keeps a run from starting on a cluster: Ray missing, a malformed `[cluster]` setting."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from heddle.cli.main import main
from heddle_engine.project import read_project

PROGRAM = 'import "std/io" io\n\nworkflow W {\n  io.read_csv { path: "a.csv" }\n    | io.print {}\n}\n'


def test_without_ray_the_run_is_refused_with_the_extra_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "main.he").write_text(PROGRAM, encoding="utf-8")
    (tmp_path / "a.csv").write_text("x\n1\n", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "ray", None)  # as if it were not installed
    status = main(["run", str(tmp_path / "main.he"), "--no-lineage", "--cluster", "auto"])
    err = capsys.readouterr().err
    assert status == 2
    assert "pip install 'heddle-lang[ray]'" in err and "[HR2007]" in err
    assert not (tmp_path / ".heddle" / "runs").exists()  # refused before a run was recorded


def test_cluster_address_is_read_from_heddle_toml(tmp_path: Path) -> None:
    (tmp_path / "heddle.toml").write_text('[cluster]\naddress = "ray://127.0.0.1:10001"\n', encoding="utf-8")
    assert read_project(tmp_path).cluster == "ray://127.0.0.1:10001"
    (tmp_path / "heddle.toml").write_text('[cluster]\nhost = "x"\n', encoding="utf-8")
    project = read_project(tmp_path)
    assert project.cluster is None and "`[cluster]` holds `address" in project.problems[""]


def test_a_profile_names_its_own_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "heddle.toml").write_text('[profiles.near.cluster]\naddress = "auto"\n', encoding="utf-8")
    assert read_project(tmp_path).profile_clusters == {"near": "auto"}
    (tmp_path / "main.he").write_text(PROGRAM, encoding="utf-8")
    (tmp_path / "a.csv").write_text("x\n1\n", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "ray", None)  # a run that goes to a cluster is refused before connecting
    assert main(["run", str(tmp_path / "main.he"), "--no-lineage"]) == 0  # in process
    capsys.readouterr()
    assert main(["run", str(tmp_path / "main.he"), "--no-lineage", "--profile", "near"]) == 2  # on its cluster
    assert "[HR2007]" in capsys.readouterr().err
