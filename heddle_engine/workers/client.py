"""The engine's end of the worker protocol: actions and step calls on one worker, errors as values.

A step that raised in the worker comes back as `RemoteStepError` carrying its class name, message and stack
trace (the retry policy's `on:` and the handler's error context see them as if it had run here). A worker
that cannot be reached, or dies during a call, is `WorkerUnavailableError` — a `ConnectionError`, so the node
fails and is retried per its policy like any other failure.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import field
from typing import Any

import pyarrow as pa
from pyarrow import flight

from heddle.flight import protocol as wire
from heddle.flight.protocol import Failure, StepRequest
from heddle.flight.shared import (
    SHARE_ACTION,
    SHARED_FILE_ERROR,
    SHARED_MIN_BYTES,
    ExchangeFolder,
    SharedFileError,
    assemble,
    map_table,
    remove,
    write_table,
)
from heddle_engine.asked import asking
from heddle_lang.records import record

FILES_ENV = "HEDDLE_WORKER_FILES"  # "0": never exchange tables as files with a worker on this machine


class WorkerError(Exception):
    """Something went wrong between the engine and a worker."""


class WorkerUnavailableError(WorkerError, ConnectionError):
    """The worker cannot be reached, or went away during the call."""


class WorkerRefusedError(WorkerError):
    """The worker answered that the request is malformed or not allowed (token, config, unknown step).
    `type_name`: the type of the worker's structured error, when it sent one."""

    def __init__(self, message: str, type_name: str = "") -> None:
        super().__init__(message)
        self.type_name = type_name


class RemoteStepError(WorkerError):
    """The step raised in the worker. `type_name` and `stack_trace` are the worker's."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.type_name = failure.type
        self.stack_trace = failure.stack_trace
        self.kinds = (failure.type,)  # what a retry policy's `on:` matches


@record
class Exchanged:
    """A worker's answer to a step call."""

    table: pa.Table | None  # None: the step is a sink (it returned nothing)
    failed_rows: list[int] = field(default_factory=list)  # positions in the input of the rows that failed
    reasons: list[str] = field(default_factory=list)
    failure: Failure | None = None  # the structured error that ended a partly failed call


