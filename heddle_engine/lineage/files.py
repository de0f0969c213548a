"""Writing lineage files so that a crash never leaves one half-written.

Whole files are written to a temporary name in their own folder and moved into place with `os.replace`
(atomic on POSIX); the event log is appended one complete line per `write` call, and a reader ignores a
last line cut short. `durable=True` also fsyncs the file before the move and the folder after it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heddle_engine.lineage.file_copy import copy_bytes
from heddle_engine.lineage.layout import DELETING_PREFIX

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

COMPRESSION = "lz4"  # of recorded outputs: as fast to write as uncompressed here, a fraction of the size


def temporary_beside(path: Path) -> Path:
    """A name beside `path` to write its file under before it is moved into place."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")


def replace_with(path: Path, write: Callable[[Path], object]) -> int:
    """Have `write` make the file at a temporary name beside `path`, then move it into place; its size in
    bytes. Whatever `write` raises, the temporary file is removed and `path` is left as it was."""
    temporary = temporary_beside(path)
    try:
        write(temporary)
        size = temporary.stat().st_size
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    return size


def write_bytes(path: Path, data: bytes, *, durable: bool = False) -> None:
    def write(temporary: Path) -> None:
        with open(temporary, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())

    replace_with(path, write)
    if durable:
        sync_folder(path.parent)


def write_json(path: Path, value: Any, *, durable: bool = False) -> None:
    write_bytes(path, (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8"), durable=durable)


def write_table(path: Path, table: pa.Table, compression: str | None = COMPRESSION) -> int:
    """Write `table` as an Arrow IPC file (record batches compressed with `compression`); its size in bytes."""
    import pyarrow as pa

    table = plain_layout(table)
    options = pa.ipc.IpcWriteOptions(compression=compression)

    def write(temporary: Path) -> None:
        with pa.OSFile(str(temporary), "wb") as sink, pa.ipc.new_file(sink, table.schema, options=options) as writer:
            writer.write_table(table)

    return replace_with(path, write)


def write_frame(path: Path, frame: pl.DataFrame, compression: str = COMPRESSION) -> int:
    """Write a Polars frame as `write_table` writes a table, without pyarrow (the same file: Arrow IPC, plain
    string and binary layouts — Polars' oldest compatibility level —, compressed); its size in bytes."""
    import polars as pl

    def write(temporary: Path) -> None:
        frame.write_ipc(temporary, compression=compression, compat_level=pl.CompatLevel.oldest())  # type: ignore[arg-type]

    return replace_with(path, write)


def write_scan(path: Path, frame: pl.LazyFrame) -> int:
    """Write a lazy frame's rows as `write_frame` writes a frame's (the same Arrow IPC file), as its query streams:
    the rows are never all in memory (a file a writer wrote, read back); its size in bytes."""
    import polars as pl

    return replace_with(path, lambda temporary: pl.collect_all([sink_plan(frame, temporary)]))


def sink_plan(frame: pl.LazyFrame, path: Path, compression: str = COMPRESSION) -> pl.LazyFrame:
    """The plan that streams `frame`'s rows into `path` as `write_frame` writes a frame's (`sink_ipc(lazy=True)`):
    run alone, or with other plans in one `collect_all`."""
    import polars as pl

    return frame.sink_ipc(path, compression=compression, compat_level=pl.CompatLevel.oldest(),  # type: ignore[arg-type,return-value]
                          lazy=True)


def frame_bytes(frame: pl.DataFrame, compression: str = COMPRESSION) -> bytes:
    """The rows `write_frame` writes, as an Arrow IPC *stream* (an output recorded inline in the event log): the
    same batches and types, without the file's footer, and written directly (Polars writes a file through a
    streaming plan: ~0.2 ms a frame, against a few µs)."""
    import polars as pl

    buffer = io.BytesIO()
    frame.write_ipc_stream(buffer, compression=compression,  # type: ignore[arg-type]
                           compat_level=pl.CompatLevel.oldest())
    return buffer.getvalue()


def copy_file(source: Path, path: Path) -> int:
    """A copy of `source` at `path` (a clone, direct writes or the kernel's copy: `file_copy.py`; no byte passes
    through Python); its size in bytes."""
    return replace_with(path, lambda temporary: copy_bytes(source, temporary))


def plain_layout(table: pa.Table) -> pa.Table:
    """String and binary *view* columns as plain (large) strings and binaries; dictionary columns with one
    dictionary for all their chunks.

    A view column sliced or filtered by Polars keeps referring to the whole of its data buffers, and the IPC
    writer writes those buffers whole for every batch: a filtered stage's file can be several times the
    size of its data. Plain layouts hold only their own bytes, and every Arrow reader knows them.
    """
    import pyarrow as pa

    plain = {pa.string_view(): pa.large_string(), pa.binary_view(): pa.large_binary()}
    if any(pa.types.is_dictionary(field.type) for field in table.schema) and any(
            column.num_chunks > 1 for column in table.columns):
        table = table.unify_dictionaries()  # an IPC file has one dictionary per column for all its batches
    if not any(field.type in plain for field in table.schema):
        return table
    return table.cast(pa.schema([f.with_type(plain.get(f.type, f.type)) for f in table.schema]))


def sync_file(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def sync_folder(path: Path) -> None:
    """Make the entries of a folder (files created, renamed or removed in it) durable."""
    with contextlib.suppress(OSError):  # some file systems cannot fsync a folder; the data is still written
        sync_file(path)


class EventLog:
    """An append-only JSON Lines file; `append` may be called from any thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._descriptor: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        with self._lock:
            if self._descriptor is None:
                return
            written = 0
            while written < len(line):  # one record is one write unless the OS cuts it short
                written += os.write(self._descriptor, line[written:])

    def close(self, *, durable: bool = False) -> None:
        with self._lock:
            if self._descriptor is None:
                return
            try:
                if durable:
                    os.fsync(self._descriptor)
            finally:
                os.close(self._descriptor)
                self._descriptor = None


def read_lines(path: Path) -> list[dict[str, Any]]:
    """The complete records of an event log (a last line cut short by a crash is left out)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    records: list[dict[str, Any]] = []
    for raw in data.split(b"\n"):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object file, or None when it is missing or not an object."""
    try:
        value = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def folder_size(path: Path) -> int:
    total = 0
    with contextlib.suppress(OSError), os.scandir(path) as entries:
        for entry in entries:
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False):
                    total += folder_size(Path(entry.path))
                else:
                    total += entry.stat(follow_symlinks=False).st_size
    return total


def remove_folder(path: Path) -> None:
    """Delete a folder so that no reader ever sees it half-deleted: hide it under a dot name first."""
    hidden = path.with_name(f"{DELETING_PREFIX}{path.name}-{uuid.uuid4().hex[:8]}")
    os.replace(path, hidden)
    shutil.rmtree(hidden, ignore_errors=True)
