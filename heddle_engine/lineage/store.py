"""Reading recorded runs: the list, one run's stages with their states, and the data at any stage.

Nothing here writes. A run is read from its folder as the recorder left it: `run.json` for what the run
is and how it ended, `plan.json` for its stages, `events.jsonl` for what happened to each stage, and
`outputs/` for the data. A run whose `run.json` has no final status is `running` while the process that
writes it lives on this machine, and `crashed` otherwise.
"""

from __future__ import annotations

import base64
import os
import socket
from collections.abc import Mapping
from dataclasses import field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heddle_engine.lineage.errors import (
    AMBIGUOUS_RUN,
    NO_OUTPUT,
    NO_RUNS,
    UNKNOWN_RUN,
    UNREADABLE,
    LineageError,
)
from heddle_engine.lineage.files import folder_size, read_json, read_lines
from heddle_engine.lineage.layout import (
    EVENTS_FILE,
    FINAL_STATUSES,
    PARQUET_SUFFIX,
    PLAN_FILE,
    RUN_FILE,
    recorded_output,
    runs_folder,
)
from heddle_engine.lineage.stages import StageName, resolve
from heddle_lang.records import record
from heddle_lang.suggest import listing

if TYPE_CHECKING:
    import pyarrow as pa

LAST = "last"


@record
class RunRecord:
    run_id: str
    folder: Path
    status: str  # "succeeded" | "failed" | "interrupted" | "running" | "crashed"
    workflow: str
    file: str  # as given on the command line
    path: str | None  # the file, absolute
    started_at: datetime | None
    started: float  # seconds since the epoch, for ordering
    seconds: float | None  # how long it ran (until its last event when it crashed)
    rows: int  # rows recorded, every stage summed
    size: int  # bytes on disk
    parameters: Mapping[str, object] = field(default_factory=dict)
    replay_of: str | None = None
    replay_from: str | None = None
    replay_batch: int | None = None  # the stream's batch a replay re-ran
    error: Mapping[str, Any] | None = None
    incomplete: str | None = None  # why the recording stopped part way, when it did

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.run_id, "workflow": self.workflow, "file": self.file, "path": self.path,
            "status": self.status, "started": self.started_at.isoformat() if self.started_at else None,
            "seconds": self.seconds, "rows": self.rows, "bytes": self.size, "parameters": dict(self.parameters),
            "replay_of": self.replay_of, "replay_from": self.replay_from, "replay_batch": self.replay_batch,
            "error": self.error,
            "incomplete": self.incomplete, "folder": str(self.folder),
        }


@record
class StageRecord:
    name: StageName
    kind: str
    line: int
    state: str  # the last state recorded, "not run" when none was
    attempts: int
    rows: int | None
    seconds: float | None
    error: Mapping[str, Any] | None
    output: Path | bytes | None  # the recorded data, when there is some: its file, or its bytes (inline)
    schema: tuple[Mapping[str, str], ...] | None  # the recorded data's columns (name, type)
    declared: tuple[Mapping[str, str], ...] = ()  # the plan's columns for this stage

    @property
    def from_recording(self) -> bool:
        """In a replay: the stage did not run, its output was read from the replayed run (attempt 0)."""
        return self.state == "succeeded" and self.attempts == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "graph": self.name.graph, "id": self.name.node_id, "label": self.name.label, "kind": self.kind,
            "line": self.line, "state": self.state, "attempts": self.attempts, "rows": self.rows,
            "seconds": self.seconds, "error": self.error, "data": self.output is not None,
            "from_recording": self.from_recording,
            "schema": list(self.schema) if self.schema is not None else list(self.declared),
        }


@record
class RecordedBatches:
    """The batches a stream run recorded, and those whose data went under the `[lineage] limit`."""

    numbers: tuple[int, ...]
    evicted: frozenset[int]

    def describe(self) -> str:
        numbers = self.numbers
        return f"batches {numbers[0]} to {numbers[-1]}" if numbers else "no batches (it is not a stream)"


def _batches(events: list[dict[str, Any]]) -> RecordedBatches:
    numbers = sorted({int(e["batch"]) for e in events if e.get("event") == "batch"})
    evicted = frozenset(int(e["batch"]) for e in events if e.get("event") == "batch_evicted")
    return RecordedBatches(tuple(numbers), evicted)


