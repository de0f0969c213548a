"""Resource profiles of `heddle.toml`: chosen by `--profile` or `HEDDLE_PROFILE`, applied the same way by
`check`, `plan`, `run` and hovers, checked against the resources they change."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from heddle.cli.main import main
from heddle_engine.catalog import load_catalog
from heddle_engine.profiles import PROFILE_VARIABLE
from heddle_lang.ide.hover import hover
from heddle_lang.semantic import analyze
from heddle_lang.syntax import parse
from tests.engine.conftest import WriteFiles

PROGRAM = '''import "fhub/sqlite" db
import "fhub/postgresql" pg
import "std/io" io

resource app = db.connection {
  path: "data/production.db"
}

resource pg_db = pg.connection {
  host: "pg.internal"
}

step names = <connection=app> db.query {
  query: "SELECT name FROM users"
}

workflow Names {
  names
    | io.write_csv { path: "out/names.csv" }
}
'''

TOML = '''[profiles.local.resources.app]
path = "data/local.db"

[profiles.local.resources.pg_db]
host = "env:LOCAL_PG_HOST"
port = "env:LOCAL_PG_PORT"
password = "env:LOCAL_PG_PASSWORD"
'''


@pytest.fixture
def project(write_files: WriteFiles, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(PROFILE_VARIABLE, raising=False)
    monkeypatch.setenv("LOCAL_PG_HOST", "127.0.0.1")
    monkeypatch.setenv("LOCAL_PG_PORT", "5433")
    monkeypatch.setenv("LOCAL_PG_PASSWORD", "pw-never-shown")
    root = write_files({"main.he": PROGRAM, "heddle.toml": TOML})
    for name, who in (("production.db", "prod-user"), ("local.db", "local-user")):
        (root / "data").mkdir(exist_ok=True)
        with sqlite3.connect(root / "data" / name) as connection:
            connection.execute("CREATE TABLE users (name TEXT)")
            connection.execute("INSERT INTO users VALUES (?)", (who,))
    return root


def resources(root: Path, profile: str | None) -> dict[str, dict[str, object]]:
    analysis = analyze(parse(PROGRAM), load_catalog(root / "main.he", profile=profile))
    assert [d for d in analysis.diagnostics if d.is_error] == []
    node = next(n for n in analysis.plan.workflows[0].nodes if n.label == "names")
    used = {use.resource: dict(use.config) for use in node.resources}
    return {**used, **{name: dict(e.config) for name, e in analysis.resources.items()}}


def test_the_active_profile_overrides_resource_configs(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resources(project, None)["app"] == {"path": "data/production.db"}
    local = resources(project, "local")
    assert local["app"] == {"path": "data/local.db"}
    # a non-secret `env:` value is read and converted; a secret stays a reference the run resolves
    assert local["pg_db"] == {"host": "127.0.0.1", "port": 5433, "password": "env:LOCAL_PG_PASSWORD"}
    monkeypatch.setenv(PROFILE_VARIABLE, "local")
    assert resources(project, None)["app"] == {"path": "data/local.db"}


def test_run_uses_the_profile(project: Path, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["run", "--no-lineage", str(project / "main.he")]) == 0
    assert (project / "out" / "names.csv").read_text().split() == ["name", "prod-user"]
    assert main(["run", "--no-lineage", "--profile", "local", str(project / "main.he")]) == 0
    assert (project / "out" / "names.csv").read_text().split() == ["name", "local-user"]
    monkeypatch.setenv(PROFILE_VARIABLE, "local")
    assert main(["plan", "--format", "json", str(project / "main.he")]) == 0
    plan = capsys.readouterr().out
    assert '"resource": "app"' in plan and "pw-never-shown" not in plan


def test_a_profile_that_does_not_exist_is_a_usage_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--profile", "staging", str(project / "main.he")]) == 2
    err = capsys.readouterr().err
    assert "no profile `staging`" in err and "(profiles: local)" in err
    assert main(["check", "--profile", "staging", str(project / "main.he")]) == 2


def test_profile_values_are_checked_against_the_resource(write_files: WriteFiles,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UNSET_HOST", raising=False)
    root = write_files({"main.he": PROGRAM, "heddle.toml": '''[profiles.local.resources.pg_db]
hots = "127.0.0.1"
port = "5432"

[profiles.other.resources.pg_db]
host = "env:UNSET_HOST"
'''})
    analysis = analyze(parse(PROGRAM), load_catalog(root / "main.he", profile="other"))
    messages = [(d.code, d.message) for d in analysis.diagnostics if d.code == "HE4012"]
    toml = f"{root / 'heddle.toml'}"
    assert messages == [
        ("HE4012", f"profile `local` ({toml}:2) sets `hots`, which `postgresql.connection` has no key for; did you "
                   "mean `host`?"),
        ("HE4012", f"profile `local` ({toml}:3): `port` expects int, not '5432'"),
        ("HE4012", f"profile `other` ({toml}:6): `host` is read from the environment variable UNSET_HOST, which "
                   "is not set"),
    ]
    line = PROGRAM.splitlines().index("resource pg_db = pg.connection {")
    assert {analysis.tree.lines.position(d.span.start).line for d in analysis.diagnostics
            if d.code == "HE4012"} == {line}


def test_check_reports_a_profile_naming_no_resource_in_heddle_toml(project: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    text = TOML + '\n[profiles.local.resources.pg_dbb]\nhost = "x"\n'
    (project / "heddle.toml").write_text(text)
    line = text.splitlines().index("[profiles.local.resources.pg_dbb]") + 1
    assert main(["check", str(project)]) == 0
    out = capsys.readouterr().out
    assert f"heddle.toml:{line}:1: warning: profile `local` sets the resource `pg_dbb`, which no .he file of the " \
           "project declares; did you mean `pg_db`? [HE4013]" in out
    assert main(["check", "--format", "json", str(project / "main.he")]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["code"] for r in records] == ["HE3012", "HE4013"]  # `pg_db` is unused


def test_hover_shows_the_effective_value(project: Path) -> None:
    analysis = analyze(parse(PROGRAM), load_catalog(project / "main.he", profile="local"))
    on_key = hover(analysis, PROGRAM.encode().index(b"host:"))
    assert on_key is not None
    assert "**Effective**: `\"127.0.0.1\"`, set by profile `local`" in on_key.markdown
    assert "env:LOCAL_PG_HOST" in on_key.markdown
    on_name = hover(analysis, PROGRAM.encode().index(b"pg_db ="))
    assert on_name is not None
    assert ("**Profile `local`**" in on_name.markdown and '`host = "127.0.0.1"`' in on_name.markdown
            and "`password = env:LOCAL_PG_PASSWORD`" in on_name.markdown and "pw-never" not in on_name.markdown)


def test_the_examples_local_profile_moves_the_seed_onto_this_machine(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    seed = Path(__file__).resolve().parents[2] / "examples" / "seeds" / "fraud_detection.he"
    text = seed.read_text(encoding="utf-8")
    for name in ("HEDDLE_DEMO_PG_PORT", "HEDDLE_DEMO_CH_PORT", "HEDDLE_DEMO_CH_PATH", "HEDDLE_DEMO_KAFKA"):
        monkeypatch.delenv(name, raising=False)
    unset = analyze(parse(text), load_catalog(seed, profile="local"))
    assert sorted(d.message.split(": ", 1)[1] for d in unset.diagnostics if d.code == "HE4012") == [
        "`broker` is read from the environment variable HEDDLE_DEMO_KAFKA, which is not set",
        "`port` is read from the environment variable HEDDLE_DEMO_CH_PORT, which is not set",
        "`port` is read from the environment variable HEDDLE_DEMO_PG_PORT, which is not set"]
    monkeypatch.setenv("HEDDLE_DEMO_PG_PORT", "5433")
    monkeypatch.setenv("HEDDLE_DEMO_CH_PORT", "9001")
    monkeypatch.setenv("HEDDLE_DEMO_CH_PATH", str(tmp_path / "ch"))
    monkeypatch.setenv("HEDDLE_DEMO_KAFKA", "127.0.0.1:9093")
    analysis = analyze(parse(text), load_catalog(seed, profile="local"))
    assert [d for d in analysis.diagnostics if d.is_error] == []
    assert analysis.resources["pg_db"].config == {"host": "127.0.0.1", "port": 5433, "user": "postgres",
                                                  "database": "postgres"}
    assert analysis.resources["ch_db"].config == {"host": "127.0.0.1", "port": 9001, "protocol": "native"}
    assert analysis.resources["kf_broker"].config == {"broker": "127.0.0.1:9093"}
    embedded = analyze(parse(text), load_catalog(seed, profile="local-chdb"))
    assert [d for d in embedded.diagnostics if d.is_error] == []
    assert embedded.resources["ch_db"].config == {"host": "ch.internal", "path": str(tmp_path / "ch")}
    assert [d for d in analyze(parse(text), load_catalog(seed)).diagnostics if d.is_error] == []  # no profile
