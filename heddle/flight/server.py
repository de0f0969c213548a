"""The Python worker: Heddle's worker protocol served on Arrow Flight (`pyarrow.flight`).

A `WorkerServer` serves the modules a `ModuleHost` holds: one plugin (`plugin.serve()`), or the versions
of plugin modules an engine shipped (`heddle worker`, `heddle.flight.jit`). Steps are called with the SDK's
calling convention (`heddle.sdk.calling`), exactly as the engine calls them in its own process; the
engine keeps the retries, handlers and row accounting.

Every call is independent: a malformed request, a step that raises, a resource that cannot be made is an
error answer to that call, and the worker keeps serving. Resources are made once per run (the descriptor's
run id) and closed when the engine releases the run, or after an hour without a call of that run (an engine
that went away); a JIT host's module versions are released the same way.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import threading
import time
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import pyarrow as pa
from pyarrow import flight

from heddle.core.table import RowErrors
from heddle.flight import protocol as wire
from heddle.flight.protocol import Failure, ProtocolError, StepRequest
from heddle.flight.rows import locate_rows, output_table
from heddle.flight.shared import (
    SHARE_ACTION,
    SHARED_FILE_ERROR,
    SHARED_MIN_BYTES,
    SharedFileError,
    SharedFolders,
    map_table,
    unchanged_columns,
    write_table,
)
from heddle.sdk.calling import Callee, LoadError, read_initializer, read_step
from heddle.sdk.plugin import Plugin
from heddle.sdk.spec import module_spec
from heddle_lang.catalog import FunctionSpec, InferenceError, ModuleSpec
from heddle_lang.catalog_data import module_to_data, schema_from_data, schema_to_data

log = logging.getLogger(__name__)

IDLE_RUN_SECONDS = 3600.0  # a run not heard of for this long is released (its engine went away)
_OWN_FILES = (str(Path(__file__).parent), str(Path(__file__).parent.parent / "sdk" / "calling.py"))


class ModuleHost(Protocol):
    """The modules a worker serves (`single`: one plugin, whatever import path the engine knows it by)."""

    single: bool

    def target(self, path: str, version: str) -> Plugin | ModuleType:
        """The plugin (or plain module) of `path` at `version`; raises `LoadError`."""
        ...

    def described(self, path: str | None) -> list[tuple[str, Plugin | ModuleType]]:
        """(path, target) of the modules `describe` answers about (`path`: only that one)."""
        ...

    def load(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """JIT: import shipped sources (raises `ProtocolError` where the host takes none)."""
        ...

    def release(self, run_id: str) -> None:
        """A run ended: what it alone used may go."""
        ...


class PluginHost:
    """One plugin, under whatever import path the engine knows it by."""

    single = True

    def __init__(self, plugin: Plugin | ModuleType, path: str | None = None) -> None:
        self.plugin = plugin
        self.path = path or (plugin.namespace if isinstance(plugin, Plugin) else plugin.__name__)

    def target(self, path: str, version: str) -> Plugin | ModuleType:
        if version:
            raise LoadError(f"this worker serves the plugin `{self.path}` as it is; it takes no shipped versions")
        return self.plugin

    def described(self, path: str | None) -> list[tuple[str, Plugin | ModuleType]]:
        return [(path or self.path, self.plugin)]

    def load(self, body: Mapping[str, Any]) -> dict[str, Any]:
        raise ProtocolError("this worker serves one plugin; run `heddle worker` for shipped sources (JIT)")

    def release(self, run_id: str) -> None:
        return None


class _RunResources:
    """Resources of the runs the worker serves, made once per (run, declaration), closed on release."""

    def __init__(self) -> None:
        self._made: dict[str, dict[str, object]] = {}
        self._seen: dict[str, float] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._lock = threading.Lock()

    def touch(self, run_id: str) -> None:
        """The run was heard of now (a call, a `load`): it is not idle."""
        with self._lock:
            self._seen[run_id] = time.monotonic()

    def get(self, run_id: str, name: str, make: Any) -> object:
        with self._lock:
            self._seen[run_id] = time.monotonic()
            made = self._made.setdefault(run_id, {})
            if name in made:
                return made[name]
            lock = self._locks.setdefault((run_id, name), threading.Lock())
        with lock:
            with self._lock:
                if name in self._made.get(run_id, {}):
                    return self._made[run_id][name]
            value = make()
            with self._lock:
                self._made.setdefault(run_id, {})[name] = value
            return value

    def release(self, run_id: str) -> list[str]:
        with self._lock:
            made = self._made.pop(run_id, {})
            self._seen.pop(run_id, None)
            for key in [k for k in self._locks if k[0] == run_id]:
                del self._locks[key]
        problems = []
        for name, value in reversed(list(made.items())):
            close = getattr(value, "close", None)
            if callable(close):
                try:
                    close()
                except Exception as error:  # closing is best effort
                    problems.append(f"resource `{name}` did not close: {type(error).__name__}: {error}")
        return problems

    def idle(self, seconds: float) -> list[str]:
        now = time.monotonic()
        with self._lock:
            return [run for run, seen in self._seen.items() if now - seen > seconds]


class WorkerServer(flight.FlightServerBase):
    def __init__(self, host: ModuleHost, location: str = "grpc://127.0.0.1:0", *, token: str | None = None,
                 tls: tuple[bytes, bytes] | None = None, language: str = "python") -> None:
        middleware = {"auth": _TokenAuth(token)} if token else None
        certificates = [flight.CertKeyPair(cert=tls[0], key=tls[1])] if tls is not None else None
        super().__init__(location, tls_certificates=certificates, middleware=middleware)
        self.host = host
        self.language = language
        self.address: wire.Address | None = None  # where clients reach it (set by whoever announces it)
        self.resources = _RunResources()
        self.shared = SharedFolders()  # same-host engines' exchange folders (`shared.py`)
        self._callees: dict[tuple[str, str, str], Callee] = {}
        self._specs: dict[tuple[str, str], ModuleSpec] = {}
        self._lock = threading.Lock()

    # --- data ---------------------------------------------------------------------------------------

    def do_exchange(self, context: flight.ServerCallContext, descriptor: flight.FlightDescriptor,
                    reader: flight.MetadataRecordBatchReader, writer: flight.MetadataRecordBatchWriter) -> None:
        if descriptor.descriptor_type != flight.DescriptorType.CMD:
            raise _error(Failure("request", "ProtocolError", "a step call's descriptor is a command (CMD)"))
        try:
            request = StepRequest.from_bytes(descriptor.command)
            parameters = wire.parameters_from_ipc(request.parameters)
            callee = self._callee(request)
        except (ProtocolError, LoadError) as error:
            raise _error(Failure("request", type(error).__name__, str(error))) from None
        self._expire_idle_runs()
        self.resources.touch(request.run_id)
        try:
            given = reader.read_all()
            if request.input_file:
                given = map_table(self.shared.path(request.input_file))
            if request.output_file:  # refused before the step runs, not after
                self.shared.path(request.output_file)
        except SharedFileError as error:
            raise _error(Failure("request", SHARED_FILE_ERROR, f"the input rows cannot be read: {error}")) from None
        except (pa.ArrowException, OSError) as error:
            raise _error(Failure("request", "ProtocolError", f"the input rows cannot be read: {error}")) from None
        try:
            try:
                resources = {r.key: self._resource(request, r) for r in request.resources}
            except LoadError as error:  # a resource this worker cannot make: the request's fault
                raise _error(Failure("request", type(error).__name__, str(error))) from None
            try:
                config = callee.build_config(request.config, resources)
            except (TypeError, ValueError) as error:  # a config the step does not take
                raise _error(Failure("request", type(error).__name__,
                                     f"the config of `{request.step}`: {error}")) from None
            table = callee.input_type(given) if request.takes_input else None
            returned = callee.call(config, table, parameters)
        except flight.FlightError:
            raise
        except RowErrors as partial:
            self._partly_failed(writer, partial, given)
        except Exception as error:  # the step's (or its resource's) failure: every input row failed
            raise _error(Failure("step", type(error).__name__, str(error) or type(error).__name__,
                                 _stack_trace(error))) from None
        else:
            self._write_output(writer, returned, request, given)

    def _write_output(self, writer: flight.MetadataRecordBatchWriter, returned: object, request: StepRequest,
                      given: pa.Table) -> None:
        if returned is None:  # a sink: the engine passes its input on
            writer.begin(given.schema)
            writer.write_metadata(wire.RETURNED_NONE)
            return
        table = output_table(returned)
        if table is None:
            raise _error(Failure("step", "NotATableError", f"`{request.step}` returned {type(returned).__name__}, "
                                 "not a Table"))
        if request.output_file and table.nbytes >= SHARED_MIN_BYTES:
            unchanged = unchanged_columns(table, given) if request.takes_input else {}
            try:
                write_table(self.shared.path(request.output_file),
                            table.select([i for i in range(table.num_columns) if i not in unchanged]))
            except SharedFileError as error:
                raise _error(Failure("request", SHARED_FILE_ERROR, f"the output rows cannot be written: {error}")
                             ) from None
            except (pa.ArrowException, OSError) as error:
                raise _error(Failure("request", "ProtocolError", f"the output rows cannot be written: {error}")
                             ) from None
            writer.begin(table.schema)
            writer.write_metadata(wire.output_file_metadata(request.output_file, table.num_rows, unchanged))
            return
        writer.begin(table.schema)
        for batch in table.to_batches(max_chunksize=wire.ROWS_PER_BATCH):
            writer.write_batch(batch)

    def _partly_failed(self, writer: flight.MetadataRecordBatchWriter, partial: RowErrors,
                       given: pa.Table) -> None:
        try:
            rows = partial.rows if partial.rows is not None else locate_rows(given, partial.failed.to_arrow())
        except ValueError as error:
            raise _error(Failure("step", "FailedRowsError", str(error), _stack_trace(partial))) from None
        output = output_table(partial.output)
        if output is None:
            raise _error(Failure("step", "NotATableError", "RowErrors' output is not a Table"))
        writer.begin(output.schema)
        for batch in output.to_batches(max_chunksize=wire.ROWS_PER_BATCH):
            writer.write_batch(batch)
        writer.write_metadata(wire.failed_rows_metadata(rows, list(partial.reasons)))
        raise _error(Failure("rows", type(partial).__name__, str(partial), _stack_trace(partial)))

    def _callee(self, request: StepRequest) -> Callee:
        key = (request.module, request.version, request.step)
        with self._lock:
            found = self._callees.get(key)
        if found is not None:
            return found
        target = self.host.target(request.module, request.version)
        spec = self._spec(request.module, request.version, target).functions.get(request.step)
        if spec is None:
            raise LoadError(f"module `{request.module}` has no step `{request.step}`")
        callee = read_step(target, request.module, request.step, spec)
        with self._lock:
            self._callees[key] = callee
        return callee

    def _spec(self, path: str, version: str, target: Plugin | ModuleType) -> ModuleSpec:
        with self._lock:
            found = self._specs.get((path, version))
        if found is None:
            found = module_spec(target, path)
            with self._lock:
                self._specs[(path, version)] = found
        return found

    def _resource(self, request: StepRequest, use: wire.ResourceRequest) -> object:
        if self.host.single and use.module != request.module:
            raise LoadError(f"this worker serves one plugin: it cannot make the resource `{use.constructor}` of "
                            f"`{use.module}` (inject into its steps only resources its own plugin declares)")
        version = use.version or (request.version if use.module == request.module else "")

        def make() -> object:
            initializer = read_initializer(self.host.target(use.module, version), use.module, use.constructor)
            return initializer.call(initializer.build_config(use.config))

        return self.resources.get(request.run_id, f"{use.name}\0{use.module}\0{version}", make)

    def _expire_idle_runs(self) -> None:
        for run_id in self.resources.idle(IDLE_RUN_SECONDS):
            self._release(run_id)

    def _release(self, run_id: str) -> list[str]:
        problems = self.resources.release(run_id)
        self.host.release(run_id)
        with self._lock:  # versions the host dropped must not be called through a stale callee
            self._callees.clear()
            self._specs.clear()
        return problems

    # --- control ------------------------------------------------------------------------------------

    def list_actions(self, context: flight.ServerCallContext) -> list[tuple[str, str]]:
        return list(wire.ACTIONS.items())

    def do_action(self, context: flight.ServerCallContext, action: flight.Action) -> Iterator[bytes]:
        body = action.body.to_pybytes() if action.body is not None else b""
        try:
            data = json.loads(body.decode("utf-8")) if body.strip() else {}
            if not isinstance(data, dict):
                raise ProtocolError("an action's body is a JSON object")
            answer = self._answer(action.type, data)
        except (ProtocolError, LoadError, ValueError, KeyError, TypeError) as error:
            raise _error(Failure("request", type(error).__name__, str(error))) from None
        return iter([json.dumps(answer).encode("utf-8")])

    def _answer(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        if kind == "health":
            return {"status": "ok", "protocol": wire.PROTOCOL_VERSION, "language": self.language,
                    "pid": os.getpid(), "modules": [p for p, _ in self.host.described(None)]}
        if kind == "describe":
            path = data.get("path")
            return {"protocol": wire.PROTOCOL_VERSION, "modules": [
                _describe(p, t) for p, t in self.host.described(str(path) if path else None)]}
        if kind == "load":
            self._expire_idle_runs()
            self.resources.touch(str(data.get("run_id", "")))
            return self.host.load(data)
        if kind == "release":
            return {"problems": self._release(str(data["run_id"]))}
        if kind in ("infer", "parameters"):
            return self._hook(kind, data)
        if kind == SHARE_ACTION:
            try:
                return {"probe": self.shared.accept(str(data["directory"]), str(data["probe"]))}
            except SharedFileError as error:
                raise ProtocolError(str(error)) from None
        if kind == "shutdown":
            threading.Thread(target=self.shutdown, daemon=True).start()  # not from inside a call
            return {"status": "stopping"}
        raise ProtocolError(f"unknown action `{kind}` (actions: {', '.join(wire.ACTIONS)})")

    def _hook(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        path, version = str(data["path"]), str(data.get("version", ""))
        function = self._function(path, version, str(data["function"]))
        config = data.get("config") or {}
        if kind == "parameters":
            return {"parameters": list(function.parameters_for(config))}
        if function.infer is None:
            raise ProtocolError(f"`{function.name}` has no inference hook")
        given = data.get("input")
        try:
            schema = function.infer(config, schema_from_data(given) if given is not None else None)
        except InferenceError as error:
            return {"inference_error": str(error)}
        except Exception as error:  # the hook is user code
            return {"inference_error": f"{type(error).__name__}: {error}"}
        return {"schema": schema_to_data(schema)}

    def _function(self, path: str, version: str, name: str) -> FunctionSpec:
        spec = self._spec(path, version, self.host.target(path, version)).functions.get(name)
        if spec is None:
            raise LoadError(f"module `{path}` has no step `{name}`")
        return spec


def _describe(path: str, target: Plugin | ModuleType) -> dict[str, Any]:
    try:
        return {"path": path, "module": module_to_data(module_spec(target, path))}
    except Exception as error:  # a faulty declaration: the engine reports it at the import
        return {"path": path, "error": f"{type(error).__name__}: {error}"}


def _error(failure: Failure) -> flight.FlightServerError:
    return flight.FlightServerError(f"{failure.type}: {failure.message}", extra_info=failure.to_bytes())


def _stack_trace(error: BaseException) -> str:
    """From the step's frames down (the worker's own frames left out)."""
    described = traceback.TracebackException.from_exception(error)
    kept = [frame for frame in described.stack if not frame.filename.startswith(_OWN_FILES)]
    described.stack = traceback.StackSummary.from_list(kept)
    return "".join(described.format())


class _TokenAuth(flight.ServerMiddlewareFactory):
    """Flight header authentication: every call carries `authorization: Bearer <token>`."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    def start_call(self, info: flight.CallInfo, headers: Mapping[str, list[str]]) -> None:
        given = next(iter(headers.get(wire.AUTH_HEADER, [])), "")
        if not hmac.compare_digest(str(given).encode(), self._expected):
            raise flight.FlightUnauthenticatedError(
                "this worker needs a token", extra_info=Failure("unauthenticated", "Unauthenticated",
                                                                "missing or wrong token").to_bytes())
