"""Projects that tests and benchmarks write into a folder of their own (a plugin module named in heddle.toml,
beside a program), and `heddle run` on one of them, in this process or as a command of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from heddle.cli.main import main
from heddle_engine.loading import forget_project_modules


def plugin_project(folder: Path, plugin: str, source: str, program: str | None = None, *, module: str | None = None,
                   others: Mapping[str, str] | None = None) -> Path:
    """`folder` (made if missing) as a project: the plugin's `source` as `<plugin>.py`, imported as `t/<plugin>`
    (or `module`) through its `plugin` object, `others` more `[modules]` entries (import path → TOML value), and
    `program` as `main.he`; the path of `main.he`."""
    folder.mkdir(parents=True, exist_ok=True)
    modules = {module or f"t/{plugin}": f'"{plugin}:plugin"', **(others or {})}
    (folder / "heddle.toml").write_text("[modules]\n" + "".join(f'"{name}" = {value}\n' for name, value in
                                                                 modules.items()), encoding="utf-8")
    (folder / f"{plugin}.py").write_text(source, encoding="utf-8")
    if program is not None:
        (folder / "main.he").write_text(program, encoding="utf-8")
    return folder / "main.he"


def run_here(file: Path, *more: str) -> int:
    """`heddle run FILE --no-lineage MORE` in this process; its exit status. The project's plugin modules are
    forgotten after it (the next project may have a module of the same name)."""
    try:
        return main(["run", str(file), "--no-lineage", *more])
    finally:
        forget_project_modules(file.parent)


def run_command(file: Path | str, *more: str) -> list[str]:
    """`heddle run FILE --no-lineage MORE` as a command of its own (with this Python)."""
    return [sys.executable, "-m", "heddle.cli.main", "run", str(file), "--no-lineage", *more]


def modules_loaded(folder: Path, arguments: Sequence[str], modules: Sequence[str]) -> tuple[list[str], int]:
    """`heddle ARGUMENTS` in a process of its own in `folder` (the disk cache on: `HEDDLE_CACHE` unset): which of
    `modules` it had imported when it returned, and its exit status."""
    probe = ("import json, sys\n"
             "from heddle.cli.main import main\n"
             f"status = main({list(arguments)!r})\n"
             f"print(json.dumps([[m for m in {list(modules)!r} if m in sys.modules], status]), file=sys.stderr)\n")
    environment = {k: v for k, v in os.environ.items() if k != "HEDDLE_CACHE"}
    done = subprocess.run([sys.executable, "-c", probe], cwd=folder, capture_output=True, text=True, check=False,
                          timeout=120, env=environment)
    loaded, status = json.loads(done.stderr.splitlines()[-1])
    return loaded, status
