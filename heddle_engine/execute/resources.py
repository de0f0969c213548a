"""The resources of one run: each initialised when a node first needs it, shared, closed at the end.

A resource is known by its declaration's name (`resource pg_db = ...`). Its initializer runs once per run,
under a lock of its own, the first time a node injects it; a failed initialisation is not kept, so a
retried node tries again. At the end of the run every resource made is closed (`close()`), in the
reverse order of creation; a failure to close is a warning of the run.

Secrets: a key its config class marks `Secret` may take its value from the environment — write
`password: "env:PGPASSWORD"`. Every secret value is registered with the run's `Redactor`, so it never
appears in an error message, a stack trace or the error context.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from heddle.core.config import Config, config_fields, is_secret
from heddle.core.resource import Resource
from heddle_engine.execute.functions import Functions
from heddle_engine.execute.secrets import Redactor
from heddle_lang.plan import ResourceUse

if TYPE_CHECKING:
    from heddle.flight.protocol import ResourceRequest

ENV_PREFIX = "env:"


class ResourceError(Exception):
    """A resource could not be made: its config or the environment it reads is wrong."""


class ResourcePool:
    def __init__(self, functions: Functions, redactor: Redactor) -> None:
        self._functions = functions
        self._redactor = redactor
        self._made: dict[str, object] = {}
        self._order: list[str] = []
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, use: ResourceUse) -> object:
        """The resource `use` injects, made on first use."""
        with self._lock:
            if use.resource in self._made:
                return self._made[use.resource]
            lock = self._locks.setdefault(use.resource, threading.Lock())
        with lock:
            with self._lock:
                if use.resource in self._made:
                    return self._made[use.resource]
            made = self._make(use)
            with self._lock:
                self._made[use.resource] = made
                self._order.append(use.resource)
            return made

    def injected(self, uses: tuple[ResourceUse, ...]) -> dict[str, object]:
        """`{key: resource}` for a node's `<key=resource, ...>`."""
        return {use.key: self.get(use) for use in uses}

    def requests(self, uses: tuple[ResourceUse, ...], versions: Mapping[str, str]) -> tuple[ResourceRequest, ...]:
        """A node's `<key=resource, ...>` as a worker makes them: their configs, `env:` secrets resolved (and
        registered with the redactor) by the secret keys the catalog's spec of each resource declares;
        `versions`: the digests of module sources shipped to JIT workers."""
        from heddle.flight.protocol import ResourceRequest  # only runs with workers or a cluster ask

        made = []
        for use in uses:
            module = self._functions.catalog.module(use.module)
            spec = module.resources.get(use.constructor) if module is not None else None
            secrets = {f.name for f in spec.config.fields if f.secret} if spec is not None else set()
            values = dict(use.config)
            for name in secrets:
                value = values.get(name)
                if isinstance(value, str):
                    values[name] = self._secret(use, name, value)
            made.append(ResourceRequest(use.key, use.resource, use.module, use.constructor, values,
                                        versions.get(use.module, "")))
        return tuple(made)

    def close(self) -> list[str]:
        """Close every resource made (last made first); what failed to close."""
        problems: list[str] = []
        with self._lock:
            order, self._order = list(reversed(self._order)), []
            made, self._made = self._made, {}
        for name in order:
            close = getattr(made[name], "close", None)
            if not callable(close):
                continue
            try:
                close()
            except Exception as error:  # closing is best effort: the run's result stands
                problems.append(self._redactor.redact(f"resource `{name}` did not close: "
                                                      f"{type(error).__name__}: {error}"))
        return problems

    def _make(self, use: ResourceUse) -> object:
        initializer = self._functions.initializer(use.module, use.constructor)
        values = self._from_environment(use, initializer.config_type, use.config)
        config = initializer.build_config(values)
        self._redactor.add_config(config)
        made = initializer.call(config)
        if isinstance(made, Resource):
            made.resource_name = use.resource
        return made

    def _from_environment(self, use: ResourceUse, config_type: object,
                          values: Mapping[str, object]) -> dict[str, object]:
        resolved = dict(values)
        target = config_type
        if not (isinstance(target, type) and issubclass(target, Config)):
            return resolved
        for field in config_fields(target):
            value = resolved.get(field.name)
            if is_secret(field.annotation) and isinstance(value, str):
                resolved[field.name] = self._secret(use, field.name, value)
        return resolved

    def _secret(self, use: ResourceUse, key: str, value: str) -> str:
        """A secret's value (`env:NAME` read from the environment), registered so it is never shown."""
        if value.startswith(ENV_PREFIX):
            variable = value.removeprefix(ENV_PREFIX)
            found = os.environ.get(variable)
            if found is None:
                raise ResourceError(f"resource `{use.resource}`: `{key}` is read from the environment "
                                    f"variable {variable}, which is not set")
            value = found
        self._redactor.add([value])
        return value
