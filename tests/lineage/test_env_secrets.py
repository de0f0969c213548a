"""End to end with `heddle run`: a secret read through `env:` never reaches `.heddle/` or `heddle inspect`, in
any column type; and a recording that fails part way is reported, never silent."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from heddle.cli.main import main
from heddle_engine.lineage import LineageStore
from heddle_engine.lineage import recorder as recorder_module

TOKEN = "env-token-5551234"

PLUGIN = '''\
from typing import Annotated

import polars as pl

from heddle.core.resource import Resource, ResourceConfig, Secret
from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="leak")


class VaultConfig(ResourceConfig):
    token: Annotated[str, Secret]


class Vault(Resource):
    def __init__(self, token: str) -> None:
        self.token = token


@plugin.resource(name="vault")
def vault(config: VaultConfig) -> Vault:
    return Vault(str(config.token))


class LeakConfig(StepConfig[VaultConfig]):
    pass


@plugin.step(name="leak", resource="vault")
def leak(config: LeakConfig) -> Table:
    """Puts the resolved secret in every kind of column a step may make."""
    token = config.resource.token
    return Table.from_polars(pl.DataFrame({
        "id": [1, 2],
        "plain": [f"token={token}", "nothing"],
        "kind": pl.Series([f"x{token}", "y"], dtype=pl.Categorical),
        "blob": [token.encode(), b"zz"],
        "items": [[token, "a"], ["b"]],
        "record": [{"k": token, "n": 1}, {"k": "v", "n": 2}],
    }))
'''

PROGRAM = '''\
import "std/io" io
import "test/leak" leak

resource v = leak.vault {
  token: "env:LEAK_TOKEN"
}

workflow W {
  <vault=v> leak.leak
    | (from input filter id > 0)
    | io.print
}
'''


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "heddle.toml").write_text('[modules]\n"test/leak" = "leakage:plugin"\n', encoding="utf-8")
    (tmp_path / "leakage.py").write_text(PLUGIN, encoding="utf-8")
    (tmp_path / "main.he").write_text(PROGRAM, encoding="utf-8")
    monkeypatch.setenv("LEAK_TOKEN", TOKEN)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_a_secret_read_through_env_is_scrubbed_from_recorded_outputs_and_inspect(
        capsys: pytest.CaptureFixture[str], project: Path) -> None:
    status, out, err = run(capsys, "run", str(project / "main.he"), "--format", "json")
    assert status == 0, err
    report = json.loads(out)
    assert report["warnings"] == [] and report["lineage"]["complete"] is True
    files = [p for p in (project / ".heddle").rglob("*") if p.is_file()]
    assert [p for p in files if TOKEN.encode() in p.read_bytes()] == []
    for path in (p for p in files if p.suffix == ".arrow"):  # compressed: decoded too
        with pa.OSFile(str(path)) as source:
            assert TOKEN not in json.dumps(pa.ipc.open_file(source).read_all().to_pylist(), default=repr)
    for stage in ("n1", "n2", "n3"):
        for form in ("json", "csv", "table"):
            status, shown, err = run(capsys, "inspect", "last", "--stage", stage, "--format", form,
                                     "--project", str(project))
            assert TOKEN not in shown + err
            assert status == 0 or (form == "csv" and "no CSV form" in err), err  # lists have no CSV form
    status, shown, _ = run(capsys, "inspect", "last", "--stage", "n1", "--format", "json", "--project", str(project))
    rows = json.loads(shown)
    assert rows[0] == {"id": 1, "plain": "token=***", "kind": "x***", "blob": b"***".hex(), "items": ["***", "a"],
                       "record": {"k": "***", "n": 1}}


def test_a_recording_that_fails_part_way_is_reported_not_silent(capsys: pytest.CaptureFixture[str], project: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(path: Path, table: pa.Table, compression: str | None = None) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(recorder_module, "write_table", disk_full)
    status, out, err = run(capsys, "run", str(project / "main.he"), "--format", "json")
    assert status == 0, err  # the run itself succeeded: its data went where the workflow sends it
    report = json.loads(out)
    assert report["lineage"]["complete"] is False
    assert any("lineage could not be recorded" in w and "No space left on device" in w for w in report["warnings"])
    assert "heddle: warning: lineage: lineage could not be recorded" in err
    status, _, err = run(capsys, "run", str(project / "main.he"))
    assert err.rstrip().endswith("its lineage is incomplete (see the warning above)")
    status, listing, _ = run(capsys, "runs", "--project", str(project))
    assert "succeeded, incomplete" in listing.splitlines()[1]
    record = LineageStore(project).runs()[0]
    assert record.incomplete is not None and "No space left on device" in record.incomplete
    status, shown, _ = run(capsys, "inspect", "last", "--project", str(project))
    assert "recording incomplete: lineage could not be recorded" in shown
