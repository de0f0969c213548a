"""Keeping a project's lineage under its size limit: the oldest runs go first.

The run being recorded is never deleted, nor is any run still going in another process; when those alone
exceed the limit, they stay. Leftovers of an interrupted deletion are removed on the way.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from heddle_engine.lineage.files import remove_folder
from heddle_engine.lineage.layout import DELETING_PREFIX
from heddle_engine.lineage.store import LineageStore


def evict(store: LineageStore, limit: int, keep: str | None) -> list[str]:
    """Delete the oldest runs until the project's runs take at most `limit` bytes; the ids deleted."""
    _remove_leftovers(store.folder)
    runs = store.runs()
    total = sum(r.size for r in runs)
    evicted: list[str] = []
    for run in reversed(runs):  # oldest first
        if total <= limit:
            break
        if run.run_id == keep or run.status == "running":
            continue
        with contextlib.suppress(FileNotFoundError):  # another process evicted it first
            remove_folder(run.folder)
            evicted.append(run.run_id)
        total -= run.size
    return evicted


def _remove_leftovers(folder: Path) -> None:
    with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith(DELETING_PREFIX) and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
