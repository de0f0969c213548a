"""`PluginProcess`: a project's plugins, imported and asked in a separate process.

The language server never runs user code: an `EngineCatalog` given a `PluginProcess` sends every
non-built-in module to it (`heddle_engine.plugin_worker`). Specs come back as data; inference and
parameter hooks become stand-ins that ask the process. The process starts on the first question, answers
one question at a time, and is started again after it dies or overruns its time (a plugin that hangs or
exits costs that one answer: it becomes a load error or an HE5004, never a stuck server).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from heddle_engine.jsonl_child import ChildError, JsonLinesChild
from heddle_engine.plugin_boot import adopt, plugin_command
from heddle_lang.catalog import InferenceError, InferHook, ModuleSpec, ParametersHook
from heddle_lang.catalog_data import module_from_data, schema_from_data, schema_to_data
from heddle_lang.types import Schema

LOAD_SECONDS = 60.0  # importing a plugin may import heavy libraries
ANSWER_SECONDS = 10.0  # an inference hook


class PluginProcessError(Exception):
    """The process died, overran its time, or answered something unreadable."""


class PluginProcess:
    def __init__(self, root: Path | None, *, python: str = sys.executable) -> None:
        self.root = root
        early = adopt(root) if python == sys.executable else None  # started before the server imported itself
        self._child = early or JsonLinesChild(plugin_command(root, python), cwd=root)
        self._loaded: dict[str, int] = {}  # module path -> the process (by its start count) that imported it
        self._lock = threading.Lock()

    @property
    def starts(self) -> int:
        """How many processes were started (for tests and logs)."""
        return self._child.starts

    # --- what the catalog asks ---------------------------------------------------------------------

    def load(self, path: str) -> ModuleSpec | str:
        """The module mapped to `path`, or why it could not be loaded."""
        try:
            answer = self._ask({"op": "load", "path": path}, LOAD_SECONDS)
        except PluginProcessError as error:
            return f"the plugin process failed while loading `{path}`: {error}"
        if "module" in answer:
            return module_from_data(answer["module"], self._hooks)
        return str(answer.get("error", "no answer"))

    def modules(self) -> list[str] | None:
        """The files of the modules the running process imported (the plugins and what they import): what its
        answers follow from; [] when no process ran, None when it cannot say."""
        if self._child.starts == 0:
            return []
        try:
            answer = self._ask({"op": "modules"}, ANSWER_SECONDS)
        except PluginProcessError:
            return None
        modules = answer.get("modules")
        return [str(m) for m in modules] if isinstance(modules, list) else None

    def start(self) -> None:
        """Start the process now (it imports in the background), so the first question finds it ready."""
        self._child.start()

    def close(self) -> None:
        self._child.close()

    # --- hooks -------------------------------------------------------------------------------------

    def _hooks(self, path: str, function: str) -> tuple[InferHook | None, ParametersHook | None]:
        def infer(config: Mapping[str, object], given: Schema | None) -> Schema:
            request = {"op": "infer", "path": path, "function": function, "config": dict(config),
                       "input": schema_to_data(given) if given is not None else None}
            try:
                answer = self._ask(request, ANSWER_SECONDS)
            except PluginProcessError as error:
                raise InferenceError(f"the plugin process failed: {error}") from None
            if "schema" in answer:
                return schema_from_data(answer["schema"])
            raise InferenceError(str(answer.get("inference_error") or answer.get("error")))

        def parameters(config: Mapping[str, object]) -> Sequence[str]:
            answer = self._ask({"op": "parameters", "path": path, "function": function, "config": dict(config)},
                               ANSWER_SECONDS)
            if "parameters" not in answer:
                raise PluginProcessError(str(answer.get("error")))
            return [str(p) for p in answer["parameters"]]

        return infer, parameters

    # --- the process -------------------------------------------------------------------------------

    def _ask(self, request: dict[str, Any], seconds: float) -> dict[str, Any]:
        """Send `request`; a hook's module is imported first, under the load's time, not the answer's."""
        with self._lock:
            try:
                path = request.get("path")
                if request["op"] != "load" and path is not None:
                    self._child.start()  # a process that died is replaced now: its imports are gone
                    fresh = self._loaded.get(path) != self._child.starts
                    if fresh and "module" in self._child.ask({"op": "load", "path": path}, LOAD_SECONDS):
                        self._loaded[path] = self._child.starts
                answer = self._child.ask(request, seconds)
                if request["op"] == "load" and "module" in answer:
                    self._loaded[path] = self._child.starts
                return answer
            except ChildError as error:
                raise PluginProcessError(str(error)) from None
