"""The host actor: one per cluster node and run, where the run's step calls on that node happen.

It holds what must outlive one call: the plugin versions the run shipped (imported by digest into
namespaces of their own, as a `heddle worker` does: an edited plugin runs in its new version in the next
run, on the same cluster), the run's resources made on this node (connections: made once, closed when
the run ends), and a lookup's progress (a retry of the lookup goes on from the batch that failed).
Calls are independent: a step that raises is an error answer, and the host goes on. A call that overruns its
`timeout` is ended with the host: the driver asks where it is (`stack`) and kills the host; a lookup's calls
are timed here, call by call, as in process.

Each method answers `(meta, table, extra)`: `meta` small (rows, schema, or the error), `table` the output,
`extra` the failed rows of `RowErrors` or the keys a failed lookup had not done yet.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import polars as pl

from heddle.core.resource import Resource
from heddle.core.table import RowErrors
from heddle.flight.jit import JitHost
from heddle.flight.protocol import ResourceRequest
from heddle.flight.rows import output_table
from heddle.sdk.calling import Callee, LoadError, own_plugin, read_initializer, read_step
from heddle.sdk.plugin import Plugin
from heddle.sdk.spec import module_spec
from heddle_engine.cluster.data import Frame
from heddle_engine.cluster.output import captured, install, packed
from heddle_engine.cluster.tasks import Meta, error_meta, inputs_of, table_meta
from heddle_engine.execute.lookups import Lookup, LookupSource, bindings
from heddle_engine.execute.timeouts import Abandoned, stack_of, within
from heddle_engine.run_folder import running_in

Answer = tuple[Meta, Frame | None, Frame | None]


def own_module(path: str) -> Plugin | ModuleType:
    """A module the cluster's Python has itself: a built-in, or an installed package's (entry points)."""
    from importlib import metadata

    from heddle_engine.catalog import ENTRY_POINT_GROUP
    from heddle_engine.loading import load_target
    from heddle_engine.modules import BUILTIN_MODULES

    if path in BUILTIN_MODULES:
        return own_plugin(load_target(BUILTIN_MODULES[path]))
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name == path:
            return own_plugin(entry_point.load())
    raise LoadError(f"`{path}` is neither shipped with the run nor installed on the cluster")


class StepHost:
    def __init__(self, run_id: str, folder: str, modules: Sequence[Mapping[str, Any]]) -> None:
        install()  # a call's prints and logs go back with its answer
        self.run_id = run_id
        self.folder = Path(folder)
        self.jit = JitHost(own_module)
        answer = self.jit.load({"run_id": run_id, "modules": list(modules)}) if modules else {"modules": []}
        self.problems = [f"cannot import `{m.get('path')}`: {m['error']}" for m in answer["modules"] if "error" in m]
        self._resources: dict[str, object] = {}
        self._order: list[str] = []
        self._callees: dict[tuple[str, str, str], Callee] = {}
        self._lookups: dict[str, Lookup] = {}
        self._running: dict[object, int] = {}  # a call's id -> the thread running it
        self._abandoned = Abandoned()  # a lookup's calls that overran their timeout (the driver ends the host)
        self._lock = threading.Lock()
        self._making = threading.Lock()

    def ready(self) -> tuple[int, list[str]]:
        """This process's id (to find it on the node) and the shipped modules it could not import."""
        import os

        return os.getpid(), self.problems

    # --- calls --------------------------------------------------------------------------------------

    def call(self, request: Mapping[str, Any], frame: Frame | None) -> Answer:
        """A step call; its answer's meta carries what it wrote (`output.py`)."""
        with captured() as writes:
            meta, table, extra = self._call(request, frame)
        return _with_output(meta, writes), table, extra

    def _call(self, request: Mapping[str, Any], frame: Frame | None) -> Answer:
        table = frame.table if frame is not None else None
        call = request.get("call")
        try:
            with self._lock:
                self._running[call] = threading.get_ident()
            callee = self._callee(request)
            with running_in(self.folder):
                resources = {r.key: self._resource(r) for r in request["resources"]}
                config = callee.build_config(request["config"], resources)
                returned = callee.call(config, callee.input_type(table) if table is not None else None,
                                       request["parameters"])
        except RowErrors as partial:
            output = output_table(partial.output)
            if output is None:
                return error_meta(TypeError("RowErrors' output is not a Table")), None, None
            return ({"rows": table_meta(output), "reasons": list(partial.reasons)},
                    Frame(output), Frame(partial.failed.to_arrow()))
        except Exception as error:  # the step's failure (or its resource's): the run decides what follows
            return error_meta(error), None, None
        finally:
            with self._lock:
                self._running.pop(call, None)
        if returned is None:  # a sink: its input goes on
            return {"sink": True}, None, None
        output = output_table(returned)
        if output is None:
            return {"returned": type(returned).__name__}, None, None
        return {"rows": table_meta(output)}, Frame(output), None

    def lookup(self, key: str, request: Mapping[str, Any], sources: Sequence[LookupSource],  # noqa: PLR0917
               layout: Sequence[tuple[str, int]], batch: int, batched: bool, *frames: Frame) -> Answer:
        """A step joined by key, once per batch of distinct keys of the drivers; resumed by a retry of `key`. Its
        answer's meta carries what the calls wrote."""
        with captured() as writes:
            meta, table, extra = self._lookup(key, request, sources, layout, batch, batched, *frames)
        return _with_output(meta, writes), table, extra

    def _lookup(self, key: str, request: Mapping[str, Any], sources: Sequence[LookupSource],  # noqa: PLR0917
                layout: Sequence[tuple[str, int]], batch: int, batched: bool, *frames: Frame) -> Answer:
        try:
            callee = self._callee(request)
            with self._lock:
                lookup = self._lookups.get(key)
            if lookup is None:
                inputs = inputs_of(layout, frames)
                lookup = Lookup(bindings(sources, inputs.__getitem__), batch)
                with self._lock:
                    self._lookups[key] = lookup
        except Exception as error:
            return error_meta(error), None, None

        def call(binding: Mapping[str, object]) -> Any:
            from heddle_engine.execute.data import Data

            def once() -> object:
                with running_in(self.folder):
                    resources = {r.key: self._resource(r) for r in request["resources"]}
                    config = callee.build_config(request["config"], resources)
                    return callee.call(config, None, {**request["parameters"], **binding})

            returned = within(request.get("timeout"), once, request.get("label", callee.label), self._abandoned)
            output = output_table(returned)
            if output is None:
                raise TypeError(f"`{callee.label}` returned {type(returned).__name__}, not a Table")
            return Data(arrow=output)

        try:
            lookup.run_batched(call) if batched else lookup.run(call)
        except Exception as error:
            remaining = lookup.remaining().to_arrow(compat_level=pl.CompatLevel.newest())
            overran = bool(self._abandoned.running())  # a call still runs: the driver ends this host
            return {**error_meta(error), "keys": lookup.keys.height, "overran": overran}, None, Frame(remaining)
        with self._lock:
            self._lookups.pop(key, None)
        output = lookup.result(request["output"]).arrow()
        return {"rows": table_meta(output), "keys": lookup.keys.height}, Frame(output), None

    def stack(self, call: str) -> str:
        """Where the call `call` (the id its request carries) is now: what its timeout reports before the driver
        ends this process."""
        with self._lock:
            thread = self._running.get(call)
        return stack_of(thread) if thread is not None else ""

    def close(self) -> list[str]:
        """The run ended: close its resources (last made first); what failed to close."""
        problems = []
        with self._lock:
            order, self._order = list(reversed(self._order)), []
            made, self._resources = self._resources, {}
        for name in order:
            close = getattr(made[name], "close", None)
            if callable(close):
                try:
                    close()
                except Exception as error:  # best effort: the run's result stands
                    problems.append(f"resource `{name}` did not close: {type(error).__name__}: {error}")
        self.jit.release(self.run_id)
        return problems

    # --- reading ------------------------------------------------------------------------------------

    def _callee(self, request: Mapping[str, Any]) -> Callee:
        key = (request["module"], request["version"], request["step"])
        with self._lock:
            found = self._callees.get(key)
        if found is None:
            target = self.jit.target(request["module"], request["version"])
            spec = module_spec(target, request["module"]).functions.get(request["step"])
            if spec is None:
                raise LoadError(f"module `{request['module']}` has no step `{request['step']}`")
            found = read_step(target, request["module"], request["step"], spec)
            with self._lock:
                self._callees[key] = found
        return found

    def _resource(self, request: ResourceRequest) -> object:
        with self._making:  # made once per run on this node, under one lock (connections are few)
            if request.name in self._resources:
                return self._resources[request.name]
            initializer = read_initializer(self.jit.target(request.module, request.version), request.module,
                                           request.constructor)
            made = initializer.call(initializer.build_config(request.config))
            if isinstance(made, Resource):
                made.resource_name = request.name
            self._resources[request.name] = made
            self._order.append(request.name)
            return made


def _with_output(meta: Meta, writes: Sequence[tuple[str, str]]) -> Meta:
    return {**meta, "output": packed(writes)} if writes else meta
