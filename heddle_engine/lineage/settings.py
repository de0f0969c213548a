"""Where a project keeps its lineage, and how much of it: `[lineage] limit = "500MB"` in `heddle.toml`."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from heddle_engine.lineage.errors import BAD_SETTINGS, LineageError
from heddle_engine.project_root import PROJECT_FILE, find_project

DEFAULT_LIMIT = 1 << 30  # 1 GiB

_UNITS = {
    "": 1, "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", re.IGNORECASE)


def project_root(file: Path) -> Path:
    """The folder of the nearest `heddle.toml` above `file`, else the file's own folder."""
    return find_project(file) or file.resolve().parent


def parse_size(text: str) -> int | None:
    """`"500MB"` → 500_000_000, `"1GiB"` → 1_073_741_824, `"2048"` → 2048; None when not a size."""
    match = _SIZE.fullmatch(text)
    if match is None or match.group(2).lower() not in _UNITS:
        return None
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def read_limit(root: Path) -> int | LineageError:
    """The `[lineage] limit` of the project at `root` in bytes, `DEFAULT_LIMIT` when it sets none."""
    path = root / PROJECT_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return DEFAULT_LIMIT
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        return LineageError(BAD_SETTINGS, f"{path}: {error}")
    section = data.get("lineage", {})
    if not isinstance(section, dict):
        return LineageError(BAD_SETTINGS, f"{path}: `lineage` must be a table, e.g. [lineage] limit = \"500MB\"")
    value = section.get("limit")
    if value is None:
        return DEFAULT_LIMIT
    size = value if isinstance(value, int) and not isinstance(value, bool) else (
        parse_size(value) if isinstance(value, str) else None)
    if size is None or size <= 0:
        return LineageError(BAD_SETTINGS, f"{path}: [lineage] limit must be a size such as \"500MB\", \"2GiB\" "
                                          f"or a number of bytes, not {value!r}")
    return size
