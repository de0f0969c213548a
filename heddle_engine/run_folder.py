"""What a running step may ask of the run it belongs to: the folder its relative paths start from.

Relative paths in configs (`io.read_csv { path: "data/sales.csv" }`, a SQLite `path` or `script`) are
relative to the folder of the `.he` file being run, not to the current directory: a workflow reads the
same files wherever it is started from. Outside a run (a step called directly, e.g. in a test) they are
relative to the current directory.

The run sets a context variable; the executor copies the context into every worker thread it uses.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

_FOLDER: ContextVar[Path | None] = ContextVar("heddle_run_folder", default=None)


def run_folder() -> Path:
    """The folder relative paths start from: the `.he` file's folder during a run, else the current one."""
    folder = _FOLDER.get()
    return folder if folder is not None else Path.cwd()


def resolve_path(path: str | Path) -> Path:
    """`path` as the run sees it: absolute paths as they are, relative ones from `run_folder()`."""
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else run_folder() / candidate


@contextlib.contextmanager
def running_in(folder: Path) -> Iterator[None]:
    """Within the block (and in contexts copied from it), relative paths start from `folder`."""
    token = _FOLDER.set(folder.resolve())
    try:
        yield
    finally:
        _FOLDER.reset(token)
