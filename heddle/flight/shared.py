"""Same-host exchange: a step call's tables as Arrow IPC files in a private folder, Flight carrying the rest.

Over loopback gRPC a table is copied several times (serialised into messages, through the socket, read
back). When the worker runs on the engine's machine and sees its files, the engine writes the input as one
Arrow IPC file (a single copy, into memory when the folder is on tmpfs), the worker maps it (no copy), and
writes its output the same way for the engine to map. The step request names the files; the descriptor,
the structured errors, failed rows and sinks travel on Flight exactly as for a remote worker.

- The engine's folder (`ExchangeFolder`) is made with `mkdtemp` (mode 0700) under `/dev/shm` when there is
  one, else the temporary folder; it is removed when the engine's client closes.
- The engine offers it once per worker with the action `share` (`{"directory", "probe"}`): the worker
  checks that the folder is its own user's and private (mode 0700, not a link), reads the probe file and
  answers its content. Only when the content matches does the engine send files: a worker on another
  machine, in another container, or one that does not know the action keeps plain Flight.
- A worker (`SharedFolders`) reads and writes only plain files directly in a folder it accepted, by names
  of the engine's pattern, never following a link; it creates an output file only if it does not exist.
- Columns the worker returns unchanged (the very buffers of an input column: a passthrough step's input
  columns) are not written again: the answer's metadata names the input column each one is
  (`input_columns`), the file holds the others, and the engine takes those columns from its own input.
- Files live only for a call: the engine removes the input when the call ends and the output as soon as it
  has mapped it (the mapping stays valid on Linux and macOS).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import stat
import tempfile
import threading
import weakref
from pathlib import Path

import pyarrow as pa
from pyarrow import ipc

SHARE_ACTION = "share"
SHARED_FILE_ERROR = "SharedFileError"  # the type of a worker's refusal of a file (the engine offers its folder again)
SHARED_MIN_BYTES = 1 << 20  # smaller tables go on the wire: a file costs more than it saves
_NAME = re.compile(r"^(?:(?:in|out)-[0-9a-f]{32}\.arrow|probe-[0-9a-f]{32}\.txt)$")
_PROBE_BYTES = 64  # a probe file holds a short text
_OPEN_FLAGS = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


class SharedFileError(Exception):
    """A shared file or folder that is not what the protocol allows."""


def _private_folder(path: Path) -> Path:
    """`path` if it is an absolute folder of this user, not a link, that only this user may enter."""
    if not path.is_absolute():
        raise SharedFileError(f"the shared folder {path} is not an absolute path")
    try:
        found = os.lstat(path)
    except OSError as error:
        raise SharedFileError(f"the shared folder {path} cannot be read: {error.strerror}") from None
    if not stat.S_ISDIR(found.st_mode):
        raise SharedFileError(f"{path} is not a folder")
    if hasattr(os, "getuid") and found.st_uid != os.getuid():
        raise SharedFileError(f"the shared folder {path} belongs to another user")
    if found.st_mode & 0o077:
        raise SharedFileError(f"the shared folder {path} may be read by other users")
    return path


def write_table(path: Path, table: pa.Table) -> None:
    """`table` as an Arrow IPC file at `path`, which must not exist (created 0600, never through a link)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _OPEN_FLAGS, 0o600)
    with os.fdopen(descriptor, "wb", buffering=0) as raw, pa.PythonFile(raw, mode="w") as sink, \
            ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def map_table(path: Path) -> pa.Table:
    """The Arrow IPC file at `path`, memory-mapped (its buffers are the file's pages: no copy)."""
    descriptor = os.open(path, os.O_RDONLY | _OPEN_FLAGS)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise SharedFileError(f"{path} is not a plain file")
    finally:
        os.close(descriptor)
    with pa.memory_map(str(path), "r") as source:
        return ipc.open_file(source).read_all()


def unchanged_columns(output: pa.Table, given: pa.Table) -> dict[int, int]:
    """Output position → input position of the output columns that are an input column itself (the same
    buffers, offsets and lengths: the same values without looking at them)."""
    found: dict[int, int] = {}
    for position, column in enumerate(output.columns):
        for source, candidate in enumerate(given.columns):
            if _same_buffers(column, candidate):
                found[position] = source
                break
    return found


