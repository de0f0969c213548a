"""What an engine and a worker agree on: the step request, the actions, the structured errors, addresses.

`docs/protocol.md` is the same contract in prose, for implementers in other languages. Every message body
is UTF-8 JSON except the data, which is Arrow record batches.

- A step call is a Flight `DoExchange` whose descriptor (type CMD) is a `StepRequest`. The engine sends
  the input rows (a source: an empty schema and no batch); the worker answers with the output rows.
- A step that fails on some rows sends its good rows, then a metadata-only message `{"failed_rows": [...],
  "reasons": [...]}` (indices into the input rows, one reason each), then ends with a structured error of
  kind `rows`. A sink (a step that returns nothing) ends with the metadata `{"returned": "none"}`.
- A structured error is a Flight error whose extra info is JSON `{"heddle": 1, "kind", "type", "message",
  "stack_trace"}`: kind `step` (the step raised: every input row failed), `rows` (above), `request` (a
  malformed descriptor or config: the worker keeps serving), `unauthenticated`.
- Same host (`shared.py`): the request may name an `input_file` (the input rows, instead of the stream)
  and an `output_file`; a worker that wrote its output there sends the output schema, no batch, and the
  metadata `{"output_file": <the same name>, "rows", "input_columns"}` (output columns that are input
  columns unchanged are not in the file: output position → input position).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
from collections.abc import Mapping
from dataclasses import field
from typing import Any

from heddle_lang.records import record

PROTOCOL_VERSION = 1

ACTIONS: dict[str, str] = {
    "describe": "the specs of the modules this worker serves, as catalog data",
    "health": "liveness: protocol version, language, pid, the modules served",
    "load": "JIT: import the shipped source of plugin modules, each version into its own namespace",
    "release": "the end of a run: close its resources, drop module versions no run uses",
    "infer": "run a step's inference hook on a config and an input schema",
    "parameters": "the @name parameters a step's config refers to",
    "share": "same host: check that the worker sees the engine's exchange folder (tables then go as files)",
    "shutdown": "stop serving",
}

AUTH_HEADER = "authorization"  # `Bearer <token>` on every call when the worker asks for a token
EXTRA_INFO_LIMIT = 12_000  # gRPC refuses trailers past 16 KiB: the error's JSON stays below that
ROWS_PER_BATCH = 65_536  # record batches a table is cut into on the wire (gRPC messages of a few MB)

ENV_ADDRESS = "HEDDLE_WORKER_ADDRESS"
ENV_TOKEN = "HEDDLE_WORKER_TOKEN"
ENV_TLS_CERT = "HEDDLE_WORKER_TLS_CERT"
ENV_TLS_KEY = "HEDDLE_WORKER_TLS_KEY"
DEFAULT_HOST = "127.0.0.1"

# The line a worker prints when it listens (the engine reads the address a command's worker chose from it).
LISTENING = "heddle worker listening on {address}"
_LISTENING = re.compile(r"heddle worker listening on ((?:grpc|grpc\+tcp|grpc\+tls)://\S+)")
_ADDRESS = re.compile(r"^(grpc|grpc\+tcp|grpc\+tls)://(\[[^\]]+\]|[^:/\s]+):(\d{1,5})$")


class ProtocolError(Exception):
    """A message that does not follow the protocol (answered with an error of kind `request`)."""


@record
class ResourceRequest:
    """A resource injected into the step, as the worker must make it: `<key=name>` of `module.constructor`."""

    key: str
    name: str  # the declaration's name in the `.he` file (`resource pg_db = ...`): resources are kept by it
    module: str
    constructor: str
    config: Mapping[str, object] = field(default_factory=dict)
    version: str = ""  # JIT: the digest of its module's source ("" = the module as the worker has it)


@record
class StepRequest:
    module: str  # the import path the engine knows the module by
    step: str
    config: Mapping[str, object] = field(default_factory=dict)
    resources: tuple[ResourceRequest, ...] = ()
    parameters: bytes = b""  # `@name` parameter values: a one-row Arrow IPC stream (exact types), or empty
    run_id: str = ""
    attempt: int = 1
    version: str = ""  # JIT: the digest of the module source to run ("" = the module as the worker has it)
    takes_input: bool = True
    input_file: str = ""  # same host: the input rows are this Arrow IPC file, not the stream (`shared.py`)
    output_file: str = ""  # same host: where the worker may write its output rows as an Arrow IPC file

    def to_bytes(self) -> bytes:
        data: dict[str, Any] = {
            "heddle": PROTOCOL_VERSION, "module": self.module, "step": self.step, "config": dict(self.config),
            "resources": [{"key": r.key, "name": r.name, "module": r.module, "constructor": r.constructor,
                           "config": dict(r.config), **({"version": r.version} if r.version else {})}
                          for r in self.resources],
            "run_id": self.run_id, "attempt": self.attempt, "takes_input": self.takes_input,
        }
        if self.parameters:
            data["parameters"] = base64.b64encode(self.parameters).decode("ascii")
        if self.version:
            data["version"] = self.version
        if self.input_file:
            data["input_file"] = self.input_file
        if self.output_file:
            data["output_file"] = self.output_file
        return json.dumps(data, default=str).encode("utf-8")

    @staticmethod
    def from_bytes(raw: bytes) -> StepRequest:
        data = _json_object(raw, "the step request")
        try:
            resources = tuple(ResourceRequest(_text(r, "key"), _text(r, "name"), _text(r, "module"),
                                              _text(r, "constructor"), _mapping(r, "config"),
                                              str(r.get("version", "")))
                              for r in _list(data, "resources"))
            parameters = base64.b64decode(data["parameters"], validate=True) if data.get("parameters") else b""
            attempt = data.get("attempt", 1)
            if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 1:
                raise ProtocolError(f"`attempt` must be a positive integer, not {attempt!r}")
            return StepRequest(_text(data, "module", allow_empty=True), _text(data, "step"),
                               _mapping(data, "config"), resources, parameters,
                               str(data.get("run_id", "")), attempt, str(data.get("version", "")),
                               bool(data.get("takes_input", True)), _optional_text(data, "input_file"),
                               _optional_text(data, "output_file"))
        except (KeyError, TypeError, ValueError) as error:
            if isinstance(error, ProtocolError):
                raise
            raise ProtocolError(f"the step request is malformed: {type(error).__name__}: {error}") from None


@record
class Failure:
    """A structured error, as it travels in a Flight error's extra info."""

    kind: str  # "step" | "rows" | "request" | "unauthenticated"
    type: str  # the class of the exception the step raised (`ValueError`), or the protocol's own
    message: str
    stack_trace: str = ""

    def to_bytes(self) -> bytes:
        data = {"heddle": PROTOCOL_VERSION, "kind": self.kind, "type": self.type, "message": self.message,
                "stack_trace": self.stack_trace}
        raw = json.dumps(data).encode("utf-8")
        if len(raw) <= EXTRA_INFO_LIMIT:
            return raw
        # Too long for a trailer: keep the head of the message and the end of the trace (where it failed).
        budget = EXTRA_INFO_LIMIT // 2 - 200
        message = self.message if len(self.message) <= budget else self.message[:budget] + " …"
        trace = self.stack_trace if len(self.stack_trace) <= budget else "… " + self.stack_trace[-budget:]
        return Failure(self.kind, self.type, message, trace).to_bytes()

    @staticmethod
    def from_bytes(raw: bytes | None) -> Failure | None:
        """The structured error in a Flight error's extra info; None when it holds none."""
        if not raw:
            return None
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        if not isinstance(data, dict) or "heddle" not in data or "kind" not in data:
            return None
        return Failure(str(data["kind"]), str(data.get("type", "")), str(data.get("message", "")),
                       str(data.get("stack_trace", "")))


