"""The first answers of a language server's start, given before the server imports itself.

A start imports the protocol's types, pygls, Polars and the checker (about half a second of CPU) before it can
answer `initialize`, then analyses the first document. An editor restarted on an unchanged project asks the same
questions again: the same `initialize`, then the same documents. So the server keeps its answers, and the next
start gives them from this module (which imports neither the server nor the checker) while reading stdin itself:

- `initialize`: the result is a function of the client's params (its capabilities, options, folders) and of the
  server's code. It is kept beside heddle's bytecode (as `heddle/kept_code.py` keeps generated code), by the digest
  of the params, with the stamps of every module the server had imported (its code, pygls', ...).
- a document's first diagnostics (pushed after `didOpen`, or the first `textDocument/diagnostic` pull): kept in the
  project's `.heddle/cache/lsp/`, keyed as a stored `heddle check` answer is (`heddle/cli/check_cache.py`: the
  interpreter, the current folder, the environment) and by the client's digest, the document's URI, its text and
  its project; with the stamps of every input the first analysis of that text read (`heddle/cli/inputs.py`, on the
  analysis thread: libraries, data files an inference hook read, installed packages' metadata), the project's
  `heddle.toml`, the libraries it reached, the server's modules and those of the project's plugin process. An
  analysis that used something no file shows (an answer a database gave, a command it ran) is not kept.

`Front.run()` reads the client's messages as they come: it answers `initialize` from its store, and each document
opened then whose inputs all hold; requests it has no answer for are left to the server (an editor asks for
symbols and tokens as it opens a document, and may pull its diagnostics after them). At a notification that may
change what it answers, a document without a stored answer, or a pause, it stops, and the server imports itself
and reads every message again from the start (`Front.replay()`), as if none had been answered; the
protocol drops its own answers to the requests the front answered (`heddle_lsp/protocol.py`), after checking
they are the same. The server then analyses each document as always: the stored diagnostics are published again
by the analysis, which a test holds equal to them (`tests/lsp/test_first_answer.py`). `HEDDLE_CACHE=off` turns
the store off; it is not written where Python writes no bytecode.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import select
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlparse

from heddle.cli.check_cache import VOLATILE, write_record
from heddle.cli.inputs import Stamp, module_stamp, stamp
from heddle_engine.project_root import CACHE_FOLDER, PROJECT_FILE, find_project

FORMAT = 1
FOLDER = "lsp"  # under the project's cache folder
WAIT_SECONDS = 0.3  # for the client's next message: it opens its documents as soon as `initialize` is answered
MORE_SECONDS = 0.02  # for one more document an editor opens with the first
# Notifications that change nothing the front answers: read past them (the server reads them all again).
PASSING = frozenset({"initialized", "$/setTrace", "$/cancelRequest", "workspace/didChangeConfiguration"})

Json = Any
# The process's environment and folder as it started: the key of a document's answers (Polars, once imported, adds
# a variable of its own, which the next start's front would not see). The server imports this module first.
def _started_with() -> tuple[list[tuple[str, str]], str | None]:
    try:
        folder: str | None = os.getcwd()
    except OSError:  # a current folder that is gone
        folder = None
    return sorted((k, v) for k, v in os.environ.items() if k not in VOLATILE), folder


_STARTED_WITH = _started_with()


def enabled() -> bool:
    return os.environ.get("HEDDLE_CACHE", "").lower() != "off"


def client_digest(params: Mapping[str, Json]) -> str:
    """The `initialize` params as a key: all of them but the client's process id and progress token, which change
    from one start to the next and change no answer (a request whose params the server refuses is never kept)."""
    kept = {name: value for name, value in params.items() if name not in ("processId", "workDoneToken")}
    text = json.dumps(kept, sort_keys=True)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()


def initialize_store() -> Path:
    """The folder of the `initialize` answers: beside this module's bytecode, named for the interpreter (one file
    per client's params, the newest `check_cache.MAX_RECORDS` kept)."""
    bytecode = Path(importlib.util.cache_from_source(__file__))
    magic = importlib.util.MAGIC_NUMBER.hex()
    return bytecode.with_name(f"kept-lsp-initialize.{sys.implementation.cache_tag}-{magic}")


