"""The workers of a project: one endpoint per module `heddle.toml` maps to a worker, and the module specs
their `describe` answers (what `heddle check`, `heddle plan` and the language server see).

Asking is bounded in time (`DESCRIBE_SECONDS`, plus `START_SECONDS` for a command's worker to listen): an
unreachable worker is a load error naming the module and the address — one diagnostic at the import — never
a hang. The catalog keeps each answer; hooks (inference, parameters) become actions on the worker.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from heddle.flight.protocol import parse_address
from heddle_engine.workers.client import WorkerClient, WorkerError
from heddle_engine.workers.process import WorkerProcess
from heddle_engine.workers.settings import ENV_PREFIX, WorkerSetting
from heddle_lang.catalog import InferenceError, InferHook, ModuleSpec, ParametersHook
from heddle_lang.catalog_data import module_from_data, schema_from_data, schema_to_data
from heddle_lang.types import Schema

DESCRIBE_SECONDS = 10.0
HOOK_SECONDS = 10.0


class Endpoint:
    """One worker: a running address, or a command's process (started on first use)."""

    def __init__(self, setting: WorkerSetting, root: Path | None) -> None:
        self.setting = setting
        self.root = root
        self.process = WorkerProcess(setting.command, root) if setting.command else None
        self._client: WorkerClient | None = None
        self._lock = threading.Lock()

    @property
    def where(self) -> str:
        """The address, or the command (with the address of its running process)."""
        if self.process is None:
            return str(self.setting.address)
        return self.setting.describe()

    @property
    def connected(self) -> bool:
        """A client was made (and its worker, if a command's, is still running)."""
        return self._client is not None and (self.process is None or self.process.alive)

    def client(self) -> WorkerClient:
        """A client of the running worker (a command's worker is started, or started again, first)."""
        with self._lock:
            address = self.process.address() if self.process is not None else str(self.setting.address)
            if self._client is None or self._client.address != address:
                if self._client is not None:
                    self._client.close()
                self._client = WorkerClient(address, token=self._token(), ca=self._ca(), same_host=_loopback(address))
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
            if self.process is not None:
                self.process.close()

    def _token(self) -> str | None:
        if self.process is not None:
            return self.process.token
        token = self.setting.token
        if token is None:
            return None
        name = token.removeprefix(ENV_PREFIX)
        value = os.environ.get(name)
        if not value:
            raise WorkerError(f"the worker's token is read from the environment variable {name}, which is not set")
        return value

    def _ca(self) -> bytes | None:
        if self.setting.ca is None:
            return None
        path = Path(self.setting.ca)
        path = path if path.is_absolute() or self.root is None else self.root / path
        try:
            return path.read_bytes()
        except OSError as error:
            raise WorkerError(f"the worker's certificate {path} cannot be read: {error}") from None


def _loopback(address: str) -> bool:
    """A plain (not TLS) address on this machine: the worker may see the engine's exchange files."""
    try:
        parsed = parse_address(address)
    except ValueError:
        return False
    return not parsed.tls and (parsed.host in ("localhost", "[::1]") or parsed.host.startswith("127."))


class Workers:
    """The endpoints of a project's worker-mapped modules, made on first use."""

    def __init__(self, settings: Mapping[str, WorkerSetting], root: Path | None) -> None:
        self.settings = dict(settings)
        self.root = root
        self._endpoints: dict[str, Endpoint] = {}
        self._lock = threading.Lock()

    def __contains__(self, path: object) -> bool:
        return path in self.settings

    def where(self, path: str) -> str:
        """The address of the worker of `path`, or the command that starts it (for plans and messages)."""
        return self.settings[path].describe()

    def endpoint(self, path: str) -> Endpoint:
        with self._lock:
            if path not in self._endpoints:
                setting = self.settings[path]
                shared = next((e for p, e in self._endpoints.items() if self.settings[p] == setting), None)
                self._endpoints[path] = shared if shared is not None else Endpoint(setting, self.root)
            return self._endpoints[path]

    def module(self, path: str) -> ModuleSpec | str:
        """The spec the worker of `path` describes, or why there is none (a load error)."""
        endpoint = self.endpoint(path)
        try:
            answer = endpoint.client().action("describe", {"path": path}, timeout=DESCRIBE_SECONDS)
        except WorkerError as error:  # it names the address, or the command that did not start
            return str(error)
        modules = answer.get("modules")
        entries = [m for m in modules if isinstance(m, dict)] if isinstance(modules, list) else []
        entry = next((m for m in entries if m.get("path") == path), entries[0] if len(entries) == 1 else None)
        if entry is None:
            return f"the worker of `{path}` ({endpoint.where}) does not serve it"
        if "error" in entry:
            return f"the worker of `{path}` ({endpoint.where}) cannot load it: {entry['error']}"
        try:
            return module_from_data({**entry["module"], "path": path}, self._hooks)
        except Exception as error:  # another program's answer: never a reason for the checker to fail
            return f"the worker of `{path}` ({endpoint.where}) described it in a form this engine cannot read: " \
                   f"{type(error).__name__}: {error}"

    def release(self, run_id: str) -> list[str]:
        """Tell every worker this catalog reached that the run `run_id` ended; what could not be told."""
        with self._lock:
            endpoints = {id(e): e for e in self._endpoints.values() if e.connected}.values()
        problems = []
        for endpoint in endpoints:
            try:
                answer = endpoint.client().action("release", {"run_id": run_id}, timeout=HOOK_SECONDS)
            except WorkerError as error:
                problems.append(f"the worker at {endpoint.where} did not release run {run_id}: {error}")
                continue
            problems.extend(str(p) for p in answer.get("problems", []))
        return problems

    def close(self) -> None:
        with self._lock:
            endpoints, self._endpoints = list(self._endpoints.values()), {}
        for endpoint in {id(e): e for e in endpoints}.values():
            endpoint.close()

    def _hooks(self, path: str, function: str) -> tuple[InferHook | None, ParametersHook | None]:
        def infer(config: Mapping[str, object], given: Schema | None) -> Schema:
            body = {"path": path, "function": function, "config": dict(config),
                    "input": schema_to_data(given) if given is not None else None}
            answer = self._ask("infer", path, body, InferenceError)
            if "schema" in answer:
                return schema_from_data(answer["schema"])
            raise InferenceError(str(answer.get("inference_error") or answer))

        def parameters(config: Mapping[str, object]) -> Sequence[str]:
            answer = self._ask("parameters", path, {"path": path, "function": function, "config": dict(config)},
                               WorkerError)
            return [str(p) for p in answer.get("parameters", [])]

        return infer, parameters

    def _ask(self, kind: str, path: str, body: dict[str, Any], error_type: type[Exception]) -> dict[str, Any]:
        endpoint = self.endpoint(path)
        try:
            return endpoint.client().action(kind, body, timeout=HOOK_SECONDS)
        except WorkerError as error:
            raise error_type(f"the worker of `{path}` ({endpoint.where}): {error}") from None