def _same_buffers(a: pa.ChunkedArray, b: pa.ChunkedArray) -> bool:
    if a.type != b.type or pa.types.is_dictionary(a.type) or len(a) != len(b) or a.num_chunks != b.num_chunks:
        return False
    for x, y in zip(a.chunks, b.chunks, strict=True):
        if x.offset != y.offset or len(x) != len(y):
            return False
        left, right = x.buffers(), y.buffers()
        if len(left) != len(right):
            return False
        for p, q in zip(left, right, strict=True):
            if (p is None) != (q is None) or (p is not None and q is not None and
                                              (p.address != q.address or p.size != q.size)):
                return False
    return True


def assemble(schema: pa.Schema, written: pa.Table, given: pa.Table | None, unchanged: dict[int, int],
             rows: int) -> pa.Table:
    """The output of `schema`: the columns at the positions of `unchanged` from `given`, the others from
    `written` in order; raises SharedFileError where the parts do not fit."""
    columns: list[pa.ChunkedArray] = []
    rest = iter(written.columns)
    for position, field in enumerate(schema):
        if position in unchanged:
            if given is None or not 0 <= unchanged[position] < given.num_columns:
                raise SharedFileError(f"the output column `{field.name}` names an input column that does not exist")
            column = given.column(unchanged[position])
        else:
            column = next(rest, None)  # type: ignore[arg-type]
            if column is None:
                raise SharedFileError("the output file holds fewer columns than the answer's schema")
        if column.type != field.type or len(column) != rows:
            raise SharedFileError(f"the output column `{field.name}` is not of the answer's type and length")
        columns.append(column)
    if next(rest, None) is not None:
        raise SharedFileError("the output file holds more columns than the answer's schema")
    return pa.Table.from_arrays(columns, schema=schema)


class SharedFolders:
    """The worker's side: the folders engines offered and the worker accepted."""

    def __init__(self) -> None:
        self._folders: set[Path] = set()
        self._lock = threading.Lock()

    def accept(self, directory: str, probe: str) -> str:
        """The content of the probe file in `directory` (the engine compares it); the folder is accepted."""
        folder = _private_folder(Path(directory))
        path = self._file(folder, probe)
        try:
            descriptor = os.open(path, os.O_RDONLY | _OPEN_FLAGS)
            try:
                if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                    raise SharedFileError(f"{path} is not a plain file")
                content = os.read(descriptor, _PROBE_BYTES).decode("utf-8")
            finally:
                os.close(descriptor)
        except (OSError, UnicodeDecodeError) as error:
            raise SharedFileError(f"the probe file {path} cannot be read: {error}") from None
        with self._lock:
            self._folders.add(folder)
        return content

    def path(self, given: str) -> Path:
        """A file the engine named: directly inside an accepted folder, by a name of the engine's pattern."""
        path = Path(given)
        with self._lock:
            accepted = path.parent in self._folders
        if not accepted:
            raise SharedFileError(f"{given} is not in a folder this worker accepted (action `{SHARE_ACTION}`)")
        return self._file(path.parent, path.name)

    @staticmethod
    def _file(folder: Path, name: str) -> Path:
        if not _NAME.match(name):
            raise SharedFileError(f"`{name}` is not the name of a shared file")
        return folder / name


class ExchangeFolder:
    """The engine's side: a private folder for the files of its calls to workers on this machine."""

    def __init__(self) -> None:
        base = Path("/dev/shm") if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        self.path = Path(tempfile.mkdtemp(prefix="heddle-exchange-", dir=base))
        # removed also when the client is dropped unclosed, or at the interpreter's exit
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.path, True)

    def name(self, kind: str) -> Path:
        return self.path / f"{kind}-{secrets.token_hex(16)}.arrow"

    def probe(self) -> tuple[Path, str]:
        """A probe file and the text a worker that sees it must answer."""
        path, content = self.path / f"probe-{secrets.token_hex(16)}.txt", secrets.token_hex(16)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _OPEN_FLAGS, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(content.encode("ascii"))
        return path, content

    def close(self) -> None:
        self._finalizer()


def remove(path: Path | None) -> None:
    """A call's file, gone (it may never have been made)."""
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
