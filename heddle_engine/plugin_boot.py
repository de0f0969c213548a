"""A project's plugin process started before the language server has imported itself.

The server's own imports (the protocol's types, Polars, the checker) take about a second of CPU, and so do the
plugin process's (Polars, the SDK, the plugins): started one after the other they add up before the first
diagnostics. The server therefore starts the plugin process of the project it is started in (its current
folder, as editors start it in the workspace) first thing (`start_early`), and the two import side by side on
two cores. The catalog of that project takes the process over (`adopt`, from `plugin_process.PluginProcess`);
one that no catalog took once the workspace's folders are known is stopped (`stop_unadopted`). Light on
purpose: this module imports neither Polars nor the checker.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from heddle_engine.jsonl_child import JsonLinesChild
from heddle_engine.project import read_project
from heddle_engine.project_root import find_project

_EARLY: dict[Path, JsonLinesChild] = {}
_LOCK = threading.Lock()


def plugin_command(root: Path | None, python: str = sys.executable) -> list[str]:
    """The command of a project's plugin process (`heddle_engine.plugin_worker`)."""
    return [python, "-m", "heddle_engine.plugin_worker", str(root) if root is not None else "-"]


def start_early(folder: Path) -> None:
    """Start the plugin process of `folder`'s project now, if its `heddle.toml` maps modules (a folder that
    cannot be read, or is gone, starts nothing)."""
    try:
        root = find_project(folder)
        if root is None or not read_project(root).modules:
            return
    except OSError:
        return
    child = JsonLinesChild(plugin_command(root), cwd=root)
    child.start()
    with _LOCK:
        _EARLY[root] = child


def adopt(root: Path | None) -> JsonLinesChild | None:
    """The process started early for `root`'s project, now the caller's; None if there is none."""
    if root is None:
        return None
    with _LOCK:
        return _EARLY.pop(root, None)


def stop_unadopted() -> None:
    with _LOCK:
        children = list(_EARLY.values())
        _EARLY.clear()
    for child in children:
        child.close()
