"""Code that dataclasses generates, kept between starts of a command (heddle/kept_code.py): compiled by the first
start only, and the classes the same as without it."""

from __future__ import annotations
import __future__

import marshal
import os
import subprocess
import sys
from pathlib import Path

import pytest

from heddle import kept_code
from heddle.kept_code import CodeStore, future_flags

PROBE = """
import dataclasses, sys
from heddle.kept_code import CodeStore, keep_dataclass_code
store = CodeStore("probe")
if sys.argv[1] == "kept":
    keep_dataclass_code(store)

@dataclasses.dataclass(frozen=True, slots=True, order=True)
class Point:
    x: int
    y: int = 2
    tags: tuple[str, ...] = dataclasses.field(default_factory=tuple)

point = Point(1, tags=("a",))
try:
    point.x = 3
except dataclasses.FrozenInstanceError as error:
    frozen = str(error)
print(repr(point), point == Point(1, 2, ("a",)), point < Point(2), hash(point) == hash(Point(1, 2, ("a",))), frozen,
      sorted((k, str(v)) for k, v in Point.__init__.__annotations__.items()), Point.__init__.__defaults__)
added = store.added
store.save()
print(added, store.path.exists())
"""


def start(prefix: Path, mode: str, **environment: str) -> tuple[str, int, bool]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPYCACHEPREFIX=str(prefix), **environment)
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=False,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    behaviour, counts = done.stdout.splitlines()
    added, exists = counts.split()
    return behaviour, int(added), exists == "True"


def test_the_first_start_compiles_and_keeps_the_next_compiles_nothing_and_the_classes_are_the_same(
        tmp_path: Path) -> None:
    plain, _, _ = start(tmp_path, "plain")
    first, added, kept = start(tmp_path, "kept")
    assert first == plain and added >= 5 and kept
    assert start(tmp_path, "kept") == (plain, 0, True)


def test_nothing_is_kept_where_python_writes_no_bytecode(tmp_path: Path) -> None:
    _, added, kept = start(tmp_path, "kept", PYTHONDONTWRITEBYTECODE="1")
    assert added >= 5 and not kept


def test_a_store_compiles_a_text_once_and_a_changed_text_again(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "pycache_prefix", str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    store = CodeStore("unit")
    first = store.compiled("x = 1", "<string>", 0)
    assert store.compiled("x = 1", "<string>", 0) is first and store.added == 1
    store.save()
    again = CodeStore("unit")
    namespace: dict[str, object] = {}
    exec(again.compiled("x = 1", "<string>", 0), namespace)
    assert namespace["x"] == 1 and again.added == 0
    again.compiled("x = 2", "<string>", 0)
    assert again.added == 1
    monkeypatch.setattr(kept_code, "MAX_ENTRIES", 1)  # past the bound: started afresh with the new texts
    again.save()
    fresh = CodeStore("unit")
    fresh.compiled("x = 2", "<string>", 0)
    fresh.compiled("x = 1", "<string>", 0)
    assert fresh.added == 1  # "x = 1" was dropped


def test_where_nothing_is_written_a_save_lets_the_compiled_code_go(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "pycache_prefix", str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    store = CodeStore("unit")
    store.compiled("x = 1", "<string>", 0)
    assert store.added == 1
    store.save()
    assert store.added == 0 and not store.path.exists()
    namespace: dict[str, object] = {}
    exec(store.compiled("x = 1", "<string>", 0), namespace)  # compiled again when asked again
    assert namespace["x"] == 1 and store.added == 1


def test_future_flags_are_a_modules_own() -> None:
    assert future_flags(kept_code) == __future__.annotations.compiler_flag
    assert future_flags(os) == 0


def test_a_kept_entry_that_is_not_code_is_compiled_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "pycache_prefix", str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    store = CodeStore("unit")
    store.compiled("x = 1", "<string>", 0)
    store.save()
    entries = marshal.loads(store.path.read_bytes())
    store.path.write_bytes(marshal.dumps({key: marshal.dumps(7) for key in entries}))  # each entry read lazily
    again = CodeStore("unit")
    namespace: dict[str, object] = {}
    exec(again.compiled("x = 1", "<string>", 0), namespace)
    assert namespace["x"] == 1 and again.added == 1