class LineageStore:
    """The recorded runs of one project."""

    def __init__(self, project_root: Path) -> None:
        self.root = project_root
        self.folder = runs_folder(project_root)

    def runs(self) -> list[RunRecord]:
        """Every recorded run, newest first."""
        try:
            entries = [e for e in os.scandir(self.folder) if e.is_dir() and not e.name.startswith(".")]
        except FileNotFoundError:
            return []
        records = [read_run(Path(e.path)) for e in entries]
        return sorted(records, key=lambda r: (r.started, r.run_id), reverse=True)

    def find(self, reference: str) -> RunRecord | LineageError:
        """A run by id, unique id prefix, or `last`."""
        runs = self.runs()
        if not runs:
            return LineageError(NO_RUNS, f"no run is recorded in {self.folder}")
        if reference == LAST:
            return runs[0]
        exact = [r for r in runs if r.run_id == reference]
        if exact:
            return exact[0]
        found = [r for r in runs if r.run_id.startswith(reference)] if reference else []
        if len(found) == 1:
            return found[0]
        if found:
            return LineageError(AMBIGUOUS_RUN, f"`{reference}` starts the ids of {len(found)} runs: "
                                               f"{listing([r.run_id for r in found])}; give more of the id")
        recent = listing([r.run_id for r in runs[:5]])
        return LineageError(UNKNOWN_RUN, f"no recorded run has an id starting with `{reference}` "
                                         f"(latest: {recent}; `last` names the latest)")

    def stages(self, run: RunRecord, batch: int | None = None) -> list[StageRecord] | LineageError:
        """The stages of a run; of a stream's batch `batch` (the stages that run once per run as they ran)."""
        plan = read_json(run.folder / PLAN_FILE)
        if plan is None or not isinstance(plan.get("graphs"), list):
            return LineageError(UNREADABLE, f"run {run.run_id} has no readable plan ({run.folder / PLAN_FILE})")
        events = read_lines(run.folder / EVENTS_FILE)
        if batch is not None:
            recorded = _batches(events)
            if batch not in recorded.numbers:
                return LineageError(NO_OUTPUT, f"run {run.run_id} has no batch {batch}: it recorded "
                                               f"{recorded.describe()}")
            once = [e for e in events if "batch" not in e]
            events = [e for e in events if e.get("batch") == batch]
            ran = {(e.get("graph"), e.get("node")) for e in events}
        graphs = sorted(plan["graphs"], key=lambda g: g.get("kind") != "workflow")
        return [_stage(run.folder, graph, node,
                       events if batch is None or (graph.get("name"), node.get("id")) in ran else once, batch)
                for graph in graphs for node in graph.get("nodes", [])]

    def batches(self, run: RunRecord) -> RecordedBatches:
        """A stream's recorded batches (none: the run is not a stream)."""
        return _batches(read_lines(run.folder / EVENTS_FILE))

    def stage(self, run: RunRecord, name: str, batch: int | None = None) -> StageRecord | LineageError:
        stages = self.stages(run, batch)
        if isinstance(stages, LineageError):
            return stages
        chosen = resolve([s.name for s in stages], name, run.workflow)
        if isinstance(chosen, LineageError):
            return chosen
        return next(s for s in stages if s.name == chosen)

    def table(self, run: RunRecord, stage: StageRecord, limit: int | None = None) -> pa.Table | LineageError:
        """The data a stage output in that run (its first `limit` rows)."""
        if stage.output is None:
            why = f"it ended {stage.state}" if stage.state != "not run" else "it never ran"
            return LineageError(NO_OUTPUT, f"run {run.run_id} recorded no data for {stage.name.describe()}: {why}")
        return read_table(stage.output, limit)


IPC_FILE_MAGIC = b"ARROW1"  # the first bytes of an Arrow IPC file (format 2's inline outputs); a stream has none


def read_table(path: Path | bytes, limit: int | None = None) -> pa.Table | LineageError:
    """An Arrow IPC file's table (or a recorded Parquet copy's, or an inline output's bytes); with `limit`, only
    the record batches (row groups) holding its first `limit` rows are read."""
    import pyarrow as pa

    if isinstance(path, Path) and path.suffix == PARQUET_SUFFIX:
        return _read_parquet(path, limit)
    where = path if isinstance(path, Path) else "an inline output"
    if isinstance(path, bytes) and not path.startswith(IPC_FILE_MAGIC):  # an inline stream (layout format 3)
        try:
            table = pa.ipc.open_stream(path).read_all()
        except (OSError, pa.ArrowException) as error:
            return LineageError(UNREADABLE, f"{where}: {error}")
        return table if limit is None else table.slice(0, limit)
    try:
        with pa.BufferReader(path) if isinstance(path, bytes) else pa.memory_map(str(path)) as source:
            reader = pa.ipc.open_file(source)
            if limit is None:
                return reader.read_all()
            batches: list[pa.RecordBatch] = []
            rows = 0
            for index in range(reader.num_record_batches):
                if rows >= limit:
                    break
                batch = reader.get_batch(index)
                batches.append(batch)
                rows += batch.num_rows
            return pa.Table.from_batches(batches, reader.schema).slice(0, limit)
    except (OSError, pa.ArrowException) as error:
        return LineageError(UNREADABLE, f"{where}: {error}")


