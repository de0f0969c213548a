"""The project file `heddle.toml`: where a project's root is, and the modules it maps.

```toml
[modules]
"fraud-score/detect" = "plugins.fraud:plugin"   # module:attribute naming a Plugin (or a module)
"local/security" = "local.security"             # a whole Python module
"database/postgresql" = "fhub/postgresql"       # another import path (an alias)
"shop/score" = { command = ["node", "score.js"] } # a module a worker serves (`workers/settings.py`)
```
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from heddle_engine.workers.settings import WorkerSetting, jit_workers, worker_setting

PROJECT_FILE = "heddle.toml"


@dataclass(frozen=True, slots=True)
class Project:
    root: Path
    modules: dict[str, str] = field(default_factory=dict)  # import path -> target
    problems: dict[str, str] = field(default_factory=dict)  # import path ("" for the file) -> what is wrong
    workers: dict[str, WorkerSetting] = field(default_factory=dict)  # import path -> the worker serving it
    jit_workers: tuple[str, ...] = ()  # `[workers] jit`: where runs send the project's Python steps


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
    workers: dict[str, WorkerSetting] = {}
    for import_path, target in table.items():
        if isinstance(target, str) and target.strip():
            modules[import_path] = target.strip()
        elif isinstance(target, dict):
            setting = worker_setting(import_path, target)
            if isinstance(setting, str):
                problems[import_path] = f"{path}: {setting}"
            else:
                workers[import_path] = setting
        else:
            problems[import_path] = (f"{path}: the module `{import_path}` must map to a string such as "
                                     f"\"package.module:plugin\" or a worker such as {{ worker = \"grpc://...\" }}, "
                                     f"not {target!r}")
    jit, problem = jit_workers(data)
    if problem is not None:
        problems[""] = f"{path}: {problem}"
    return Project(root, modules, problems, workers, jit)
