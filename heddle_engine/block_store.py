"""Relational block analyses on disk (`heddle_lang.relational.stored.BlockStore`), under the project's
`.heddle/cache/relational-<build>.jsonl`: a cold `heddle check` of an unchanged file, and the language server's
first diagnostics, type every block the last run typed without compiling or planning it.

The keys hold the versions of heddle, prqlc and Polars; `<build>` adds the files of the checker's relational
code as installed (their sizes and times), so an edited checker (a development install keeps its version) never
reads what the previous code answered. Files of other builds are removed when a build first writes.

One line per record, `{"key": ..., "record": ...}`. The file is read once, the first time a key is asked for;
new records are appended by `flush()` (one write), so two processes that add records at once lose nothing but
maybe a torn line, and a line that does not read is skipped. Past `MAX_RECORDS` lines the file is written again
with the newest records only (a temporary file, then `os.replace`). A file that cannot be read or written costs
the time the cache would have saved, nothing else.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path

from heddle_engine.project_root import CACHE_FOLDER, find_project

MAX_RECORDS = 20_000  # about 3 KB each

_STORES: dict[Path, BlockFile] = {}
_STORES_LOCK = threading.Lock()


class BlockFile:
    """The block analyses kept in one file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._records: dict[str, str] | None = None  # read on first use
        self._lines = 0  # lines the file held when read, plus those appended since
        self._pending: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._loaded().get(key)

    def put(self, key: str, record: str) -> None:
        with self._lock:
            self._loaded()[key] = record
            self._pending[key] = record

    def flush(self) -> None:
        """Write the records added since the last flush."""
        with self._lock:
            if not self._pending:
                return
            pending, self._pending = self._pending, {}
            lines = "".join(json.dumps({"key": k, "record": r}, ensure_ascii=False) + "\n" for k, r in pending.items())
            try:
                if not self.path.exists():
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    for other in self.path.parent.glob("relational-*.jsonl"):
                        if other != self.path:
                            other.unlink(missing_ok=True)
                if self._lines + len(pending) > MAX_RECORDS:
                    self._rewrite()
                    return
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(lines)
                self._lines += len(pending)
            except OSError:
                return

    def _loaded(self) -> dict[str, str]:
        if self._records is None:
            self._records = {}
            try:
                text = self.path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
            for line in text.splitlines():
                self._lines += 1
                try:
                    entry = json.loads(line)
                    self._records[entry["key"]] = entry["record"]
                except (ValueError, KeyError, TypeError):
                    continue  # a torn or foreign line
        return self._records

    def _rewrite(self) -> None:
        """The newest records only, written whole."""
        assert self._records is not None
        kept = list(self._records.items())[-(MAX_RECORDS // 2):]
        self._records = dict(kept)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-", suffix=".jsonl")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.writelines(json.dumps({"key": k, "record": r}, ensure_ascii=False) + "\n" for k, r in kept)
            os.replace(temporary, self.path)
        except OSError:
            Path(temporary).unlink(missing_ok=True)
            raise
        self._lines = len(kept)


def block_store(path: Path | None) -> BlockFile | None:
    """The store of the project `path` (a `.he` file) belongs to (its folder when it is in none), one per project
    and process; None when `HEDDLE_CACHE=off`."""
    if os.environ.get("HEDDLE_CACHE", "").lower() == "off":
        return None
    start = (path.parent if path is not None else Path.cwd()).resolve()
    root = find_project(start) or start
    with _STORES_LOCK:
        store = _STORES.get(root)
        if store is None:
            store = _STORES[root] = BlockFile(root / CACHE_FOLDER / f"relational-{_build()}.jsonl")
        return store


@functools.cache
def _build() -> str:
    """A digest of the installed files that type a relational block."""
    import heddle_lang

    package = Path(heddle_lang.__file__).parent
    files = sorted([*(package / "relational").rglob("*.py"), package / "types.py", package / "catalog_data.py"])
    digest = hashlib.sha256()
    for file in files:
        try:
            stat = file.stat()
        except OSError:
            continue
        digest.update(f"{file.relative_to(package).as_posix()} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]
