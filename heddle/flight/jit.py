"""JIT code injection (spec §6): the module host of a stateless `heddle worker`.

At the start of a run the engine ships the source of each plugin module the workflow uses (`load`), named
by the SHA-256 of its text. Each version is imported into a namespace of its own (`_heddle_jit_<digest>`),
so two versions of a module — a run that started before an edit and one after it — run side by side, and
an edited plugin runs in its new version on the next run without restarting the worker. A version stays
while a run that loaded it has not been released (`release` at the run's end, or its idle expiry); then it
is dropped.

Only the module's own file travels: what it imports must be importable on the worker (installed
packages, or the worker's own path).
"""

from __future__ import annotations

import hashlib
import sys
import threading
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from heddle.flight.protocol import ProtocolError
from heddle.sdk.calling import LoadError, own_plugin
from heddle.sdk.plugin import Plugin
from heddle_lang.records import record

Resolver = Callable[[str], Plugin | ModuleType]  # modules the worker has itself (built-ins), by import path


@record
class Version:
    path: str
    digest: str
    name: str  # the namespace it lives in (a key of sys.modules)
    target: Plugin | ModuleType


def digest_of(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


class JitHost:
    single = False  # the modules shipped to it, and the worker's own built-ins

    def __init__(self, resolve: Resolver | None = None) -> None:
        self._resolve = resolve
        self._versions: dict[tuple[str, str], Version] = {}
        self._runs: dict[str, set[tuple[str, str]]] = {}
        self._own: dict[str, Plugin | ModuleType] = {}
        self._lock = threading.RLock()

    # --- ModuleHost ---------------------------------------------------------------------------------

    def target(self, path: str, version: str) -> Plugin | ModuleType:
        with self._lock:
            if version:
                found = self._versions.get((path, version))
                if found is None:
                    raise LoadError(f"version {version[:12]} of `{path}` is not loaded here (send `load` first)")
                return found.target
            if path not in self._own:
                if self._resolve is None:
                    raise LoadError(f"this worker has no module `{path}` of its own: ship its source with `load`")
                try:
                    self._own[path] = self._resolve(path)
                except LoadError:
                    raise
                except Exception as error:
                    raise LoadError(f"module `{path}` cannot be loaded here: {type(error).__name__}: {error}") from None
            return self._own[path]

    def described(self, path: str | None) -> list[tuple[str, Plugin | ModuleType]]:
        with self._lock:
            latest: dict[str, Version] = {}
            for version in self._versions.values():  # in load order: the last loaded wins
                latest[version.path] = version
            return [(p, v.target) for p, v in latest.items() if path is None or p == path]

    def load(self, body: Mapping[str, Any]) -> dict[str, Any]:
        run_id = body.get("run_id")
        modules = body.get("modules")
        if not isinstance(run_id, str) or not run_id or not isinstance(modules, list):
            raise ProtocolError("`load` takes {\"run_id\": ..., \"modules\": [{path, digest, module, attribute, "
                                "filename, source}, ...]}")
        answers = []
        for entry in modules:
            if not isinstance(entry, dict):
                raise ProtocolError("each module to load is a JSON object")
            answers.append(self._load_one(run_id, entry))
        return {"modules": answers, "versions": self.versions()}

    def release(self, run_id: str) -> None:
        with self._lock:
            self._runs.pop(run_id, None)
            used = set().union(*self._runs.values()) if self._runs else set()
            for key in [k for k in self._versions if k not in used]:
                version = self._versions.pop(key)
                for name in [n for n in sys.modules if n == version.name or n.startswith(f"{version.name}.")]:
                    del sys.modules[name]

    # --- versions -----------------------------------------------------------------------------------

    def versions(self) -> list[dict[str, str]]:
        with self._lock:
            return [{"path": v.path, "digest": v.digest} for v in self._versions.values()]

    def _load_one(self, run_id: str, entry: Mapping[str, Any]) -> dict[str, Any]:
        path, digest, source = entry.get("path"), entry.get("digest"), entry.get("source")
        module, attribute = str(entry.get("module") or "plugin"), str(entry.get("attribute") or "")
        filename = str(entry.get("filename") or f"<{path}>")
        if not isinstance(path, str) or not isinstance(digest, str) or not isinstance(source, str):
            raise ProtocolError("a module to load has a `path`, a `digest` and a `source` (strings)")
        if digest_of(source) != digest:
            raise ProtocolError(f"the source of `{path}` does not have the digest it was sent with")
        key = (path, digest)
        with self._lock:
            self._runs.setdefault(run_id, set()).add(key)
            if key in self._versions:
                return {"path": path, "digest": digest, "status": "cached"}
        try:
            version = _import(path, digest, module=module, attribute=attribute, filename=filename, source=source)
        except Exception as error:  # the plugin is user code: its failure is the answer, the worker goes on
            with self._lock:
                self._runs[run_id].discard(key)
            return {"path": path, "digest": digest, "error": f"{type(error).__name__}: {error}"}
        with self._lock:
            self._versions[key] = version
        return {"path": path, "digest": digest, "status": "imported"}


def _import(path: str, digest: str, *, module: str, attribute: str, filename: str, source: str) -> Version:
    """The source as a module of its own namespace; `attribute` names its plugin (empty: the module's own)."""
    name = f"_heddle_jit_{digest[:16]}_{module.replace('.', '_')}"
    namespace = ModuleType(name)
    namespace.__file__ = filename
    sys.modules[name] = namespace  # while it runs: dataclasses and typing look classes' modules up there
    try:
        exec(compile(source, filename, "exec"), namespace.__dict__)
        value: object = namespace
        for part in attribute.split(".") if attribute else ():
            value = getattr(value, part)
        target = own_plugin(value)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return Version(path, digest, name, target)
