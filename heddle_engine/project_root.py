"""Where a project is: the folder of its `heddle.toml`, and the folder under it where tools keep their caches.

Apart from `project.py` (which reads the file), so that what only looks for the project — `heddle check`
answering from its store (`heddle/cli/check_cache.py`) — imports nothing else.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_FILE = "heddle.toml"
CACHE_FOLDER = Path(".heddle") / "cache"  # under the project's root


def find_project(start: Path) -> Path | None:
    """The nearest folder holding `heddle.toml`, from `start` (a file or a folder) upwards."""
    start = start.resolve()
    for folder in (start, *start.parents) if start.is_dir() else start.parents:
        if (folder / PROJECT_FILE).is_file():
            return folder
    return None
