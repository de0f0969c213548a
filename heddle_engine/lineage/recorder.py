"""`LineageRecorder`: a run observer that writes every run it sees under `<project>/.heddle/runs/<run-id>/`.

A run's folder is set up under a temporary name — `run.json` naming this process first, then the plan — and
renamed into place, so another process never takes a run being set up for a crashed one (`eviction.py`).

Node events are appended to the event log as they come. Stage outputs are handed to one writer thread, so
the executor's thread goes on at once (the executor calls observers one at a time, so a write on its
thread would hold up every other branch too); the writer scrubs secrets, writes the Arrow IPC file and
then logs it. A stage's file therefore exists, complete, before the log mentions it, and a stage's
`succeeded` is held back until its file is written: the record never says a stage succeeded whose data
it lacks. A step (Python code, which may kill the process) starts only once the outputs it reads are
written, so after any crash `heddle replay --from` that step finds its inputs. Outputs waiting for the
writer are capped (`PENDING_BYTES`): past it, the executor's thread waits for the writer. A workflow stage's
small output in Polars (`layout.INLINE_BYTES`) is recorded inline in its `output` event instead, on the
executor's thread: one append, no file, no hand-off (a chain of one-row steps records at the log's pace).

A reader's output that a relational block scans lazily (`Table.scan`) comes as a `Scan` (`node_scan`):
when it is a Parquet file whole and unchanged, a second thread (the copier, so that the small outputs of the
next stages are not queued behind it) keeps a copy of the file (`<node>.parquet`: a clone, direct writes or a
kernel copy, `file_copy.py`, no rows decoded or held in memory, fsynced on that thread while the query runs; a
link to an earlier run's copy when the file is unchanged since, `copies.py`), else the writer streams its rows
into the output's file (`write_scan`: never all
in memory), or collects them where Arrow's kernels are needed (a secret to scrub, a handler's stage). A
writer that streamed a block's query into its file gives that file as a `Scan` of the block's output and of
its own, so such a run records what it wrote without holding it; and the blocks before that writer are recorded
by sink plans the executor runs within its own plan (`node_sink`: into a temporary name beside the output's
file; `node_sunk`: moved into place and logged after the block's `succeeded`, or thrown away).

Files are written whole under a temporary name and moved into place; the event log only grows. At the end
of the run, once the writer is done, the outputs and the log are fsynced before `run.json` gets its final
status, so a final status means everything before it is on disk. Then old runs are evicted down to the
size limit. A process that dies mid-run leaves every file it completed readable, and the run reads as
`crashed`.

A stream's batches are numbered segments: from a batch's start, outputs go under `batches/<n>/` (a batch's
`batch` event in the log names it), and once a committed batch takes the run past the size limit, the
oldest batches' folders are deleted (their events stay in the log).

The recorder never raises into the executor: what cannot be written (disk full, permissions) is left out,
the first reason is kept in `problem` for the command to report, and the run's record says it is
incomplete; the run goes on, and so does the recording of the rest.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from heddle.core.config import Secret
from heddle_engine.catalog import load_catalog
from heddle_engine.events import BatchEvent, ErrorInfo, NodeEvent, NodeState, RunInfo, RunResult, Scan
from heddle_engine.lineage.copies import keep_copy
from heddle_engine.lineage.errors import BAD_NAME, UNSCRUBBED, WRITE_FAILED, LineageError
from heddle_engine.lineage.eviction import evict
from heddle_engine.lineage.files import (
    EventLog,
    folder_size,
    frame_bytes,
    sink_plan,
    sync_file,
    sync_folder,
    temporary_beside,
    write_bytes,
    write_frame,
    write_json,
    write_scan,
    write_table,
)
from heddle_engine.lineage.layout import (
    BATCHES,
    COPIES,
    EVENTS_FILE,
    FORMAT,
    INLINE_BYTES,
    OUTPUTS,
    PARQUET_SUFFIX,
    PLAN_FILE,
    RUN_FILE,
    STARTING_PREFIX,
    is_safe_name,
    output_path,
    runs_folder,
)
from heddle_engine.lineage.redact import Redactor, redact_plan
from heddle_engine.lineage.schemas import frame_schema, schema_json, schema_of
from heddle_engine.lineage.settings import DEFAULT_LIMIT
from heddle_engine.lineage.store import LineageStore, read_table
from heddle_lang.catalog import Catalog

if TYPE_CHECKING:
    import pyarrow as pa

    from heddle_lang.types import Schema

PENDING_BYTES = 256 << 20  # outputs handed to the writer and not yet written, at most (one larger one may wait)
_CALLS = frozenset({"step", "call"})  # nodes that run Python code: they start once their inputs are written

Key = tuple[str, str]  # (graph, node id)


@dataclass(slots=True)
class _Recording:
    """The run being recorded."""

    run_id: str
    folder: Path
    head: dict[str, Any]  # run.json as written at the start
    log: EventLog
    redactor: Redactor
    clock: float  # time.monotonic() at the start
    writer: ThreadPoolExecutor
    copier: ThreadPoolExecutor  # copies of Parquet files (`node_scan`)
    workflows: frozenset[str] = frozenset()  # the names of the plan's workflow graphs (not handlers)
    rows: int = 0  # written by the writer thread only
    outputs: set[Path] = field(default_factory=set)  # the writer thread's
    synced: set[Path] = field(default_factory=set)  # outputs made durable on the copier, their folders' entries too
    pending: int = 0  # bytes handed to the writer and not yet written
    failed: bool = False  # something could not be written: the record is incomplete
    room: threading.Condition = field(default_factory=threading.Condition)  # guards the fields below, too
    writing: dict[Key, int] = field(default_factory=dict)  # outputs of a node handed over and not yet written
    held: dict[Key, list[dict[str, Any]]] = field(default_factory=dict)  # events waiting for a node's output
    reads: dict[Key, tuple[str, ...]] = field(default_factory=dict)  # what each step reads (node ids)
    batch: int | None = None  # a stream's batch in flight: outputs go to its folder
    batch_bytes: dict[int, int] = field(default_factory=dict)  # bytes written per batch (the writer thread's)
    sinking: dict[Key, Path] = field(default_factory=dict)  # outputs streamed by the executor's plan (`node_sink`)


class LineageRecorder:
    """Records runs of the project at `project_root`, keeping its lineage under `limit_bytes` (default 1 GiB).

    `catalog` tells which config keys are secret; by default the project's catalog is loaded when a run starts.
    One run at a time: a recorder follows the run it was last told started.
    """

    def __init__(self, project_root: Path, limit_bytes: int | None = None, *, catalog: Catalog | None = None) -> None:
        self.project_root = project_root
        self.limit_bytes = DEFAULT_LIMIT if limit_bytes is None else limit_bytes
        self.store = LineageStore(project_root)
        self.problem: LineageError | None = None  # why (part of) a run could not be recorded
        self.evicted: list[str] = []  # ids of the runs deleted to stay under the limit
        self.folder: Path | None = None  # the folder of the run recorded last
        self._catalog = catalog
        self._lock = threading.Lock()
        self._active: _Recording | None = None

    # --- RunObserver -------------------------------------------------------------------------------

    def run_started(self, run: RunInfo) -> None:
        with self._lock:
            if self._active is not None:  # a run that never said it finished: its writer ends with its queue
                self._active.writer.shutdown(wait=False)
                self._active.copier.shutdown(wait=False)
            self._active, self.problem = None, None
            if not is_safe_name(run.run_id):
                self.problem = LineageError(BAD_NAME, f"run id `{run.run_id}` cannot name a folder; not recorded")
                return
            try:
                self._active = self._start(run)
            except _write_errors() as error:
                self.problem = self._problem(error)

    def node_event(self, event: NodeEvent) -> None:
        active = self._active
        if active is None:
            return
        record: dict[str, Any] = {
            "event": "node", "graph": event.graph, "node": event.node_id, "state": str(event.state),
            "attempt": event.attempt, "at": event.at.isoformat(), "clock": time.time(),
        }
        if event.rows is not None:
            record["rows"] = event.rows
        if event.seconds is not None:
            record["seconds"] = event.seconds
        if event.error is not None:
            record["error"] = _error_json(event.error, active.redactor)
        if active.batch is not None:
            record["batch"] = active.batch
        key = (event.graph, event.node_id)
        with active.room:
            if key in active.held or event.state == NodeState.SUCCEEDED:  # logged once its output is written
                active.held.setdefault(key, []).append(record)
                return
        if event.state == NodeState.RUNNING and key in active.reads:
            self._wait_for_inputs(active, key)
        self._append(active, record)

    def node_output(self, graph: str, node_id: str, table: pa.Table) -> None:
        active = self._active
        if active is None:
            return
        key = (graph, node_id)
        if self._refused_name(active, key):
            return
        size = table.nbytes
        with active.room:
            while active.pending and active.pending + size > PENDING_BYTES:
                active.room.wait()
            active.pending += size
            active.writing[key] = active.writing.get(key, 0) + 1
            batch = active.batch
        try:
            active.writer.submit(self._write, active, graph, node_id, table, size, batch=batch)
        except RuntimeError:  # the run finished meanwhile: its writer takes no more
            self._written(active, key, size)

    def node_frame(self, graph: str, node_id: str, frame: pl.DataFrame) -> None:
        """An output in Polars: written by Polars on the writer thread (no pyarrow loaded for it), unless its
        rows need Arrow's kernels (a secret to scrub) or join an earlier file (a stream's batch, a handler's
        stage): then as Arrow, like any output."""
        active = self._active
        if active is None:
            return
        key = (graph, node_id)
        with active.room:
            plain = not active.redactor.secrets and active.batch is None and graph in active.workflows
        if not plain:
            self.node_output(graph, node_id, frame.to_arrow(compat_level=pl.CompatLevel.newest()))
            return
        if self._refused_name(active, key):
            return
        size = frame.estimated_size()
        if size <= INLINE_BYTES:  # one append to the log, here: no file to make, no hand-off to the writer
            with active.room:
                active.writing[key] = active.writing.get(key, 0) + 1
            self._write_inline(active, graph, node_id, frame)
            return
        with active.room:
            while active.pending and active.pending + size > PENDING_BYTES:
                active.room.wait()
            active.pending += size
            active.writing[key] = active.writing.get(key, 0) + 1
        try:
            active.writer.submit(self._write_frame, active, graph, node_id, frame, size)
        except RuntimeError:  # the run finished meanwhile: its writer takes no more
            self._written(active, key, size)

    def node_scan(self, graph: str, node_id: str, scan: Scan) -> None:
        """A reader's output not read yet: on the writer thread, its Parquet file copied when the scan is that
        file whole (no secret to scrub, not a handler's stage recorded before), else the rows collected there
        and written like any output. The executor's thread neither reads nor holds the rows for lineage."""
        active = self._active
        if active is None:
            return
        key = (graph, node_id)
        if self._refused_name(active, key):
            return
        if scan.parquet is None and scan.rows * len(scan.frame.collect_schema()) <= INLINE_BYTES // 8:
            try:  # a few rows (a sink's summary, say): read here, recorded as any small output (inline)
                frame = scan.frame.collect()
            except Exception as error:  # unreadable now: the record lacks it and says so
                self._fail(active, error)
                return
            self.node_frame(graph, node_id, frame)
            return
        with active.room:
            active.writing[key] = active.writing.get(key, 0) + 1
            batch = active.batch
        copy = self._copies(active, graph, scan, batch)
        try:  # a copy on a thread of its own: the small outputs of the stages after it are not queued behind it
            (active.copier if copy else active.writer).submit(self._write_scan, active, graph, node_id, scan,
                                                              batch=batch, copy=copy)
        except RuntimeError:  # the run finished meanwhile: its writer takes no more
            self._written(active, key, 0)

    def node_sink(self, graph: str, node_id: str) -> Callable[[pl.LazyFrame], pl.LazyFrame] | None:
        """The output of a node in the executor's lazy plan, streamed by that plan into the output's file: a maker
        of the sink plan (`files.sink_plan`, into a temporary name beside the file), which the executor runs with
        its own and then reports with `node_sunk`. None when the output must come as a table or a scan instead
        (a secret to scrub, a stream's batch, a handler's stage, a name that cannot name a file)."""
        active = self._active
        if active is None or not is_safe_name(graph) or not is_safe_name(node_id):
            return None
        with active.room:
            batch = active.batch
        path = output_path(active.folder, graph, node_id, batch)
        if not self._plain(active, graph, batch) or path in active.outputs:
            return None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
        temporary = temporary_beside(path)
        with active.room:
            active.sinking[(graph, node_id)] = temporary
        return lambda frame: sink_plan(frame, temporary)

    def node_sunk(self, graph: str, node_id: str, *, ok: bool) -> None:
        """The plan `node_sink` made a sink for ran (`ok`: it wrote every row) or failed: the file moved into place
        and logged (on the caller's thread, after the node's `succeeded`), or thrown away."""
        active = self._active
        key = (graph, node_id)
        if active is None:
            return
        with active.room:
            temporary = active.sinking.pop(key, None)
        if temporary is None:
            return
        if not ok:
            temporary.unlink(missing_ok=True)
            return
        with active.room:
            active.writing[key] = active.writing.get(key, 0) + 1
        try:
            path = output_path(active.folder, graph, node_id, None)
            written = temporary.stat().st_size
            os.replace(temporary, path)
            frame = pl.scan_ipc(path)
            rows = int(frame.select(pl.len()).collect().item())
            schema = frame_schema(frame.collect_schema())
            with active.room:
                active.outputs.add(path)
                active.rows += rows
            active.log.append({
                "event": "output", "graph": graph, "node": node_id, "rows": rows, "bytes": written,
                "schema": schema_json(schema), "clock": time.time(),
            })
        except Exception as error:  # the run goes on; the record says what it lacks
            temporary.unlink(missing_ok=True)
            self._fail(active, error)
        finally:
            self._written(active, key, 0)

    def batch_event(self, event: BatchEvent) -> None:
        active = self._active
        if active is None:
            return
        with active.room:
            active.batch = event.number if event.state == "started" else None
        record = {"event": "batch", "batch": event.number, "state": event.state, "rows": event.rows,
                  "at": event.at.isoformat(), "clock": time.time()}
        if event.seconds is not None:
            record["seconds"] = event.seconds
        self._append(active, record)
        if event.state == "committed":
            with contextlib.suppress(RuntimeError):  # RuntimeError: the run finished meanwhile
                active.writer.submit(self._evict_batches, active)

    def flush(self) -> None:
        """Wait until every output handed to the recorder so far is written (and logged)."""
        active = self._active
        if active is None:
            return
        with active.room:
            active.room.wait_for(lambda: active.pending == 0)

    def run_finished(self, result: RunResult) -> None:
        with self._lock:
            active, self._active = self._active, None
        if active is None:
            return
        active.writer.shutdown(wait=True)
        active.copier.shutdown(wait=True)
        for temporary in active.sinking.values():  # sinks made for a plan that never reported back
            temporary.unlink(missing_ok=True)
        try:
            with active.room:  # succeeded events whose output never came (none, unless an output was refused)
                held, active.held = [r for records in active.held.values() for r in records], {}
            for record in held:
                self._append(active, record)
            self._finish(active, result)
        except _write_errors() as error:
            self._fail(active, error)
        finally:
            active.log.close()

    # --- the work ----------------------------------------------------------------------------------

    def _refused_name(self, active: _Recording, key: Key) -> bool:
        """True (and the run's lineage marked failed) when a stage's graph or node name cannot name a file."""
        graph, node_id = key
        if is_safe_name(graph) and is_safe_name(node_id):
            return False
        active.failed = True
        self.problem = self.problem or LineageError(
            BAD_NAME, f"stage `{graph}/{node_id}` cannot name a file; its data is not recorded")
        self._written(active, key, 0, counted=False)
        return True

    def _start(self, run: RunInfo) -> _Recording:
        catalog = self._catalog if self._catalog is not None else load_catalog(self.project_root)
        plan, redactor = redact_plan(run.plan, catalog)
        parameters = dict(run.parameters)
        redactor = Redactor((*redactor.secrets, *(str(v) for v in parameters.values() if isinstance(v, Secret))),
                            live=run.secrets)
        runs = runs_folder(self.project_root)
        runs.mkdir(parents=True, exist_ok=True)
        self.evicted += evict(self.store, self.limit_bytes, keep=None)
        folder = runs / run.run_id
        if folder.exists():
            raise FileExistsError(f"a run {run.run_id} is already recorded")
        staging = runs / f"{STARTING_PREFIX}{run.run_id}-{uuid.uuid4().hex[:8]}"
        staging.mkdir()
        head: dict[str, Any] = {
            "format": FORMAT, "id": run.run_id, "file": run.file, "path": str(Path(run.file).resolve()),
            "workflow": run.workflow, "parameters": redactor.value({k: _plain(v) for k, v in parameters.items()}),
            "started_at": run.started_at.isoformat(), "started": time.time(),
            "replay_of": run.replay_of, "replay_from": run.replay_from, "replay_batch": run.replay_batch,
            "pid": os.getpid(), "host": socket.gethostname(),
        }
        write_json(staging / RUN_FILE, {**head, "status": "running"})  # first: whose folder this is
        plan_text = plan.to_json()
        if redactor.secrets:  # else its text is the masked text already: not encoded twice
            plan_text = json.dumps(redactor.value(json.loads(plan_text)), indent=2, ensure_ascii=False)
        write_bytes(staging / PLAN_FILE, (plan_text + "\n").encode("utf-8"))
        (staging / OUTPUTS).mkdir()
        os.rename(staging, folder)  # the run appears whole: a reader never sees it without run.json
        self.folder = folder
        log = EventLog(folder / EVENTS_FILE)
        log.append({"event": "run_started", "at": run.started_at.isoformat(), "clock": time.time()})
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="heddle-lineage")
        copier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="heddle-lineage-copy")
        copier.submit(sync_folder, folder)  # its entries durable while the run goes (`_finish` counts on it)
        reads = {(g.name, n.id): tuple(n.inputs) for g in run.plan.graphs for n in g.nodes
                 if n.kind in _CALLS and n.inputs}
        workflows = frozenset(g.name for g in run.plan.graphs if g.kind == "workflow")
        return _Recording(run.run_id, folder, head, log, redactor, time.monotonic(), writer, copier, workflows,
                          reads=reads)

    def _write(self, active: _Recording, graph: str, node_id: str, table: pa.Table, size: int, *,
               batch: int | None = None) -> None:
        """On the writer thread: one stage output to its file, then to the log."""
        try:
            path = output_path(active.folder, graph, node_id, batch)
            table, nulled = active.redactor.table(table)
            if nulled:  # never written with a secret in it: written as nulls, and the record says so
                self._fail(active, LineageError(UNSCRUBBED, f"{', '.join(f'`{c}`' for c in nulled)} of stage "
                                                            f"`{graph}/{node_id}` could not be scrubbed of secrets "
                                                            "and were recorded as nulls"))
            # A handler's stage runs once per failure: its file keeps the rows of every run.
            whole = _concatenated(path, table) if path in active.outputs else table
            path.parent.mkdir(parents=True, exist_ok=True)
            written = write_table(path, whole)
            _recorded(active, graph, node_id, rows=table.num_rows, size=written, schema=schema_of(whole.schema),
                      path=path, batch=batch)
        except Exception as error:  # on the writer thread nobody else would hear of it; the run goes on
            self._fail(active, error)
        finally:
            self._written(active, (graph, node_id), size)

    def _write_inline(self, active: _Recording, graph: str, node_id: str, frame: pl.DataFrame) -> None:
        """A small Polars output in its `output` event (an Arrow IPC stream's bytes, base64), on the caller's
        thread: a chain of one-row steps records each output with one append instead of a file each."""
        try:
            data = frame_bytes(frame)
            _recorded(active, graph, node_id, rows=frame.height, size=len(data), schema=frame_schema(frame.schema),
                      inline=data)
        except Exception as error:  # the run goes on; the record says what it lacks
            self._fail(active, error)
        finally:
            self._written(active, (graph, node_id), 0)

    def _write_frame(self, active: _Recording, graph: str, node_id: str, frame: pl.DataFrame, size: int) -> None:
        """On the writer thread: a Polars output to its file (the same Arrow IPC file `_write` writes), then to
        the log; an output written before under that name gets the rows added, as `_write` does."""
        path = output_path(active.folder, graph, node_id, None)
        if path in active.outputs:
            self._write(active, graph, node_id, frame.to_arrow(compat_level=pl.CompatLevel.newest()), size)
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            written = write_frame(path, frame)
            _recorded(active, graph, node_id, rows=frame.height, size=written, schema=frame_schema(frame.schema),
                      path=path)
        except Exception as error:  # on the writer thread nobody else would hear of it; the run goes on
            self._fail(active, error)
        finally:
            self._written(active, (graph, node_id), size)

    @staticmethod
    def _plain(active: _Recording, graph: str, batch: int | None) -> bool:
        """May an output be written without Arrow's kernels? Not when its rows may hold a secret to scrub, nor for a
        stream's batch or a handler's stage (which runs once per failure, its rows added to one file)."""
        return batch is None and graph in active.workflows and not active.redactor.secrets

    @classmethod
    def _copies(cls, active: _Recording, graph: str, scan: Scan, batch: int | None) -> bool:
        """Is the scan recorded as a copy of its Parquet file?"""
        return scan.parquet is not None and cls._plain(active, graph, batch)

    def _stream_scan(self, active: _Recording, graph: str, node_id: str, scan: Scan) -> None:
        """On the writer thread: a scan's rows streamed into the output's file, then logged."""
        try:
            path = output_path(active.folder, graph, node_id, None)
            path.parent.mkdir(parents=True, exist_ok=True)
            written = write_scan(path, scan.frame)
            schema = frame_schema(scan.frame.collect_schema())
            with active.room:
                active.outputs.add(path)
                active.rows += scan.rows
            active.log.append({
                "event": "output", "graph": graph, "node": node_id, "rows": scan.rows, "bytes": written,
                "schema": schema_json(schema), "clock": time.time(),
            })
        except Exception as error:  # on the writer thread nobody else would hear of it; the run goes on
            self._fail(active, error)
        finally:
            self._written(active, (graph, node_id), 0)

    def _write_scan(self, active: _Recording, graph: str, node_id: str, scan: Scan, *, batch: int | None,
                    copy: bool) -> None:
        """On the copier thread a scan's output as a copy of its Parquet file; else, on the writer thread, its
        rows streamed into the output's file (`write_scan`: never all in memory) when nothing asks for Arrow's
        kernels (a secret to scrub, rows added to an earlier file), else collected and written as any output."""
        if not copy and self._plain(active, graph, batch) \
                and output_path(active.folder, graph, node_id, batch) not in active.outputs:
            self._stream_scan(active, graph, node_id, scan)
            return
        if not copy:
            try:
                table = scan.frame.collect().to_arrow(compat_level=pl.CompatLevel.newest())
            except Exception as error:  # unreadable now: the record lacks it and says so
                self._fail(active, error)
                self._written(active, (graph, node_id), 0)
                return
            self._write(active, graph, node_id, table, 0, batch=batch)
            return
        try:
            assert scan.parquet is not None
            path = output_path(active.folder, graph, node_id, suffix=PARQUET_SUFFIX)
            path.parent.mkdir(parents=True, exist_ok=True)
            # On the copier's thread, while the run goes on, and fsynced there: the fsyncs at the end find it on disk.
            written = keep_copy(Path(scan.parquet), path, active.folder.parent / COPIES)
            sync_folder(path.parent)  # its entry, and its graph's folder's: `_finish` need not sync them again
            sync_folder(path.parent.parent)
            with active.room:
                active.synced.add(path)
            schema = frame_schema(scan.frame.collect_schema())  # the file's, read whole and unchanged
            _recorded(active, graph, node_id, rows=scan.rows, size=written, schema=schema, path=path)
        except Exception as error:  # on the writer thread nobody else would hear of it; the run goes on
            self._fail(active, error)
        finally:
            self._written(active, (graph, node_id), 0)

    def _evict_batches(self, active: _Recording) -> None:
        """On the writer thread, after a committed batch: the oldest batches go while the run's batches
        take more than the limit (the last batch stays)."""
        try:
            while len(active.batch_bytes) > 1 and sum(active.batch_bytes.values()) > self.limit_bytes:
                oldest = min(active.batch_bytes)
                folder = active.folder / BATCHES / str(oldest)
                gone = {p for p in active.outputs if folder in p.parents}
                active.outputs -= gone
                for path in gone:
                    path.unlink(missing_ok=True)
                for sub in sorted((p for p in folder.glob("**/*") if p.is_dir()), reverse=True):
                    sub.rmdir()
                folder.rmdir()
                del active.batch_bytes[oldest]
                active.log.append({"event": "batch_evicted", "batch": oldest, "clock": time.time()})
        except OSError as error:
            self._fail(active, error)

    def _written(self, active: _Recording, key: Key, size: int, *, counted: bool = True) -> None:
        """An output of `key` is written (or given up): log the events it held back, wake who waits."""
        with active.room:  # logged under the lock: a later event of the node cannot come first
            active.pending -= size
            if counted:
                active.writing[key] -= 1
            for record in _release(active.held, key):
                self._append(active, record)
            active.room.notify_all()

    @staticmethod
    def _wait_for_inputs(active: _Recording, key: Key) -> None:
        """A step is about to run: its inputs' outputs are written first (a step may kill the process)."""
        graph, inputs = key[0], active.reads[key]
        with active.room:
            active.room.wait_for(lambda: not any(active.writing.get((graph, i)) for i in inputs))

    def _finish(self, active: _Recording, result: RunResult) -> None:
        finished = datetime.now(UTC)
        error = _error_json(result.error, active.redactor) if result.error is not None else None
        self._append(active, {"event": "run_finished", "status": result.status, "at": finished.isoformat(),
                              "clock": time.time(), **({"error": error} if error else {})})
        active.log.close(durable=not active.failed)
        # The run folder's entries made at the start were synced then, and the copies with their folders' entries
        # as they were made (on the copier, done by now); the other files, and the folders that got entries
        # since (outputs, batches), are synced here.
        unsynced = active.outputs - active.synced
        for path in sorted(unsynced):
            sync_file(path)
        folders = {p.parent for p in unsynced}
        if unsynced or active.batch_bytes:
            folders |= {active.folder / OUTPUTS, active.folder}
        for folder in folders:
            if not folder.exists():  # an evicted batch's
                continue
            sync_folder(folder)
        states = [{"graph": g, "node": n, "state": str(s)} for (g, n), s in result.states.items()]
        write_json(active.folder / RUN_FILE, {
            **active.head, "status": result.status, "finished_at": finished.isoformat(),
            "seconds": round(time.monotonic() - active.clock, 6), "rows": active.rows,
            "bytes": folder_size(active.folder), "error": error, "states": states,
            # Written when the recording stopped part way (the run went on): what is missing and why.
            "incomplete": self.problem.message if active.failed and self.problem is not None else None,
        }, durable=True)
        self.evicted += evict(self.store, self.limit_bytes, keep=active.run_id)

    def _append(self, active: _Recording, record: dict[str, Any]) -> None:
        try:
            active.log.append(record)
        except OSError as error:
            self._fail(active, error)

    def _fail(self, active: _Recording, error: BaseException | LineageError) -> None:
        active.failed = True
        if self.problem is None:
            self.problem = error if isinstance(error, LineageError) else self._problem(error)

    def _problem(self, error: BaseException) -> LineageError:
        where = f" in {self.folder}" if self.folder is not None else f" under {self.store.folder}"
        return LineageError(WRITE_FAILED, f"lineage could not be recorded{where}: {error}")