class WorkerClient:
    """A connection to one worker (made on first use)."""

    def __init__(self, address: str, *, token: str | None = None, ca: bytes | None = None,
                 same_host: bool = False) -> None:
        self.address = address
        self._token = token
        self._ca = ca
        self._client: flight.FlightClient | None = None
        # tables as files (`heddle.flight.shared`): offered to a worker on this machine, once
        self._files_offered = not same_host or os.environ.get(FILES_ENV, "1") == "0"
        self._files: ExchangeFolder | None = None
        self._files_lock = threading.Lock()

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()
        with self._files_lock:
            files, self._files = self._files, None
        if files is not None:
            files.close()

    @property
    def exchanges_files(self) -> bool:
        """The worker reads and writes this engine's exchange files (it answered the `share` probe)."""
        return self._files is not None

    def _connected(self) -> flight.FlightClient:
        if self._client is None:
            options: dict[str, Any] = {}
            if self._ca is not None:
                options["tls_root_certs"] = self._ca
            self._client = flight.connect(self.address, **options)
        return self._client

    def _options(self, timeout: float | None) -> flight.FlightCallOptions:
        headers = [(wire.AUTH_HEADER.encode(), f"Bearer {self._token}".encode())] if self._token else []
        return flight.FlightCallOptions(timeout=timeout, headers=headers)

    # --- actions -------------------------------------------------------------------------------------

    def action(self, kind: str, body: Mapping[str, object] | None = None, *, timeout: float | None = None
               ) -> dict[str, Any]:
        raw = json.dumps(dict(body or {})).encode("utf-8")
        asking(self.address)
        try:
            results = list(self._connected().do_action(flight.Action(kind, raw), self._options(timeout)))
        except (flight.FlightError, pa.ArrowException, OSError) as error:
            raise _mapped(error, self.address) from None
        if not results:
            raise WorkerRefusedError(f"the worker at {self.address} gave no answer to `{kind}`")
        try:
            answer = json.loads(results[0].body.to_pybytes().decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise WorkerRefusedError(f"the worker at {self.address} answered `{kind}` with no JSON: {error}") from None
        if not isinstance(answer, dict):
            raise WorkerRefusedError(f"the worker at {self.address} answered `{kind}` with {type(answer).__name__}")
        return answer

    # --- step calls ----------------------------------------------------------------------------------

    def _exchange_folder(self) -> ExchangeFolder | None:
        """The folder of this engine's exchange files, if the worker sees it (asked on first use)."""
        with self._files_lock:
            if self._files_offered:
                return self._files
            folder = ExchangeFolder()
            try:
                probe, content = folder.probe()
                answer = self.action(SHARE_ACTION, {"directory": str(folder.path), "probe": probe.name},
                                     timeout=10.0)
                remove(probe)
            except WorkerUnavailableError:
                folder.close()
                return None  # asked again on the next call (the call itself reports the worker gone)
            except (WorkerError, OSError, pa.ArrowException):
                answer = {}
            self._files_offered = True
            if answer.get("probe") == content:
                self._files = folder
            else:  # another machine's file system, or a worker that does not know the action
                folder.close()
            return self._files

    def exchange(self, request: StepRequest, table: pa.Table | None) -> Exchanged:
        try:
            return self._exchange_with_files(request, table)
        except WorkerRefusedError as error:
            if error.type_name != SHARED_FILE_ERROR or not self.exchanges_files:
                raise
        # a worker started again at the same address has not accepted the folder yet: offer it again
        with self._files_lock:
            files, self._files, self._files_offered = self._files, None, False
        if files is not None:
            files.close()
        return self._exchange_with_files(request, table)

    def _exchange_with_files(self, request: StepRequest, table: pa.Table | None) -> Exchanged:
        files = self._exchange_folder()
        if files is None:
            return self._exchange(request, table, None)
        given = output = None
        try:
            output = files.name("out")
            if table is not None and table.nbytes >= SHARED_MIN_BYTES:
                given = files.name("in")
                write_table(given, table)
            request = dataclasses.replace(request, input_file=str(given) if given is not None else "",
                                          output_file=str(output))
            return self._exchange(request, table, output)
        finally:
            remove(given)
            remove(output)

    def _exchange(self, request: StepRequest, table: pa.Table | None, output: os.PathLike[str] | None) -> Exchanged:
        descriptor = flight.FlightDescriptor.for_command(request.to_bytes())
        try:
            writer, reader = self._connected().do_exchange(descriptor, self._options(None))
        except (flight.FlightError, pa.ArrowException, OSError) as error:
            raise _mapped(error, self.address) from None
        _send(writer, None if request.input_file else table)  # named a file: the rows are there
        batches: list[pa.RecordBatch] = []
        metadata: dict[str, Any] = {}
        try:
            while True:
                chunk = reader.read_chunk()
                if chunk.data is not None and chunk.data.num_columns + chunk.data.num_rows:
                    batches.append(chunk.data)
                if chunk.app_metadata is not None:
                    metadata.update(wire.read_metadata(chunk.app_metadata.to_pybytes()))
        except StopIteration:
            pass
        except (flight.FlightError, pa.ArrowException, OSError) as error:
            failure = Failure.from_bytes(getattr(error, "extra_info", None))
            if failure is not None and failure.kind == "rows" and "failed_rows" in metadata:
                return Exchanged(_table(reader, batches), [int(i) for i in metadata["failed_rows"]],
                                 [str(r) for r in metadata.get("reasons", [])], failure)
            raise _mapped(error, self.address) from None
        except wire.ProtocolError as error:
            raise WorkerRefusedError(f"the worker at {self.address} broke the protocol: {error}") from None
        finally:
            _close(writer)
        if metadata.get("returned") == "none":
            return Exchanged(None)
        if "output_file" in metadata:
            return Exchanged(self._output_file(reader, metadata, output, table))
        return Exchanged(_table(reader, batches))

    def _output_file(self, reader: flight.FlightStreamReader, metadata: dict[str, Any],
                     output: os.PathLike[str] | None, given: pa.Table | None) -> pa.Table:
        """The output rows the worker wrote to the file this call named (mapped, the file then removed), with
        the input columns it returned unchanged taken from `given`."""
        if output is None or metadata.get("output_file") != os.fspath(output):
            raise WorkerRefusedError(f"the worker at {self.address} broke the protocol: it answered with a file "
                                     "this call did not name")
        try:
            written = map_table(output)  # type: ignore[arg-type]
            named = metadata.get("input_columns") or {}
            unchanged = {int(k): int(v) for k, v in named.items()}
            return assemble(reader.schema, written, given, unchanged, int(metadata.get("rows", -1)))
        except (OSError, pa.ArrowException, SharedFileError, AttributeError, TypeError, ValueError) as error:
            raise WorkerRefusedError(f"the worker at {self.address} answered with an output file that does not "
                                     f"fit its answer: {error}") from None


def _send(writer: flight.FlightStreamWriter, table: pa.Table | None) -> None:
    """The input rows; a worker that answered early (an error) stops reading them, which is not our failure."""
    try:
        writer.begin(table.schema if table is not None else pa.schema([]))
        if table is not None:
            for batch in table.to_batches(max_chunksize=wire.ROWS_PER_BATCH):
                writer.write_batch(batch)
        writer.done_writing()
    except (flight.FlightError, pa.ArrowException, OSError):
        return  # the worker's answer (read next) says why


def _close(writer: flight.FlightStreamWriter) -> None:
    """Closing repeats the call's error, already read from the answer."""
    with contextlib.suppress(flight.FlightError, pa.ArrowException, OSError):
        writer.close()


def _table(reader: flight.FlightStreamReader, batches: list[pa.RecordBatch]) -> pa.Table:
    try:
        schema = reader.schema
    except (flight.FlightError, pa.ArrowException):
        schema = batches[0].schema if batches else pa.schema([])
    return pa.Table.from_batches(batches, schema=schema)


def _mapped(error: Exception, address: str) -> WorkerError:
    failure = Failure.from_bytes(getattr(error, "extra_info", None))
    if failure is not None:
        if failure.kind in ("step", "rows"):
            return RemoteStepError(failure)
        return WorkerRefusedError(f"the worker at {address} refused the call: {failure.message}", failure.type)
    if isinstance(error, flight.FlightUnauthenticatedError | flight.FlightUnauthorizedError):
        return WorkerRefusedError(f"the worker at {address} refused the call: its token is missing or wrong")
    if isinstance(error, flight.FlightTimedOutError):
        return WorkerUnavailableError(f"the worker at {address} did not answer in time")
    if isinstance(error, flight.FlightServerError | flight.FlightInternalError) and not _gone(error):
        return WorkerRefusedError(f"the worker at {address} failed outside the protocol: {_first_line(error)}")
    return WorkerUnavailableError(f"the worker at {address} cannot be reached or went away ({_first_line(error)})")


def _gone(error: Exception) -> bool:
    """A transport failure (connection refused or reset, stream removed) rather than an answer."""
    text = str(error).lower()
    return any(sign in text for sign in ("unavailable", "connection", "socket", "stream removed", "failed to connect",
                                         "broken pipe", "end of stream"))


def _first_line(error: Exception) -> str:
    """What went wrong, in the fewest words gRPC's message holds (`Connection refused`)."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    text = text.split(". gRPC client debug context")[0].split(". Detail:")[0]
    if "last error:" in text:  # gRPC's connection failures end with the operating system's words
        return text.rsplit(": ", 1)[-1].strip() or text
    return re.sub(r"^Flight returned \w+ error, with message: ", "", text)