# --- metadata messages of the exchange ----------------------------------------------------------------


def failed_rows_metadata(rows: list[int], reasons: list[str]) -> bytes:
    return json.dumps({"failed_rows": rows, "reasons": reasons}).encode("utf-8")


RETURNED_NONE = json.dumps({"returned": "none"}).encode("utf-8")


def output_file_metadata(name: str, rows: int, unchanged: Mapping[int, int]) -> bytes:
    """The output went to the file `name`: `rows` rows; the output positions of `unchanged` are the input
    columns at the positions they map to (not in the file)."""
    return json.dumps({"output_file": name, "rows": rows,
                       "input_columns": {str(k): v for k, v in unchanged.items()}}).encode("utf-8")


def read_metadata(raw: bytes) -> dict[str, Any]:
    return _json_object(raw, "a metadata message")


# --- parameters ---------------------------------------------------------------------------------------


def parameters_to_ipc(values: Mapping[str, object]) -> bytes:
    """`@name` values as a one-row Arrow IPC stream, so a date stays a date in every language."""
    if not values:
        return b""
    import polars as pl

    stream = io.BytesIO()
    pl.DataFrame({name: [value] for name, value in values.items()}).write_ipc_stream(stream)
    return stream.getvalue()


def parameters_from_ipc(raw: bytes) -> dict[str, object]:
    if not raw:
        return {}
    import polars as pl

    try:
        frame = pl.read_ipc_stream(io.BytesIO(raw))
    except Exception as error:  # malformed bytes from the wire
        raise ProtocolError(f"the parameters are not a readable Arrow IPC stream: {error}") from None
    return frame.row(0, named=True) if frame.height else {}


# --- addresses ----------------------------------------------------------------------------------------


@record
class Address:
    scheme: str  # grpc | grpc+tcp | grpc+tls
    host: str
    port: int

    @property
    def tls(self) -> bool:
        return self.scheme == "grpc+tls"

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def with_port(self, port: int) -> Address:
        return Address(self.scheme, self.host, port)


def parse_address(text: str) -> Address:
    """`grpc://127.0.0.1:8815` (also `grpc+tcp://`, `grpc+tls://`, or `host:port` for grpc); raises ValueError."""
    text = text.strip()
    if "://" not in text:
        text = f"grpc://{text}"
    found = _ADDRESS.match(text)
    if found is None:
        raise ValueError(f"`{text}` is not a worker address such as grpc://127.0.0.1:8815")
    port = int(found.group(3))
    if port > 65535:
        raise ValueError(f"`{text}`: the port must be below 65536")
    return Address(found.group(1), found.group(2), port)


def listening_address(line: str) -> str | None:
    """The address in a worker's `heddle worker listening on ...` line, if the line is one."""
    found = _LISTENING.search(line)
    return found.group(1) if found else None


def env_token() -> str | None:
    token = os.environ.get(ENV_TOKEN, "").strip()
    return token or None


# --- helpers --------------------------------------------------------------------------------------------


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        data = json.loads(bytes(raw).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ProtocolError(f"{what} is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"{what} must be a JSON object, not {type(data).__name__}")
    return data


def _text(data: Mapping[str, Any], key: str, *, allow_empty: bool = False) -> str:
    value = data.get(key)
    if not isinstance(value, str) or (not value and not allow_empty):
        raise ProtocolError(f"`{key}` must be a non-empty string, not {value!r}")
    return value


def _optional_text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise ProtocolError(f"`{key}` must be a string, not {value!r}")
    return value


def _mapping(data: Mapping[str, Any], key: str) -> dict[str, object]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ProtocolError(f"`{key}` must be a JSON object, not {type(value).__name__}")
    return value


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ProtocolError(f"`{key}` must be a list of JSON objects")
    return value
