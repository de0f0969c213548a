"""Stored answers of `heddle check`: an unchanged file checked again costs a digest of its inputs and a read.

The key holds the interpreter (version and executable), the current folder, the command's arguments (the paths
as given, `--format`, `--profile`), the environment (less the variables a shell changes between two commands),
and, for each path, its project's root and its bytes' digest (a folder's modification time). The record holds
what the check wrote on standard output and standard error, its exit status, and the stamp of every input the
check read (`inputs.py`): files and folders — the file, the libraries it imports, `heddle.toml`, a script an
embedded database is described from, the metadata of installed packages — and the modules imported — the
checker itself, Polars, prqlc, the project's plugins and what they import. A record answers only while every
stamp holds: an edited library, plugin, schema script or project file, or another version of a tool or of the
checker, and the check runs again. A check that asked a server or ran a command (`inputs.Recorder.refusal`) is
not stored; nor is one that failed or read standard input.

Records are `<project>/.heddle/cache/check/<key>.json` (the project of the first path, else its folder), each
written whole (a temporary file, then `os.replace`); past `MAX_RECORDS` the oldest are removed. A file that
cannot be read or written costs only the time. `HEDDLE_CACHE=off` turns the store off, as it does the disk
cache of relational blocks.

This module and `inputs.py` import neither the checker nor the engine: an answer given from the store loads
neither them nor Polars. `heddle run` keeps its plan in the same store (`run_plans.py`: `location`, `load`, `save`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO

from heddle.cli.inputs import Recorder, changed, recording, stamp
from heddle_engine.project_root import CACHE_FOLDER, find_project

FORMAT = 1  # of the records: a record of another format is not read
MAX_RECORDS = 64
# Variables a shell sets anew for each command or changes by moving around; the current folder is in the key.
VOLATILE = frozenset({"_", "OLDPWD", "PWD", "SHLVL"})
STDIN = "-"


def answer(paths: Sequence[str], options: Sequence[str], check: Callable[[], int]) -> int:
    """`check()`'s exit status, and what it writes, from the store when its inputs did not change; else
    `check()` run with its inputs recorded and its answer stored."""
    place = location(paths, options)
    if place is None:
        return check()
    stored = load(*place)
    if stored is not None:
        try:
            out, err, status = str(stored["stdout"]), str(stored["stderr"]), int(stored["status"])
        except (KeyError, TypeError, ValueError):
            pass
        else:
            sys.stdout.write(out)
            sys.stderr.write(err)
            return status
    with recording() as recorder, _captured() as (out_parts, err_parts):
        status = check()
    save(*place, recorder, {"stdout": "".join(out_parts), "stderr": "".join(err_parts), "status": status})
    return status


def location(paths: Sequence[str], options: Sequence[str]) -> tuple[Path, str] | None:
    """The folder and key of the record of a command on `paths` with `options` (the command's name among them
    when it is not `check`); None when nothing is stored: the store turned off, standard input, no path, or a
    current folder that is gone."""
    if os.environ.get("HEDDLE_CACHE", "").lower() == "off" or STDIN in paths or not paths:
        return None
    try:
        key, folder = _key(paths, options)
    except OSError:  # a current folder that is gone, a folder that cannot be read: the command runs as it would
        return None
    return folder, key


def load(folder: Path, key: str) -> dict[str, object] | None:
    """The record stored under `key`, if there is one and every input it stamps is unchanged."""
    try:
        data = json.loads((folder / f"{key}.json").read_text(encoding="utf-8"))
        if data["format"] != FORMAT or data["key"] != key:
            return None
        files = [(str(p), s) for p, s in data["files"]]
        modules = [(str(p), s) for p, s in data["modules"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if changed(files, modules):
        return None
    return dict(data)


def save(folder: Path, key: str, recorder: Recorder, fields: dict[str, object]) -> None:
    """Store `fields` under `key` with the stamps of what `recorder` saw; nothing when the recording refused."""
    if recorder.refusal is not None:
        return
    files, modules = recorder.stamps()
    if recorder.refusal is not None:
        return
    write_record(folder, key, {"format": FORMAT, "key": key, "files": files, "modules": modules, **fields})


def write_record(folder: Path, key: str, record: object) -> None:
    """`record` as `folder/<key>.json`, written whole; the oldest records past `MAX_RECORDS` removed. A folder that
    cannot be written costs nothing but the record."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(record, file)  # ASCII: a name's undecodable bytes (lone surrogates) escaped
            os.replace(temporary, folder / f"{key}.json")
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _prune(folder)
    except (OSError, ValueError):
        return


def _key(paths: Sequence[str], options: Sequence[str]) -> tuple[str, Path]:
    roots = []
    named = []
    for raw in paths:
        path = Path(raw).absolute()
        root = find_project(path)
        roots.append(root or (path if path.is_dir() else path.parent))
        named.append([raw, str(root), stamp(str(path))])
    environment = sorted((k, v) for k, v in os.environ.items() if k not in VOLATILE)
    text = json.dumps([FORMAT, sys.version, sys.executable, os.getcwd(), list(options), named, environment])
    key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()
    return key, roots[0] / CACHE_FOLDER / "check"


def _prune(folder: Path) -> None:
    """The newest MAX_RECORDS records kept."""
    records = []
    for entry in os.scandir(folder):
        if entry.name.endswith(".json") and not entry.name.startswith("."):
            with contextlib.suppress(OSError):
                records.append((entry.stat().st_mtime_ns, entry.path))
    for _, path in sorted(records, reverse=True)[MAX_RECORDS:]:
        with contextlib.suppress(OSError):
            os.unlink(path)


class _Tee:
    """A text stream that keeps a copy of what is written to it."""

    def __init__(self, stream: IO[str], parts: list[str]) -> None:
        self._stream = stream
        self._parts = parts

    def write(self, text: str) -> int:
        self._parts.append(text)
        return self._stream.write(text)

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


@contextlib.contextmanager
def _captured() -> Iterator[tuple[list[str], list[str]]]:
    out: list[str] = []
    err: list[str] = []
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Tee(sys.stdout, out), _Tee(sys.stderr, err)  # type: ignore[assignment]
    try:
        yield out, err
    finally:
        sys.stdout, sys.stderr = saved

