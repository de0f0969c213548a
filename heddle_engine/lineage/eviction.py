"""Keeping a project's lineage under its size limit: the oldest runs go first.

The run being recorded is never deleted, nor is any run still going in another process (its `run.json` names
a process alive on this machine); when those alone exceed the limit, they stay. Several processes may evict
at once: each deletion renames the folder away first, and a folder another process took is skipped. A run's
folder appears only with its `run.json` in it (`layout.py`), so a run being set up never looks crashed.
Leftovers of an interrupted deletion, and of a set-up whose process died, are removed on the way, and so are the
entries of the index of shared Parquet copies (`copies.py`) that no run links to any more. A run counts a copy it
shares in full (its folder's size), so shared copies make eviction start early, never late.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path

from heddle_engine.lineage.copies import prune
from heddle_engine.lineage.files import read_json, remove_folder
from heddle_engine.lineage.layout import COPIES, DELETING_PREFIX, RUN_FILE, STARTING_PREFIX
from heddle_engine.lineage.store import LineageStore, run_status

ABANDONED_SETUP_SECONDS = 3600.0  # a set-up folder without `run.json` this old was left by a process that died


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
    prune(store.folder / COPIES)
    return evicted


def _remove_leftovers(folder: Path) -> None:
    with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                continue
            if entry.name.startswith(DELETING_PREFIX) or (entry.name.startswith(STARTING_PREFIX)
                                                         and _abandoned_setup(Path(entry.path))):
                shutil.rmtree(entry.path, ignore_errors=True)


def _abandoned_setup(folder: Path) -> bool:
    """Was this run folder being set up by a process that is gone?"""
    head = read_json(folder / RUN_FILE)
    if head is not None:
        return run_status(head) == "crashed"
    try:
        return time.time() - folder.stat().st_mtime > ABANDONED_SETUP_SECONDS
    except OSError:
        return False