def _release(held: dict[Key, list[dict[str, Any]]], key: Key) -> list[dict[str, Any]]:
    """The events one output of `key` lets through: its `succeeded`, and what came after it up to the next."""
    records = held.get(key)
    if not records:
        return []
    cut = next((i for i, r in enumerate(records[1:], 1) if r.get("state") == NodeState.SUCCEEDED), len(records))
    released, rest = records[:cut], records[cut:]
    if rest:
        held[key] = rest
    else:
        del held[key]
    return released


def _error_json(error: ErrorInfo, redactor: Redactor) -> dict[str, Any]:
    return {
        "message": redactor.text(error.message), "type": error.type, "stack_trace": redactor.text(error.stack_trace),
        "step": error.step, "workflow": error.workflow, "attempt": error.attempt,
        "failed_at": error.failed_at.isoformat(), "line": error.line,
    }


def _plain(value: object) -> object:
    """A parameter as JSON can hold it."""
    if value is None or isinstance(value, bool | int | float | str | Mapping | list | tuple):
        return value
    return str(value)


def _write_errors() -> tuple[type[BaseException], ...]:
    """What writing a record may raise: OS errors, and Arrow's once pyarrow is loaded (a run whose data stays
    in Polars records it without pyarrow)."""
    pa = sys.modules.get("pyarrow")
    return (OSError, pa.ArrowException) if pa is not None else (OSError,)


def _recorded(active: _Recording, graph: str, node_id: str, *, rows: int, size: int, schema: Schema,
              path: Path | None = None, batch: int | None = None, inline: bytes | None = None) -> None:
    """A stage's output recorded: counted (its file, if any, among the run's outputs; its bytes in its batch's),
    then its `output` event logged (`inline`: the rows themselves, when they have no file)."""
    with active.room:  # the writer and the copier threads both record
        if path is not None:
            active.outputs.add(path)
        active.rows += rows
        if batch is not None:
            active.batch_bytes[batch] = active.batch_bytes.get(batch, 0) + size
    active.log.append({
        "event": "output", "graph": graph, "node": node_id, "rows": rows, "bytes": size,
        "schema": schema_json(schema), "clock": time.time(),
        **({"batch": batch} if batch is not None else {}),
        **({"inline": base64.b64encode(inline).decode("ascii")} if inline is not None else {}),
    })


def _concatenated(path: Path, table: pa.Table) -> pa.Table:
    import pyarrow as pa

    earlier = read_table(path)
    if isinstance(earlier, LineageError):
        return table
    return pa.concat_tables([earlier, table], promote_options="permissive")
