"""`PluginProcess`: a project's plugins, imported and asked in a separate process.

The language server never runs user code: an `EngineCatalog` given a `PluginProcess` sends every
non-built-in module to it (`heddle_engine.plugin_worker`). Specs come back as data; inference and
parameter hooks become stand-ins that ask the process. The process starts on the first question, answers
one question at a time, and is started again after it dies or overruns its time (a plugin that hangs or
exits costs that one answer: it becomes a load error or an HE5004, never a stuck server).
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

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
        self._command = [python, "-m", "heddle_engine.plugin_worker", str(root) if root is not None else "-"]
        self._process: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._loaded: set[str] = set()  # modules the current process has imported
        self._next_id = 0
        self._lock = threading.Lock()
        self.starts = 0  # how many processes were started (for tests and logs)

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

    def start(self) -> None:
        """Start the process now (it imports in the background), so the first question finds it ready."""
        with self._lock:
            self._started()

    def close(self) -> None:
        with self._lock:
            self._stop()

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
            process = self._started()
            try:
                path = request.get("path")
                if request["op"] != "load" and path is not None and path not in self._loaded:
                    self._exchange(process, {"op": "load", "path": path}, LOAD_SECONDS)
                answer = self._exchange(process, request, seconds)
                if request["op"] == "load" and "module" in answer:
                    self._loaded.add(path)
                return answer
            except (OSError, ValueError, PluginProcessError) as error:
                self._stop()
                if isinstance(error, PluginProcessError):
                    raise
                raise PluginProcessError(f"{type(error).__name__}: {error}") from None

    def _exchange(self, process: subprocess.Popen[bytes], request: dict[str, Any], seconds: float) -> dict[str, Any]:
        self._next_id += 1
        request = {**request, "id": self._next_id}
        assert process.stdin is not None
        process.stdin.write(json.dumps(request).encode("utf-8") + b"\n")
        process.stdin.flush()
        deadline = time.monotonic() + seconds
        while True:
            answer = json.loads(self._read_line(process, deadline))
            if answer.get("id") == request["id"]:
                return dict(answer)

    def _started(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._process = subprocess.Popen(self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         cwd=self.root, env=env)
        self._buffer = b""
        self._loaded = set()
        self.starts += 1
        return self._process

    def _read_line(self, process: subprocess.Popen[bytes], deadline: float) -> bytes:
        assert process.stdout is not None
        fd = process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise PluginProcessError("it did not answer in time")
                if not selector.select(left):
                    continue
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    try:
                        code: int | None = process.wait(timeout=2)
                    except subprocess.TimeoutExpired:
                        code = None
                    raise PluginProcessError(f"it exited (status {code})" if code is not None
                                             else "it closed its output")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
        if process.poll() is None:
            process.kill()
        process.wait()
