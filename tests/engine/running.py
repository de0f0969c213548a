"""Running `.he` files in tests: check, then run through the public API, with a recording observer."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa

from heddle_engine.catalog import load_catalog
from heddle_engine.events import NodeEvent, NodeState, RunInfo, RunObserver, RunResult
from heddle_engine.execute import ExecutionResult, run_workflow
from heddle_engine.run_folder import running_in
from heddle_lang.plan import Graph, Plan, RetryPolicy
from heddle_lang.semantic import analyze
from heddle_lang.syntax import parse


def checked_plan(path: Path) -> Plan:
    with running_in(path.parent):  # as `heddle run` checks: relative paths from the file's folder
        analysis = analyze(parse(path.read_text(encoding="utf-8")), load_catalog(path))
    errors = [d for d in analysis.diagnostics if d.is_error]
    assert errors == [], errors
    return analysis.plan


def with_retry(plan: Plan, label: str, policy: RetryPolicy) -> Plan:
    """The plan with `policy` on every node labelled `label` (as the checker sets it from `retry:`)."""
    graphs = []
    for graph in plan.graphs:
        nodes = tuple(dataclasses.replace(n, retry=policy) if n.label == label else n for n in graph.nodes)
        graphs.append(Graph(graph.name, graph.kind, nodes, graph.handler, graph.assignments))
    return Plan(tuple(graphs))


class Recorder:
    """Keeps every event and output it hears, in order."""

    def __init__(self) -> None:
        self.run: RunInfo | None = None
        self.events: list[NodeEvent] = []
        self.outputs: dict[tuple[str, str], pa.Table] = {}
        self.result: RunResult | None = None
        self._lock = threading.Lock()

    def run_started(self, run: RunInfo) -> None:
        self.run = run

    def node_event(self, event: NodeEvent) -> None:
        with self._lock:
            self.events.append(event)

    def node_output(self, graph: str, node_id: str, table: pa.Table) -> None:
        with self._lock:
            self.outputs[(graph, node_id)] = table

    def run_finished(self, result: RunResult) -> None:
        self.result = result

    def states(self, graph: str, node: str) -> list[NodeState]:
        return [e.state for e in self.events if e.graph == graph and e.node_id == node]


class NodeSeconds:
    """Hears how long each node took (the seconds of its `succeeded` events, by node id, in order), and wants no
    outputs (a benchmark's would be copied for nothing)."""

    wants_outputs = False

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = {}

    def run_started(self, run: RunInfo) -> None:
        return None

    def node_event(self, event: NodeEvent) -> None:
        if event.state == NodeState.SUCCEEDED and event.seconds is not None:
            self.seconds.setdefault(event.node_id, []).append(event.seconds)

    def node_output(self, graph: str, node_id: str, table: pa.Table) -> None:
        return None

    def run_finished(self, result: RunResult) -> None:
        return None


def run_file(path: Path, workflow: str | None = None, *, parameters: Mapping[str, str] | None = None,
             observers: Sequence[RunObserver] = (), plan: Plan | None = None, **options: object) -> ExecutionResult:
    plan = plan if plan is not None else checked_plan(path)
    name = workflow if workflow is not None else plan.workflows[0].name
    return run_workflow(plan, name, load_catalog(path), file=str(path), parameters=dict(parameters or {}),
                        observers=observers, **options)  # type: ignore[arg-type]
