"""The plugin process: imports a project's plugins and answers questions about them, one JSON line each.

Run as `python -m heddle_engine.plugin_worker PROJECT_ROOT` (or `-` outside a project) by
`heddle_engine.plugin_process.PluginProcess`. Requests and answers are single JSON lines on stdin and on
the process's original stdout; the plugins' own output (a `print` at import time) goes to stderr, so it
can never be mistaken for an answer.

    {"id": 1, "op": "load", "path": "fraud-score/detect"}
        -> {"id": 1, "module": {...}} | {"id": 1, "error": "..."}
    {"id": 2, "op": "infer", "path": ..., "function": ..., "config": {...}, "input": {...} | null}
        -> {"id": 2, "schema": {...}} | {"id": 2, "inference_error": "..."}
    {"id": 3, "op": "parameters", "path": ..., "function": ..., "config": {...}}
        -> {"id": 3, "parameters": [...]}
    {"id": 4, "op": "modules"}
        -> {"id": 4, "modules": [...]}   (the files of the modules it imported, the standard library's aside)
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any, TextIO

from heddle_engine.catalog import EngineCatalog
from heddle_engine.project import read_project
from heddle_lang.catalog import FunctionSpec, InferenceError
from heddle_lang.catalog_data import module_to_data, schema_from_data, schema_to_data


def _protocol_streams() -> tuple[TextIO, TextIO]:
    """The protocol's own copies of stdin and stdout; fd 0 becomes /dev/null and fd 1 a copy of stderr."""
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    sys.stdout = sys.stderr
    return requests, answers


class Worker:
    def __init__(self, catalog: EngineCatalog) -> None:
        self.catalog = catalog

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "load":
            path = request["path"]
            module = self.catalog.module(path)
            if module is not None:
                return {"module": module_to_data(module)}
            return {"error": self.catalog.load_error(path) or f"no module is mapped to `{path}`"}
        if op in ("infer", "parameters"):
            function = self._function(request["path"], request["function"])
            if function is None:
                return {"error": f"`{request['path']}` has no function `{request['function']}`"}
            if op == "parameters":
                return {"parameters": list(function.parameters_for(request["config"]))}
            return self._infer(function, request)
        if op == "modules":  # what its answers follow from, for the language server's stored answers
            return {"modules": _module_files()}
        return {"error": f"unknown request {op!r}"}

    def _function(self, path: str, name: str) -> FunctionSpec | None:
        module = self.catalog.module(path)
        return module.functions.get(name) if module is not None else None

    @staticmethod
    def _infer(function: FunctionSpec, request: dict[str, Any]) -> dict[str, Any]:
        if function.infer is None:
            return {"error": f"`{function.name}` has no inference hook"}
        given = request.get("input")
        try:
            schema = function.infer(request["config"], schema_from_data(given) if given is not None else None)
        except InferenceError as error:
            return {"inference_error": str(error)}
        return {"schema": schema_to_data(schema)}


def _module_files() -> list[str]:
    """The files of the modules imported, the standard library's aside (the interpreter's version stands for it)."""
    standard = os.path.dirname(os.__file__) + os.sep
    files = {getattr(module, "__file__", None) for module in list(sys.modules.values())}
    return sorted(f for f in files if isinstance(f, str) and not (f.startswith(standard) and "-packages" not in f))


def serve(worker: Worker, requests: TextIO, answers: TextIO) -> None:
    for line in requests:
        if not line.strip():
            continue
        request: dict[str, Any] = {}
        try:
            request = json.loads(line)
            answer = worker.answer(request)
        except (Exception, SystemExit) as error:  # plugin code: its failure is an answer, never the end
            answer = {"error": f"{type(error).__name__}: {error}",
                      "trace": "".join(traceback.format_exception(error))}
        answer["id"] = request.get("id")
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


def main() -> None:
    requests, answers = _protocol_streams()
    root = sys.argv[1] if len(sys.argv) > 1 else "-"
    project = read_project(Path(root)) if root != "-" else None
    serve(Worker(EngineCatalog(project)), requests, answers)


if __name__ == "__main__":
    main()