def document_place(uri: str) -> tuple[Path, Path] | None:
    """(the file, its project's root) of a `file:` URI inside a project; None for any other."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    path = Path(unquote(parsed.path))
    try:
        root = find_project(path)
    except OSError:
        return None
    return (path, root) if root is not None else None


def document_key(client: str, uri: str, text: str, root: Path) -> str:
    environment, folder = _STARTED_WITH
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()
    key = json.dumps([FORMAT, sys.version, sys.executable, folder, environment, client, uri, digest, str(root)])
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()


def record_folder(root: Path) -> Path:
    return root / CACHE_FOLDER / FOLDER


class Stamps:
    """Stamps of files and modules, each taken once (a front checks several records against the same modules)."""

    def __init__(self) -> None:
        self._files: dict[str, Stamp] = {}
        self._modules: dict[str, Stamp] = {}

    def hold(self, files: Iterable[tuple[str, Stamp]], modules: Iterable[tuple[str, Stamp]]) -> bool:
        for path, was in modules:
            if path not in self._modules:
                self._modules[path] = module_stamp(path)
            if self._modules[path] != was:
                return False
        for path, was in files:
            if path not in self._files:
                self._files[path] = stamp(path)
            if self._files[path] != was:
                return False
        return True


# --- the server's side: keeping its answers ------------------------------------------------------------


def keep_initialize(params: Mapping[str, Json], result: Json, modules: list[tuple[str, Stamp]]) -> None:
    """Keep the result the server answered `initialize` with (`modules`: the server's, stamped now)."""
    if not enabled() or sys.dont_write_bytecode:
        return
    key = client_digest(params)
    write_record(initialize_store(), key, {"format": FORMAT, "key": key, "modules": modules, "result": result})


def keep_diagnostics(params: Mapping[str, Json], uri: str, text: str, answer: Json, *,
                     files: list[tuple[str, Stamp]], modules: list[tuple[str, Stamp]]) -> None:
    """Keep the first diagnostics of a document (`answer`: the LSP JSON of the list), with what they follow from."""
    place = document_place(uri)
    if not enabled() or place is None:
        return
    _, root = place
    key = document_key(client_digest(params), uri, text, root)
    files = sorted({*files, (str(root / PROJECT_FILE), stamp(str(root / PROJECT_FILE)))})
    write_record(record_folder(root), key, {"format": FORMAT, "key": key, "files": files, "modules": modules,
                                            "diagnostics": answer})


# --- the front: answering before the server is there ----------------------------------------------------


class Front:
    """Reads the client's messages from a file descriptor and answers those it holds answers for."""

    def __init__(self, fd: int = 0, out: int = 1) -> None:
        self.fd = fd
        self.out = out
        self.data = bytearray()  # every byte read, given again to the server by `replay()`
        self.offset = 0  # where the next unread message starts in `data`
        self.closed = False
        self.answered: dict[int | str, Json] = {}  # request id -> the result given
        self.published: dict[str, Json] = {}  # URI -> the diagnostics given
        self.stamps = Stamps()

    def run(self) -> None:
        """Answer what can be answered; return at the first message the server must read itself."""
        if not enabled():
            return
        message = self._next(None)
        if not _is_request(message, "initialize"):
            return
        assert message is not None
        params = message.get("params")
        valid = isinstance(params, dict) and isinstance(params.get("processId"), int | None) \
            and not isinstance(params.get("processId"), bool)
        result = self._initialize(params) if valid and isinstance(params, dict) else None
        if result is None:
            return
        self._answer(message["id"], result)
        assert isinstance(params, dict)
        client = client_digest(params)
        capabilities = params.get("capabilities")
        text_document = capabilities.get("textDocument") if isinstance(capabilities, dict) else None
        pulls = isinstance(text_document, dict) and text_document.get("diagnostic") is not None
        opened: dict[str, tuple[str, Json]] = {}  # URI -> (version, its stored diagnostics)
        deadline = time.monotonic() + WAIT_SECONDS
        wait = WAIT_SECONDS
        while True:
            message = self._next(max(0.0, min(wait, deadline - time.monotonic())))
            if message is None:
                return
            method = message.get("method")
            if "id" not in message and method in PASSING:
                continue
            if "id" not in message and method == "textDocument/didOpen":
                item = _opened(message)
                if item is None or item[0] in opened:
                    return  # the server says what that means
                uri, text, version = item
                diagnostics = self._diagnostics(client, uri, text)
                if diagnostics is None:
                    return  # the analysis answers: the server is needed now
                opened[uri] = (version, diagnostics)
                if not pulls:
                    self._write({"jsonrpc": "2.0", "method": "textDocument/publishDiagnostics",
                                 "params": {"uri": uri, "version": version, "diagnostics": diagnostics}})
                    self.published[uri] = diagnostics
                    wait = MORE_SECONDS
                continue
            if pulls and _is_request(message, "textDocument/diagnostic"):
                asked = message.get("params")
                document = asked.get("textDocument") if isinstance(asked, dict) else None
                uri = document.get("uri") if isinstance(document, dict) else None
                if uri in opened and isinstance(asked, dict) and asked.get("previousResultId") is None \
                        and uri not in self.published:
                    version, diagnostics = opened[uri]
                    # The server's first report of a version: its result id, the version and the catalogs' generation.
                    self._answer(message["id"], {"kind": "full", "resultId": f"{version}:0", "items": diagnostics})
                    self.published[uri] = diagnostics
                    wait = MORE_SECONDS
                continue  # else the server answers it, as every request the front does not
            if isinstance(method, str) and "id" in message and method not in ("shutdown", "exit"):
                continue  # the server answers it, after what comes before it
            return

    def replay(self) -> BinaryIO:
        """The client's stream as the server reads it: every byte the front read, then the rest."""
        return _Replayed(bytes(self.data), sys.stdin.buffer)

    # --- answers -------------------------------------------------------------------------------------

    def _initialize(self, params: Mapping[str, Json]) -> Json | None:
        key = client_digest(params)
        kept = _read_json(initialize_store() / f"{key}.json")
        if not isinstance(kept, dict) or kept.get("format") != FORMAT or kept.get("key") != key or "result" not in kept:
            return None
        if not self.stamps.hold([], _pairs(kept.get("modules"))):
            return None
        return kept["result"]

    def _diagnostics(self, client: str, uri: str, text: str) -> Json | None:
        place = document_place(uri)
        if place is None:
            return None
        _, root = place
        key = document_key(client, uri, text, root)
        record = _read_json(record_folder(root) / f"{key}.json")
        if not isinstance(record, dict) or record.get("format") != FORMAT or record.get("key") != key:
            return None
        if not isinstance(record.get("diagnostics"), list):
            return None
        if not self.stamps.hold(_pairs(record.get("files")), _pairs(record.get("modules"))):
            return None
        return record["diagnostics"]

    def _answer(self, request_id: int | str, result: Json) -> None:
        self._write({"jsonrpc": "2.0", "id": request_id, "result": result})
        self.answered[request_id] = result

    def _write(self, message: Json) -> None:
        body = json.dumps(message).encode("ascii")  # ASCII: pygls writes its messages so too
        data = memoryview(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        while data:
            data = data[os.write(self.out, data):]

    # --- reading -------------------------------------------------------------------------------------

    def _next(self, wait: float | None) -> dict[str, Json] | None:
        """The next message, read within `wait` seconds (None: however long it takes); None when none came in
        time, the stream ended, or what came is not a message the front reads (the server will say so)."""
        while True:
            head_end = self.data.find(b"\r\n\r\n", self.offset)
            if head_end >= 0:
                length = _content_length(bytes(self.data[self.offset:head_end]))
                if length is None:
                    return None
                end = head_end + 4 + length
                if len(self.data) >= end:
                    body = bytes(self.data[head_end + 4:end])
                    self.offset = end
                    try:
                        message = json.loads(body)
                    except ValueError:
                        return None
                    return message if isinstance(message, dict) else None
            if self.closed or not self._read(wait):
                return None

    def _read(self, wait: float | None) -> bool:
        ready, _, _ = select.select([self.fd], [], [], wait)
        if not ready:
            return False
        chunk = os.read(self.fd, 1 << 16)
        if not chunk:
            self.closed = True
            return False
        self.data += chunk
        return True


class _Replayed:
    """A binary stream: `first`, then `rest` (what pygls's reader calls: `readline` and `read`)."""

    def __init__(self, first: bytes, rest: BinaryIO) -> None:
        self._first = first
        self._at = 0
        self._rest = rest

    def readline(self) -> bytes:
        if self._at < len(self._first):
            end = self._first.find(b"\n", self._at)
            if end >= 0:
                line, self._at = self._first[self._at:end + 1], end + 1
                return line
            line, self._at = self._first[self._at:], len(self._first)
            return line + self._rest.readline()
        return self._rest.readline()

    def read(self, size: int = -1) -> bytes:
        if self._at < len(self._first):
            stop = len(self._first) if size < 0 else min(len(self._first), self._at + size)
            part, self._at = self._first[self._at:stop], stop
            if size < 0:
                return part + self._rest.read()
            return part + (self._rest.read(size - len(part)) if len(part) < size else b"")
        return self._rest.read(size)

    def fileno(self) -> int:
        return self._rest.fileno()


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None


def _is_request(message: Mapping[str, Json] | None, method: str) -> bool:
    return (message is not None and message.get("method") == method and isinstance(message.get("id"), int | str)
            and not isinstance(message.get("id"), bool))


def _opened(message: Mapping[str, Json]) -> tuple[str, str, int] | None:
    params = message.get("params")
    item = params.get("textDocument") if isinstance(params, dict) else None
    if not isinstance(item, dict):
        return None
    uri, text, version = item.get("uri"), item.get("text"), item.get("version")
    if not isinstance(uri, str) or not isinstance(text, str) or not isinstance(version, int):
        return None
    return uri, text, version


def _pairs(value: Json) -> list[tuple[str, Stamp]]:
    try:
        return [(str(path), was) for path, was in value]
    except (TypeError, ValueError):
        return [("", "unreadable")]  # holds for no file: the record is not used


def _read_json(path: Path) -> Json:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
