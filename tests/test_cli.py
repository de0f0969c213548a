"""The `heddle` command line: output formats, exit statuses, stdin, formatting in place."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from heddle.cli.main import main
from heddle.cli.progress import AboveProgress, JsonProgress, Progress
from heddle_engine.events import BatchEvent, RunInfo
from heddle_engine.loading import forget_project_modules
from heddle_lang.plan import Plan

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



@pytest.mark.parametrize("arguments", [["--version"], ["--help"], ["bogus"]])
def test_version_and_help_import_no_engine(arguments: list[str]) -> None:
    """Only the command being run is imported: `--version` and `--help` load no engine, Polars or pyarrow."""
    probe = ("import sys\nfrom heddle.cli.main import main\n"
             "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
             "heavy = [m for m in ('polars', 'pyarrow', 'numpy', 'heddle_engine', 'heddle.sdk', 'tree_sitter') "
             "if m in sys.modules]\nprint('loaded:', heavy, file=sys.__stderr__)")
    done = subprocess.run([sys.executable, "-c", probe, *arguments], check=False, capture_output=True,
                          text=True)
    assert "loaded: []" in done.stderr, done.stderr
    help_text = done.stdout + done.stderr
    listed = () if arguments == ["--version"] else ("check", "fmt", "plan", "run", "runs", "inspect", "replay")
    for command in listed:
        assert command in help_text


def test_every_command_summary_is_its_parsers_help() -> None:
    from heddle.cli.main import build_parser

    for name in ("check", "run", "worker"):
        full = build_parser(name).format_help()
        assert full == build_parser(None).format_help(), name


def copy_quickstart(folder: Path) -> Path:
    examples = ROOT / "examples"
    for name in ("quickstart.he", "heddle.toml"):
        shutil.copy(examples / name, folder / name)
    for name in ("plugins", "data"):
        shutil.copytree(examples / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    return folder / "quickstart.he"


def test_run_stdin_as_the_file_it_stands_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """An editor's unsaved buffer: its text from stdin, relative paths, project and lineage from the file."""
    (tmp_path / "project").mkdir()
    path = copy_quickstart(tmp_path / "project")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    text = path.read_text(encoding="utf-8").replace("filter amount > 10000", "filter amount > 100")
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    try:
        status, out, err = run(capsys, "run", "-", "--stdin-filename", str(path), "--format", "json")
    finally:
        forget_project_modules(path.parent)
    assert status == 0, err
    report = json.loads(out)
    io_print = next(s for s in report["stages"] if s["label"] == "io.print")
    assert io_print["rows"]["output"] == 2  # the text from stdin ran, not the file's (1 row)
    assert (path.parent / ".heddle" / "runs" / report["run_id"]).is_dir()
    assert not (elsewhere / ".heddle").exists()


def test_stdin_filename_needs_stdin(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "run", str(ROOT / "examples" / "quickstart.he"), "--stdin-filename", "x.he")
    assert status == 2
    assert "--stdin-filename x.he: give - as the file to read standard input" in err


def test_run_progress_as_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "run", str(ROOT / "examples" / "quickstart.he"), "--no-lineage",
                           "--format", "json", "--progress", "jsonl")
    assert status == 0, err
    report = json.loads(out)
    lines = err.splitlines()
    events = [json.loads(line) for line in lines if line.startswith("{")]
    assert not [line for line in lines if '{"event"' in line and not line.startswith('{"event": ')]
    assert events[0] == {"event": "run", "run_id": report["run_id"], "workflow": "Quickstart", "stages": 7}
    ends = {(e["graph"], e["label"]): e for e in events[1:] if e["state"] == "succeeded"}
    shown = ends[("Quickstart", "io.print")]
    assert (shown["event"], shown["handler"], shown["line"], shown["attempt"], shown["rows"]) == (
        "node", False, 54, 1, 1)
    assert isinstance(shown["seconds"], float) and shown["error"] is None
    assert ends[("Quickstart", "credit.check")]["error"] == {
        "type": "RowErrors", "message": "1 row failed: order 3 of 22000.0 exceeds the credit limit 20000.0 of cy"}
    assert ends[("over_limit", "io.stderr")]["handler"] is True
    assert "│ 2   ┆ bob      ┆ gold ┆ 15000.0" in err  # what the workflow printed, on lines of its own


