"""`run_workflow`: check what a run needs, then run the workflow and tell the observers.

Before anything runs: the workflow is lowered, its parameters are converted (`ParameterError`s), lookups
are checked, and a replay's recording is checked for the outputs it must provide. Any problem raises
`RunRefused` with all of them. Then the run starts: `run_started`, node events, `run_finished`.

A run ends `succeeded`, `failed`, or `interrupted`: `Interrupt` (from another thread) or Ctrl-C in the
thread running it stops it — no further stage starts, the stages running finish or are abandoned, the
observers hear the end, and `heddle run` exits 130.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from heddle_engine.catalog import EngineCatalog
from heddle_engine.events import RunInfo, RunObserver
from heddle_engine.execute.data import ArrowTables
from heddle_engine.execute.errors import RunRefused, SetupError
from heddle_engine.execute.executor import Run
from heddle_engine.execute.functions import Functions
from heddle_engine.execute.lookups import DEFAULT_BATCH
from heddle_engine.execute.lower import ExecPlan, lower
from heddle_engine.execute.parameters import bind_parameters, workflow_parameters
from heddle_engine.execute.polars_engine import TURNED, streaming_avoided
from heddle_engine.execute.result import ExecutionResult
from heddle_engine.execute.states import Observers
from heddle_engine.execute.stream import StreamLimits
from heddle_engine.run_folder import running_in
from heddle_lang.plan import Node, Plan
from heddle_lang.text import Encoding, LineIndex

if TYPE_CHECKING:
    import pyarrow as pa

    from heddle_engine.cluster.partition import Partitioning
    from heddle_engine.cluster.placement import RayPlacement
    from heddle_engine.workers.jit import JitPlacement

INTERRUPTED = "interrupted"


class Interrupt:
    """Stops a run from another thread. A finite run: no further stage starts, and the run ends `interrupted`.
    A stream: the first call drains it (the batch in flight finishes and is committed, the run ends as it
    would have), the second stops it at once (that batch uncommitted; the run ends `interrupted`)."""

    def __init__(self) -> None:
        self.calls = 0
        self._stop: threading.Event | None = None
        self._drain: threading.Event | None = None
        self._cancel: threading.Event | None = None
        self._lock = threading.Lock()

    @property
    def requested(self) -> bool:
        """Was the run stopped (not merely drained)?"""
        with self._lock:
            return self.calls >= (2 if self._drain is not None else 1)

    def __call__(self) -> None:
        with self._lock:
            self.calls += 1
            self._apply()

    def attach(self, stop: threading.Event, drain: threading.Event | None = None,
               cancel: threading.Event | None = None) -> None:
        """The run's stop event (a stream's drain event, a cluster's cancel event, set with stop): set now if
        the interrupt came first."""
        with self._lock:
            self._stop, self._drain, self._cancel = stop, drain, cancel
            self._apply()

    def _apply(self) -> None:
        if self.calls >= 1 and self._drain is not None:
            self._drain.set()
        if self.calls >= (2 if self._drain is not None else 1) and self._stop is not None:
            self._stop.set()
            if self._cancel is not None:
                self._cancel.set()


def new_run_id(now: datetime | None = None) -> str:
    """`YYYYMMDD-HHMMSS-<6 hex>` in UTC: ids sort in the order runs started."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%d-%H%M%S}-{os.urandom(3).hex()}"


def default_workers() -> int:
    """Threads for independent branches: 2 to 4, by the machine's processors."""
    return min(4, max(2, os.cpu_count() or 2))


def prepare(plan: Plan, workflow: str, catalog: EngineCatalog, *, parameters: Mapping[str, str],
            source: str | None = None, recorded: Mapping[str, pa.Table] | None = None,
            start_from: str | None = None) -> tuple[ExecPlan, dict[str, object], list[SetupError]]:
    """The lowered plan, the converted parameters, and every problem that keeps the run from starting."""
    exec_plan = lower(plan, workflow, Functions.of(catalog), start_from=start_from)
    values, parameter_errors = bind_parameters(workflow_parameters(exec_plan, source), parameters)
    problems: list[SetupError] = [*exec_plan.errors, *parameter_errors]
    if start_from is not None:
        problems.extend(_missing_recordings(exec_plan, recorded or {}))
    return exec_plan, values, problems


