"""Sending a run's Python steps to stateless workers (`heddle run --workers grpc://...`, spec §6).

At the start of the run the engine ships the source of every plugin module of the project that the run's
workflow and handlers use (steps, and the resources injected into them) to each worker (`load`), named by
the SHA-256 of its text; then each step of those modules is called in a worker, at that version (steps
are spread over the workers round-robin). Built-in modules and installed packages run in process. At the
end of the run the workers are told (`release`), and drop the versions no other run uses.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Sequence
from typing import Any

from heddle.flight.jit import digest_of
from heddle.flight.protocol import ENV_TOKEN
from heddle_engine.catalog import EngineCatalog
from heddle_engine.execute.errors import SetupError
from heddle_engine.loading import find_module_file
from heddle_engine.workers.client import WorkerError
from heddle_engine.workers.endpoints import HOOK_SECONDS, Endpoint
from heddle_engine.workers.remote import RemoteCallee
from heddle_engine.workers.settings import WorkerSetting
from heddle_lang.catalog import FunctionSpec
from heddle_lang.plan import Node
from heddle_lang.records import record

LOAD_SECONDS = 60.0  # importing a shipped module may import heavy libraries


@record
class Shipped:
    """A plugin module's source, as it is shipped to workers."""

    path: str  # the import path the run knows it by
    digest: str
    module: str
    attribute: str
    filename: str
    source: str

    def to_data(self) -> dict[str, Any]:
        return {"path": self.path, "digest": self.digest, "module": self.module, "attribute": self.attribute,
                "filename": self.filename, "source": self.source}


def shipped(catalog: EngineCatalog, path: str, via: tuple[str, ...] = ()) -> Shipped | None:
    """The source of the project module `path` (following `heddle.toml` aliases), or None for a module that
    is not a file of the project (built-ins, installed packages, other workers' modules)."""
    project = catalog.project
    if project is None or path not in project.modules or path in via:
        return None
    target = project.modules[path]
    if "/" in target and ":" not in target:  # an alias of another import path
        found = shipped(catalog, target, (*via, path))
        return Shipped(path, found.digest, found.module, found.attribute, found.filename, found.source) \
            if found is not None else None
    module, _, attribute = target.partition(":")
    file = find_module_file(module.strip(), [project.root])
    if file is None:
        return None
    source = file.read_text(encoding="utf-8")
    return Shipped(path, digest_of(source), module.strip(), attribute.strip(), str(file), source)


class JitPlacement:
    """The workers of one run and the module versions shipped to them."""

    def __init__(self, addresses: Sequence[str], catalog: EngineCatalog) -> None:
        token = f"env:{ENV_TOKEN}" if os.environ.get(ENV_TOKEN) else None
        self.catalog = catalog
        self.endpoints = [Endpoint(WorkerSetting(address=a, token=token), catalog.root) for a in addresses]
        self.versions: dict[str, str] = {}  # import path -> digest shipped
        self._turn = itertools.count()
        self._callees: dict[tuple[str, str], RemoteCallee] = {}
        self._lock = threading.Lock()

    def load(self, nodes: Sequence[Node], run_id: str) -> list[SetupError]:
        """Ship the modules `nodes` use to every worker; the problems that keep the run from starting."""
        paths = {n.module for n in nodes if n.kind in ("step", "call") and n.module}
        paths |= {r.module for n in nodes if n.module in paths for r in n.resources}
        modules = [s for s in (shipped(self.catalog, p) for p in sorted(paths)) if s is not None]
        if not modules:
            return []
        body = {"run_id": run_id, "modules": [m.to_data() for m in modules]}
        problems = []
        for endpoint in self.endpoints:
            try:
                answer = endpoint.client().action("load", body, timeout=LOAD_SECONDS)
            except WorkerError as error:
                problems.append(SetupError("HR2005", f"the worker at {endpoint.where} cannot take this run's "
                                                     f"plugins: {error}"))
                continue
            for entry in answer.get("modules", []):
                if isinstance(entry, dict) and "error" in entry:
                    problems.append(SetupError("HR2005", f"the worker at {endpoint.where} cannot import "
                                                         f"`{entry.get('path')}`: {entry['error']}"))
        self.versions = {m.path: m.digest for m in modules}
        return problems

    def callee(self, module: str, name: str, spec: FunctionSpec) -> RemoteCallee | None:
        """The remote callee of a step of a shipped module (None: the step runs where it would)."""
        if module not in self.versions:
            return None
        with self._lock:
            key = (module, name)
            if key not in self._callees:
                endpoint = self.endpoints[next(self._turn) % len(self.endpoints)]
                self._callees[key] = RemoteCallee(f"{module} {name}", spec, module, name, endpoint,
                                                  self.versions[module])
            return self._callees[key]

    def release(self, run_id: str) -> list[str]:
        problems = []
        for endpoint in self.endpoints:
            try:
                answer = endpoint.client().action("release", {"run_id": run_id}, timeout=HOOK_SECONDS)
                problems.extend(str(p) for p in answer.get("problems", []))
            except WorkerError as error:
                problems.append(f"the worker at {endpoint.where} did not release run {run_id}: {error}")
            endpoint.close()
        return problems