def test_json_progress_events_start_a_line_of_their_own() -> None:
    """A workflow thread halfway through printing a line does not swallow an event."""
    stream = io.StringIO()
    progress = JsonProgress(stream)
    printed = AboveProgress(stream, progress)  # type: ignore[arg-type]
    printed.write("half a line")
    progress.run_started(RunInfo("r1", "f.he", "W", {}, Plan(()), datetime.now(UTC)))
    printed.write(" and the rest\n")
    assert stream.getvalue().splitlines() == [
        "half a line", '{"event": "run", "run_id": "r1", "workflow": "W", "stages": 0}', " and the rest"]


def test_a_streams_progress_on_a_terminal_shows_batches_rows_per_second_and_lag() -> None:
    stream = io.StringIO()
    progress = Progress(stream, live=True)
    progress.run_started(RunInfo("r1", "f.he", "W", {}, Plan(()), datetime.now(UTC)))
    at = datetime.now(UTC)
    progress.batch_event(BatchEvent(1, "started", at, 1000, lag=2500))
    progress.batch_event(BatchEvent(1, "committed", at, 1000, 0.5, lag=2500))
    progress.batch_event(BatchEvent(2, "started", at, 1500, lag=1000))
    progress.batch_event(BatchEvent(2, "committed", at, 1500, 0.5, lag=1000))
    last = stream.getvalue().split("\x1b[2K")[-1].split("\n")[0]
    assert last.startswith("stream: batch 2, 2 committed, 2,500 rows, ") and last.endswith(" rows/s, lag 1,000")


def test_a_file_that_is_not_utf8_is_reported_at_its_first_bad_byte_and_never_rewritten(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    text = 'import "std/io" io\r\n\r\nworkflow W {\r\n  [{ city: "Montr\xe9al" }]\r\n    | io.print\r\n}\r\n'
    data = text.encode("latin-1")
    path = tmp_path / "latin1.he"
    path.write_bytes(data)
    status, out, err = run(capsys, "check", str(path))
    assert (status, out.splitlines()) == (1, [
        f"{path}:4:18: error: the file is not valid UTF-8: byte 0xE9 starts a character the next byte does not "
        "continue; Heddle files are UTF-8 [HE1015]"])
    status, out, err = run(capsys, "check", "--format", "json", str(path))
    (record,) = json.loads(out)
    assert (record["code"], record["range"]["start"]) == ("HE1015", {"line": 3, "character": 17})
    for command in (["fmt"], ["fmt", "--check"], ["fmt", "--diff"], ["plan"], ["run"]):
        status, out, err = run(capsys, *command, str(path))
        assert status in (1, 2) and "HE1015" in err and out == "", command
        assert path.read_bytes() == data
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="surrogateescape"))
    status, out, err = run(capsys, "fmt", "-")
    assert (status, out) == (1, "") and "<stdin>:4:18: error: the file is not valid UTF-8" in err


def test_a_block_that_crashes_prqlc_costs_one_diagnostic_not_the_command(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "powers.he"
    path.write_text('import "std/io" io\n\nworkflow W {\n  [{ a: 1 }]\n    | (from input derive {b = '
                    + " ** ".join(["a"] * 40_000) + "})\n    | io.print\n}\n")
    status, out, err = run(capsys, "check", str(path))
    assert status == 1
    assert out.startswith(f"{path}:5:8: error: the PRQL compiler crashed on this block (it runs in a process of "
                          "its own, which was restarted)")
    assert out.rstrip().endswith("[HE6009]")
    status, out, err = run(capsys, "run", str(path))
    assert status == 2 and "HE6009" in err