def run_workflow(plan: Plan, workflow: str, catalog: EngineCatalog, *, file: str, parameters: Mapping[str, str],
                 observers: Sequence[RunObserver] = (), run_id: str | None = None,
                 recorded: Mapping[str, pa.Table] | None = None, start_from: str | None = None,
                 replay_of: str | None = None, replay_batch: int | None = None, workers: int | None = None,
                 lookup_batch: int = DEFAULT_BATCH, source: str | None = None,
                 jit_workers: Sequence[str] = (), interrupt: Interrupt | None = None,
                 stream: StreamLimits | None = None, cluster: str | None = None,
                 partitioning: Partitioning | None = None) -> ExecutionResult:
    """Run `workflow` of `plan` (the checker's typed plan, unchanged). `file`: the `.he` file, whose folder
    relative paths start from; `source`: its text when it is not the file's (an editor's unsaved buffer).
    `jit_workers`: `heddle worker` addresses the project's Python steps run in (default: the project's
    `[workers] jit`); `interrupt`: lets another thread stop the run; `stream`: when a stream run stops by
    itself (a workflow with a stream source runs batch by batch, `stream.py`); `cluster`: the address of a
    Ray cluster to run on (`heddle_engine.cluster`; default: the project's `[cluster] address`, else in this
    process); `partitioning`: how large inputs of row-local units are cut there. Raises `RunRefused` when
    the run cannot start; else the run's result (a KeyboardInterrupt in this thread ends the run
    `interrupted`, tells the observers, and is raised again)."""
    path = Path(file)
    source = source if source is not None else _read(path)
    exec_plan, values, problems = prepare(plan, workflow, catalog, parameters=parameters, source=source,
                                          recorded=recorded, start_from=start_from)
    if problems:
        raise RunRefused(problems)
    run_id = run_id or new_run_id()
    jit = _jit_placement(exec_plan, catalog, jit_workers, run_id)
    placement = _cluster_placement(exec_plan, catalog, cluster, run_id, folder=path.parent,
                                   partitioning=partitioning)
    hub = Observers(observers)
    lines = LineIndex(source.encode("utf-8")) if source is not None else None
    run = Run(exec_plan, Functions.of(catalog), hub, workflow=workflow, parameters=values, recorded=recorded or {},
              where=lambda node: _where(file, lines, node), workers=workers or default_workers(),
              lookup_batch=lookup_batch, run_id=run_id, jit=jit, stream=stream, cluster=placement,
              project=(catalog.project.root if catalog.project is not None else path.resolve().parent).name)
    hub.run_started(RunInfo(run_id, file, workflow, dict(values), plan.only(workflow), datetime.now(UTC),
                            replay_of, start_from, replay_batch, secrets=run.redactor.values))
    if interrupt is not None:
        interrupt.attach(run.stop, run.drain if exec_plan.stream is not None else None,
                         placement.cancelled if placement is not None else None)
    started = time.perf_counter()
    streaming = not streaming_avoided()
    keyboard: KeyboardInterrupt | None = None
    with running_in(path.parent):
        try:
            run.execute()
        except KeyboardInterrupt as pressed:
            keyboard = pressed
        finally:
            closing = run.resources.close()
            if catalog.workers is not None:  # the run's resources and module versions there may go
                closing.extend(catalog.workers.release(run_id))
            if jit is not None:
                closing.extend(jit.release(run_id))
            if placement is not None:
                closing.extend(placement.close())
    failures = tuple(run.failures)
    interrupted = keyboard is not None or (interrupt is not None and interrupt.requested)
    result = ExecutionResult(
        run_id=run_id, status=INTERRUPTED if interrupted else "failed" if failures else "succeeded",
        error=failures[0].info if failures else None, states=run.states.snapshot(),
        workflow=workflow, failures=failures, rows=dict(run.rows), kept=dict(run.kept),
        outputs=ArrowTables(run.outputs),
        warnings=(*hub.warnings, *run.warnings, *closing, *run.abandoned.warnings(),
                  *((TURNED,) if streaming and streaming_avoided() else ())),
        seconds=time.perf_counter() - started, batches=run.batches if exec_plan.stream is not None else None,
        cluster=None if placement is None else {"address": placement.address,
                                                "fetched_bytes": placement.traffic.fetched,
                                                "put_bytes": placement.traffic.put,
                                                "partitions": dict(placement.partitions),
                                                "two_phases": sorted(placement.two_phases)})
    hub.run_finished(result)
    if keyboard is not None:
        raise keyboard
    return result


def _jit_placement(plan: ExecPlan, catalog: EngineCatalog, given: Sequence[str], run_id: str) -> JitPlacement | None:
    """The run's workers, the plugins it uses shipped to them (`RunRefused` when they cannot take them)."""
    addresses = tuple(given) or (catalog.project.jit_workers if catalog.project is not None else ())
    if not addresses:
        return None
    from heddle_engine.workers.jit import JitPlacement  # pyarrow.flight is loaded by runs that use workers

    jit = JitPlacement(addresses, catalog)
    problems = jit.load([n for g in plan.graphs for n in g.graph.nodes], run_id)
    if problems:
        jit.release(run_id)
        raise RunRefused(problems)
    return jit


def _cluster_placement(plan: ExecPlan, catalog: EngineCatalog, given: str | None, run_id: str, *, folder: Path,
                       partitioning: Partitioning | None) -> RayPlacement | None:
    """The run's place on a Ray cluster, connected, its plugins shipped (`RunRefused` when it cannot be)."""
    project, active = catalog.project, catalog.profiles.active
    address = given or (project.profile_clusters.get(active or "") or project.cluster if project is not None else None)
    if not address:
        return None
    from heddle_engine.cluster.placement import RayPlacement  # Ray is loaded by runs on a cluster only

    placement = RayPlacement(address, catalog, run_id, folder, partitioning)
    problems = placement.start([n for g in plan.graphs for n in g.graph.nodes])
    if problems:
        placement.close()
        raise RunRefused(problems)
    return placement


def _read(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return None


def _where(file: str, lines: LineIndex | None, node: Node) -> str:
    if lines is None or node.span.end == 0:
        return f"{file}:{node.line}"
    position = lines.position(node.span.start, Encoding.UTF32)
    return f"{file}:{position.line + 1}:{position.character + 1}"


def _missing_recordings(plan: ExecPlan, recorded: Mapping[str, pa.Table]) -> list[SetupError]:
    lowered = plan.workflow
    problems = []
    for unit in lowered.units:
        if unit.kind != "recorded" or unit.nodes[0] in recorded:
            continue
        readers = [r for r in lowered.consumers.get(unit.id, ()) if lowered.unit(r).kind != "recorded"]
        if readers:
            node = lowered.node(unit.nodes[0])
            problems.append(SetupError("HR3002", f"the replay needs the recorded output of `{node.label}` "
                                       f"({node.id}), which the recording lacks", node.span))
    return problems
