"""The project file `heddle.toml`: where a project's root is, the modules it maps, and the folders outside it
that readers and writers may use.

```toml
[modules]
"fraud-score/detect" = "plugins.fraud:plugin"   # module:attribute naming a Plugin (or a module)
"local/security" = "local.security"             # a whole Python module
"database/postgresql" = "fhub/postgresql"       # another import path (an alias)
"shop/score" = { command = ["node", "score.js"] } # a module a worker serves (`workers/settings.py`)

[paths]
allow = ["/srv/shared", "../exports"]           # folders outside the project (relative: to the project)

[cluster]
address = "ray://head.internal:10001"           # runs go to this Ray cluster (`heddle run --cluster` overrides)

[profiles.local.cluster]
address = "auto"                                # ... or, with the profile `local` in force, this one
```

`path_policy` is what the checker gets (`heddle_lang.paths`): file paths in configs stay inside the project
or those folders.
"""

from __future__ import annotations

import os
from dataclasses import field
from pathlib import Path

from heddle_engine.project_root import PROJECT_FILE
from heddle_engine.workers.settings import WorkerSetting, jit_workers, worker_setting
from heddle_lang.paths import PathPolicy
from heddle_lang.records import record


@record
class Project:
    root: Path
    modules: dict[str, str] = field(default_factory=dict)  # import path -> target
    problems: dict[str, str] = field(default_factory=dict)  # import path ("" for the file) -> what is wrong
    workers: dict[str, WorkerSetting] = field(default_factory=dict)  # import path -> the worker serving it
    jit_workers: tuple[str, ...] = ()  # `[workers] jit`: where runs send the project's Python steps
    allowed: tuple[Path, ...] = ()  # `[paths] allow`: folders outside the project configs may name
    cluster: str | None = None  # `[cluster] address`: the Ray cluster runs go to (`heddle run --cluster`)
    profile_clusters: dict[str, str] = field(default_factory=dict)  # `[profiles.NAME.cluster] address`


def read_project(root: Path) -> Project:
    """The project at `root`; a faulty file yields `problems`, never an exception."""
    import tomllib  # here: a run outside a project never loads it (its regular expressions compile at import)

    path = root / PROJECT_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        return Project(root, problems={"": f"{path}: {error}"})
    allowed, paths_problem = _allowed(root, path, data.get("paths", {}))
    table = data.get("modules", {})
    if not isinstance(table, dict):
        return Project(root, problems={"": f"{path}: `modules` must be a table of import path = \"module:attr\""},
                       allowed=allowed)
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
    cluster, cluster_problem = cluster_address(data.get("cluster"))
    profile_clusters: dict[str, str] = {}
    profiles = data.get("profiles")
    for name, profile in profiles.items() if isinstance(profiles, dict) else ():
        found, problem = cluster_address(profile.get("cluster") if isinstance(profile, dict) else None)
        if found is not None:
            profile_clusters[name] = found
        cluster_problem = cluster_problem or (f"profile `{name}`: {problem}" if problem else None)
    if cluster_problem is not None:
        problems[""] = f"{problems[''] + '; ' if '' in problems else ''}{path}: {cluster_problem}"
    if paths_problem:
        problems[""] = f"{problems[''] + '; ' if '' in problems else ''}{paths_problem}"
    return Project(root, modules, problems, workers, jit, allowed, cluster, profile_clusters)


def cluster_address(table: object) -> tuple[str | None, str | None]:
    """`[cluster] address = "ray://host:port"` (or `"auto"`): the address, and what is wrong with the table."""
    if table is None:
        return None, None
    address = table.get("address") if isinstance(table, dict) and set(table) <= {"address"} else None
    if not isinstance(address, str) or not address.strip():
        return None, "`[cluster]` holds `address = \"ray://host:port\"` (or \"auto\": RAY_ADDRESS, else this machine's)"
    return address.strip(), None


def _allowed(root: Path, path: Path, table: object) -> tuple[tuple[Path, ...], str | None]:
    """`[paths] allow = [...]` as absolute folders, and what is wrong with it."""
    entries = table.get("allow", []) if isinstance(table, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, str) and e.strip() for e in entries):
        return (), f"{path}: `[paths] allow` must be a list of folders, e.g. allow = [\"/srv/shared\", \"../exports\"]"
    return tuple(Path(os.path.normpath(root / Path(e).expanduser())) for e in entries), None


def path_policy(file: Path | None, project: Project | None) -> PathPolicy:
    """Where the file paths of `file`'s configs may point: its project (the folder of its `heddle.toml`, else
    its own folder) and the folders the project allows. `file` None: a text read from stdin, in the current
    folder."""
    folder = (file.parent if file is not None else Path.cwd()).resolve()
    root = project.root.resolve() if project is not None else folder
    return PathPolicy(root=os.path.normpath(root), folder=os.path.normpath(folder),
                      allowed=tuple(os.path.normpath(a) for a in (project.allowed if project else ())),
                      home=str(Path.home()))
