"""The project file `heddle.toml`: where a project's root is, and the modules it maps.

```toml
[modules]
"fraud-score/detect" = "plugins.fraud:plugin"   # module:attribute naming a Plugin (or a module)
"local/security" = "local.security"             # a whole Python module
"database/postgresql" = "fhub/postgresql"       # another import path (an alias)
```
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_FILE = "heddle.toml"


@dataclass(frozen=True, slots=True)
class Project:
    root: Path
    modules: dict[str, str] = field(default_factory=dict)  # import path -> target
    problems: dict[str, str] = field(default_factory=dict)  # import path ("" for the file) -> what is wrong


def find_project(start: Path) -> Path | None:
    """The nearest folder holding `heddle.toml`, from `start` (a file or a folder) upwards."""
    start = start.resolve()
    for folder in (start, *start.parents) if start.is_dir() else start.parents:
        if (folder / PROJECT_FILE).is_file():
            return folder
    return None


def read_project(root: Path) -> Project:
    """The project at `root`; a faulty file yields `problems`, never an exception."""
    path = root / PROJECT_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        return Project(root, problems={"": f"{path}: {error}"})
    table = data.get("modules", {})
    if not isinstance(table, dict):
        return Project(root, problems={"": f"{path}: `modules` must be a table of import path = \"module:attr\""})
    modules: dict[str, str] = {}
    problems: dict[str, str] = {}
    for import_path, target in table.items():
        if isinstance(target, str) and target.strip():
            modules[import_path] = target.strip()
        else:
            problems[import_path] = (f"{path}: the module `{import_path}` must map to a string such as "
                                     f"\"package.module:plugin\", not {target!r}")
    return Project(root, modules, problems)