def _read_parquet(path: Path, limit: int | None) -> pa.Table | LineageError:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(path)
        if limit is None:
            return file.read()
        groups: list[int] = []
        rows = 0
        for index in range(file.num_row_groups):
            if rows >= limit:
                break
            groups.append(index)
            rows += file.metadata.row_group(index).num_rows
        return file.read_row_groups(groups).slice(0, limit) if groups else pa.Table.from_batches([], file.schema_arrow)
    except (OSError, pa.ArrowException) as error:
        return LineageError(UNREADABLE, f"{path}: {error}")


def _inline(event: Mapping[str, Any]) -> bytes | None:
    """An `output` event's inline data (`layout.INLINE_BYTES`); None when it does not decode."""
    try:
        return base64.b64decode(str(event["inline"]), validate=True)
    except (ValueError, TypeError):
        return None


def read_run(folder: Path) -> RunRecord:
    head = read_json(folder / RUN_FILE) or {}
    status = run_status(head)
    events: list[dict[str, Any]] | None = None
    rows, size, seconds = head.get("rows"), head.get("bytes"), head.get("seconds")
    if status not in FINAL_STATUSES:
        events = read_lines(folder / EVENTS_FILE)
        rows = sum(int(e.get("rows") or 0) for e in events if e.get("event") == "output")
        size = folder_size(folder)
        seconds = _elapsed(head, events) if status == "crashed" else _since(head)
    started_at = _datetime(head.get("started_at"))
    started = head.get("started")
    if not isinstance(started, int | float):
        try:
            started = folder.stat().st_mtime
        except OSError:
            started = 0.0
    error = head.get("error")
    return RunRecord(
        run_id=folder.name, folder=folder, status=status, workflow=str(head.get("workflow") or "?"),
        file=str(head.get("file") or "?"), path=head.get("path"), started_at=started_at, started=float(started),
        seconds=float(seconds) if isinstance(seconds, int | float) else None, rows=int(rows or 0),
        size=int(size or 0), parameters=head.get("parameters") or {}, replay_of=head.get("replay_of"),
        replay_from=head.get("replay_from"),
        replay_batch=head["replay_batch"] if isinstance(head.get("replay_batch"), int) else None,
        error=error if isinstance(error, dict) else None,
        incomplete=head.get("incomplete"),
    )


def run_status(head: Mapping[str, Any]) -> str:
    status = head.get("status")
    if status in FINAL_STATUSES:
        return str(status)
    if status == "running" and head.get("host") == socket.gethostname() and _alive(head.get("pid")):
        return "running"
    return "crashed"


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def _datetime(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _since(head: Mapping[str, Any]) -> float | None:
    started = head.get("started")
    if not isinstance(started, int | float):
        return None
    return max(datetime.now().timestamp() - started, 0.0)


def _elapsed(head: Mapping[str, Any], events: list[dict[str, Any]]) -> float | None:
    """A crashed run's duration: from its start to its last recorded event."""
    started = head.get("started")
    stamps = [e["clock"] for e in events if isinstance(e.get("clock"), int | float)]
    if not isinstance(started, int | float) or not stamps:
        return None
    return max(max(stamps) - started, 0.0)


def _stage(folder: Path, graph: Mapping[str, Any], node: Mapping[str, Any],
           events: list[dict[str, Any]], batch: int | None = None) -> StageRecord:
    graph_name, node_id = str(graph.get("name")), str(node.get("id"))
    mine = [e for e in events if e.get("graph") == graph_name and e.get("node") == node_id]
    transitions = [e for e in mine if e.get("event") == "node"]
    outputs = [e for e in mine if e.get("event") == "output"]
    last = transitions[-1] if transitions else None
    errors = [e["error"] for e in transitions if isinstance(e.get("error"), dict)]
    ended = [e for e in transitions if isinstance(e.get("seconds"), int | float)]
    path = recorded_output(folder, graph_name, node_id, batch)
    if batch is not None and not path.is_file():  # a stage run once per run
        path = recorded_output(folder, graph_name, node_id)
    assigned = tuple(a for a, i in (graph.get("assignments") or {}).items() if i == node_id)
    declared = tuple((node.get("output") or {}).get("columns") or ())
    return StageRecord(
        name=StageName(graph_name, node_id, str(node.get("label")), assigned),
        kind=str(node.get("kind")), line=int(node.get("line") or 0),
        state=str(last["state"]) if last else "not run",
        attempts=max((int(e.get("attempt") or 0) for e in transitions), default=0),
        rows=sum(int(e.get("rows") or 0) for e in outputs) if outputs else None,
        seconds=float(ended[-1]["seconds"]) if ended else None,
        error=errors[-1] if errors else None,
        output=_inline(outputs[-1]) if outputs and "inline" in outputs[-1] else (
            path if outputs and path.is_file() else None),
        schema=tuple(outputs[-1].get("schema") or ()) if outputs else None,
        declared=declared,
    )
