"""Projects that tests and benchmarks write into a folder of their own (a plugin module named in heddle.toml,
beside a program), and `heddle run` on one of them, in this process or as a command of its own."""

from __future__ import annotations

import sys
from collections.abc import Mapping
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
