"""The `heddle` command line: output formats, exit statuses, stdin, formatting in place."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from heddle.cli.main import main

ROOT = Path(__file__).parent.parent
INVALID = """import "std/io" io

step show = io.print { }

workflow W {
  [{ id: 1 }] > rows
  rows
    | show
}
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_check_prints_compiler_style_lines_sorted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.he"
    path.write_text(INVALID)
    status, out, err = run(capsys, "check", str(path))
    assert status == 1
    assert out.splitlines() == [
        f"{path}:3:22: error: the block of this step must span several lines: `{{` ends its line and `}}` "
        "stands on a line of its own [HE2001]",
        f"{path}:6:15: error: the assignment `>` must start its own line [HE2006]",
    ]
    assert "2 errors, 0 warnings in 1 file" in err


def test_check_json_has_lsp_shaped_ranges(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.he"
    path.write_text(INVALID)
    status, out, _ = run(capsys, "check", "--format", "json", str(path))
    assert status == 1
    records = json.loads(out)
    assert records[1] == {
        "file": str(path),
        "range": {"start": {"line": 5, "character": 14}, "end": {"line": 5, "character": 15}},
        "severity": "error",
        "code": "HE2006",
        "message": "the assignment `>` must start its own line",
    }


def test_json_columns_are_utf16(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "emoji.he"
    path.write_text('resource r = pg.connection {\n  label: "🚀", host: x\n}\n')
    _, out, _ = run(capsys, "check", "--format", "json", str(path))
    (record,) = [r for r in json.loads(out) if r["code"] == "HE1008"]
    # `🚀` is two UTF-16 code units: `x` starts at character 21, not 20.
    assert record["range"]["start"] == {"line": 1, "character": 21}
    _, text_out, _ = run(capsys, "check", str(path))
    assert ":2:21: error:" in text_out  # compiler output counts characters, 1-based


def test_check_the_examples_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "check", *(str(p) for p in sorted((ROOT / "examples").glob("*.he"))))
    assert (status, err) == (0, "")
    assert out == ""


def test_check_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO('import "std/io"\n'))
    status, out, _ = run(capsys, "check", "-")
    assert status == 1
    assert out.startswith("<stdin>:1:1: error: the import of \"std/io\" needs an alias")


def test_usage_errors_exit_two(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "check", "does/not/exist.he")
    assert status == 2
    assert "no such file or directory" in err
    with pytest.raises(SystemExit) as exc:
        main(["check", "--format", "yaml", "x.he"])
    assert exc.value.code == 2


def test_fmt_check_and_diff_change_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "w.he"
    original = "workflow W {\n  a | b\n}\n"
    path.write_text(original)
    status, _, err = run(capsys, "fmt", "--check", str(path))
    assert status == 1
    assert f"would reformat {path}" in err
    status, out, _ = run(capsys, "fmt", "--diff", str(path))
    assert status == 0
    assert "-  a | b\n+  a\n+    | b\n" in out
    assert path.read_text() == original


def test_fmt_rewrites_in_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "w.he"
    path.write_text("workflow W {\n  a | b\n}\n")
    status, _, err = run(capsys, "fmt", str(path))
    assert status == 0
    assert f"reformatted {path}" in err
    assert path.read_text() == "workflow W {\n  a\n    | b\n}\n"
    assert run(capsys, "fmt", "--check", str(path))[0] == 0


def test_fmt_stdin_to_stdout(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("workflow W { a > b }\n"))
    status, out, _ = run(capsys, "fmt", "-")
    assert status == 0
    assert out == "workflow W {\n  a\n  > b\n}\n"


def test_fmt_refuses_syntax_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.he"
    path.write_text('resource r = pg.connection {\n  host: "x\n}\n')
    status, _, err = run(capsys, "fmt", str(path))
    assert status == 1
    assert "[HE1003]" in err and "not formatted: fix the syntax errors first" in err
    assert path.read_text() == 'resource r = pg.connection {\n  host: "x\n}\n'


def test_version_and_help_from_the_installed_script() -> None:
    script = str(Path(sys.executable).parent / "heddle")
    version = subprocess.run([script, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == "heddle 0.1.0"
    helptext = subprocess.run([script, "check", "--help"], capture_output=True, text=True, check=True)
    assert "--format {text,json}" in helptext.stdout
