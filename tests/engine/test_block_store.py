"""Block analyses on disk (`heddle_engine.block_store`): written by one process, read by the next; torn lines
skipped; bounded; and `heddle check` of an unchanged file reads every block from it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from heddle_engine import block_store
from heddle_engine.block_store import BlockFile


def test_records_flushed_are_read_by_a_new_store(tmp_path: Path) -> None:
    path = tmp_path / ".heddle" / "cache" / "relational-x.jsonl"
    first = BlockFile(path)
    assert first.get("a") is None
    first.put("a", '{"one": 1}')
    first.put("b", "é")
    first.flush()
    first.put("c", "3")
    first.flush()
    first.flush()  # nothing new: nothing written
    assert len(path.read_text(encoding="utf-8").splitlines()) == 3
    second = BlockFile(path)
    assert (second.get("a"), second.get("b"), second.get("c"), second.get("d")) == ('{"one": 1}', "é", "3", None)


def test_a_torn_or_foreign_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "relational-x.jsonl"
    path.write_text('{"key": "a", "record": "1"}\n{"key": "b", "rec\n[1, 2]\n\n{"key": "c", "record": "3"}\n',
                    encoding="utf-8")
    store = BlockFile(path)
    assert (store.get("a"), store.get("b"), store.get("c")) == ("1", None, "3")


def test_past_its_bound_the_file_keeps_the_newest_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(block_store, "MAX_RECORDS", 10)
    path = tmp_path / "relational-x.jsonl"
    store = BlockFile(path)
    for round_ in range(3):
        for i in range(4):
            store.put(f"{round_}-{i}", str(i))
        store.flush()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 10
    assert json.loads(lines[-1]) == {"key": "2-3", "record": "3"}
    assert BlockFile(path).get("2-0") == "0"


def test_a_new_build_removes_the_files_of_other_builds(tmp_path: Path) -> None:
    folder = tmp_path / ".heddle" / "cache"
    folder.mkdir(parents=True)
    (folder / "relational-old.jsonl").write_text('{"key": "a", "record": "1"}\n', encoding="utf-8")
    (folder / "other.json").write_text("{}", encoding="utf-8")
    store = BlockFile(folder / "relational-new.jsonl")
    store.put("b", "2")
    store.flush()
    assert sorted(p.name for p in folder.iterdir()) == ["other.json", "relational-new.jsonl"]


def test_an_unwritable_folder_costs_nothing_but_the_cache(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    store = BlockFile(blocker / "relational-x.jsonl")  # a folder that cannot exist
    store.put("a", "1")
    store.flush()
    assert store.get("a") == "1"


PROGRAM = """import "std/io" io

workflow Main {
  [
    { id: 1, amount: 10.5, country: "CH" },
    { id: 2, amount: 20.0, country: "JP" },
  ]
    | (from input filter amount > 15 select {id, amount})
    | (from input derive {double = amount * 2})
    | io.print
}
"""


def test_check_of_an_unchanged_file_reads_its_blocks_from_the_cache(tmp_path: Path) -> None:
    (tmp_path / "heddle.toml").write_text("[modules]\n", encoding="utf-8")
    (tmp_path / "main.he").write_text(PROGRAM, encoding="utf-8")
    # The second run's compiler may not compile anything: every block comes from the disk.
    probe = ("import sys\n"
             "from heddle_engine import compiler_process\n"
             "if sys.argv[1] == 'refuse':\n"
             "    def refuse(self, text):\n"
             "        raise AssertionError('compiled: ' + text)\n"
             "    compiler_process.CompilerProcess.__call__ = refuse\n"
             "from heddle.cli.main import main\n"
             "sys.exit(main(['check', '--format', 'json', 'main.he']))\n")

    def check(mode: str) -> str:
        done = subprocess.run([sys.executable, "-c", probe, mode], cwd=tmp_path, capture_output=True, text=True,
                              check=False, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    first = check("compile")
    files = list((tmp_path / ".heddle" / "cache").glob("relational-*.jsonl"))
    assert len(files) == 1 and len(files[0].read_text(encoding="utf-8").splitlines()) == 2
    shutil.rmtree(tmp_path / ".heddle" / "cache" / "check")  # the stored answer (heddle/cli/check_cache.py) gone
    assert check("refuse") == first
