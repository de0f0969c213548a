"""The typed plan: an inert DAG per workflow and handler, with a schema on every node.

The checker builds it; `heddle plan` prints it; the engine executes it unchanged. Nothing here runs.
Node ids are stable within a plan: a declared step used in several places is one node (computed once
per run), and reading an assignment is an edge to the node that produced it, not a node of its own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import field
from typing import TYPE_CHECKING, Any

from heddle_lang.records import record
from heddle_lang.text import Span
from heddle_lang.types import Schema, dtype_name

if TYPE_CHECKING:
    from heddle_lang.relational.model import Program


@record
class ResourceUse:
    """`<key=resource>`: the resource declaration behind an injection."""

    key: str
    resource: str
    kind: str
    module: str  # import path of the resource's constructor
    constructor: str
    config: Mapping[str, object] = field(default_factory=dict)


@record
class RetryPolicy:
    """`retry: 3` or `retry: { attempts: 3, delay: "500ms", backoff: "exponential", ... }` in a call's config.

    Only the failing node is attempted again; nothing upstream re-runs.
    """

    attempts: int  # attempts in all, the first included (>= 1)
    delay: float = 1.0  # seconds before the second attempt
    backoff: str = "exponential"  # "fixed" | "linear" | "exponential"
    max_delay: float = 60.0  # seconds, the cap of any one delay
    jitter: float = 0.1  # each delay varies by up to this fraction, either way
    on: tuple[str, ...] = ()  # exception class names retried (a base class matches); empty: every error

    def __str__(self) -> str:
        text = f"{self.attempts} attempts, {self.backoff} from {self.delay:g}s up to {self.max_delay:g}s"
        text += f", jitter {self.jitter:g}" if self.jitter else ""
        return text + (f", on {', '.join(self.on)}" if self.on else "")

    def to_json(self) -> dict[str, Any]:
        return {"attempts": self.attempts, "delay": self.delay, "backoff": self.backoff,
                "max_delay": self.max_delay, "jitter": self.jitter, "on": list(self.on)}

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before `attempt` (2, 3, ...), without jitter."""
        steps = max(attempt - 2, 0)
        if self.backoff == "fixed":
            base = self.delay
        elif self.backoff == "linear":
            base = self.delay * (steps + 1)
        else:
            base = self.delay * 2.0 ** steps
        return min(base, self.max_delay)


def duration_text(seconds: float) -> str:
    """`500ms`, `30s`, `5m`, `1.5h`: a duration as the plan shows it."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    if seconds < 60 or seconds % 60:
        return f"{seconds:g}s"
    if seconds < 3600 or seconds % 3600:
        return f"{seconds / 60:g}m"
    return f"{seconds / 3600:g}h"


@record
class Node:
    id: str
    kind: str  # "step" | "call" | "relational" | "dataframe" | "error_context"
    label: str
    output: Schema
    inputs: tuple[str, ...] = ()  # the piped-in node first (if any), then tables a relational block reads
    module: str | None = None  # import path
    function: str | None = None
    step: str | None = None  # the declared step this node runs, if any
    config: Mapping[str, object] = field(default_factory=dict)
    resources: tuple[ResourceUse, ...] = ()
    tables: Mapping[str, str] = field(default_factory=dict)  # relational: table name -> node id
    sql: str | None = None  # relational: prqlc's SQL for the block, shown to the user
    program: Program | None = field(default=None, compare=False)  # relational: what the engine runs
    rows: tuple[Mapping[str, object], ...] = ()  # dataframe literals
    handler: str | None = None
    retry: RetryPolicy | None = None
    timeout: float | None = None  # seconds one attempt may take (`timeout: "30s"`); None: no limit
    line: int = 0  # 1-based line of the stage in the source
    span: Span = field(default=Span(0, 0), compare=False)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id, "kind": self.kind, "label": self.label, "line": self.line,
            "inputs": list(self.inputs),
            "output": {"columns": [{"name": c.name, "type": dtype_name(c.dtype)} for c in self.output.columns],
                       "open": self.output.open},
        }
        if self.module:
            data["module"], data["function"] = self.module, self.function
        if self.step:
            data["step"] = self.step
        if self.config:
            data["config"] = dict(self.config)
        if self.resources:
            data["resources"] = [{"key": r.key, "resource": r.resource, "kind": r.kind} for r in self.resources]
        if self.tables:
            data["tables"] = dict(self.tables)
        if self.sql:
            data["sql"] = self.sql
        if self.rows:
            data["rows"] = [dict(r) for r in self.rows]
        if self.handler:
            data["handler"] = self.handler
        if self.retry:
            data["retry"] = self.retry.to_json()
        if self.timeout is not None:
            data["timeout"] = self.timeout
        return data


@record
class Graph:
    """One workflow or handler: its nodes in an order where every input comes first."""

    name: str
    kind: str  # "workflow" | "handler"
    nodes: tuple[Node, ...]
    handler: str | None = None  # the workflow's `? handler`
    assignments: Mapping[str, str] = field(default_factory=dict)  # name -> node id

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "handler": self.handler,
                "assignments": dict(self.assignments), "nodes": [n.to_json() for n in self.nodes]}


@record
class Plan:
    graphs: tuple[Graph, ...]

    @property
    def workflows(self) -> list[Graph]:
        return [g for g in self.graphs if g.kind == "workflow"]

    @property
    def handlers(self) -> list[Graph]:
        return [g for g in self.graphs if g.kind == "handler"]

    def graph(self, name: str) -> Graph | None:
        return next((g for g in self.graphs if g.name == name), None)

    def only(self, workflow: str | None) -> Plan:
        """This plan narrowed to one workflow and the handlers it may call."""
        if workflow is None:
            return self
        return Plan(tuple(g for g in self.graphs if g.kind == "handler" or g.name == workflow))

    # --- renderings -------------------------------------------------------------------------------

    def explain(self) -> str:
        lines: list[str] = []
        for graph in self.graphs:
            guard = f" ? {graph.handler}" if graph.handler else ""
            lines.append(f"{graph.kind} {graph.name}{guard}")
            for node in graph.nodes:
                inputs = f" <- {', '.join(node.inputs)}" if node.inputs else ""
                trap = f" ? {node.handler}" if node.handler else ""
                lines.append(f"  {node.id} [{node.kind}] {node.label}{inputs}{trap}  (line {node.line})")
                for use in node.resources:
                    lines.append(f"      <{use.key}={use.resource}> {use.kind}")
                if node.retry:
                    lines.append(f"      retry: {node.retry}")
                if node.timeout is not None:
                    lines.append(f"      timeout: {duration_text(node.timeout)} an attempt")
                if node.sql:
                    lines.append(f"      sql: {node.sql}")
                lines.append(f"      -> {node.output}")
            for name, node_id in graph.assignments.items():
                lines.append(f"  > {name} = {node_id}")
            lines.append("")
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps({"graphs": [g.to_json() for g in self.graphs]}, indent=2, default=str)

    def to_mermaid(self) -> str:
        lines = ["flowchart LR"]
        for graph in self.graphs:
            lines.append(f"  subgraph {_ident(graph.name)}[\"{graph.kind} {graph.name}\"]")
            for node in graph.nodes:
                columns = ", ".join(c.name for c in node.output.columns) + (", ..." if node.output.open else "")
                label = f"{node.label}<br/><small>{columns}</small>".replace('"', "'")
                lines.append(f"    {_ident(graph.name)}_{node.id}[\"{label}\"]")
            for node in graph.nodes:
                for source in node.inputs:
                    lines.append(f"    {_ident(graph.name)}_{source} --> {_ident(graph.name)}_{node.id}")
            lines.append("  end")
        return "\n".join(lines) + "\n"

    def to_dot(self) -> str:
        lines = ["digraph heddle {", "  rankdir=LR;", "  node [shape=box, fontname=monospace];"]
        for index, graph in enumerate(self.graphs):
            lines.append(f"  subgraph cluster_{index} {{")
            lines.append(f"    label={json.dumps(f'{graph.kind} {graph.name}')};")
            for node in graph.nodes:
                label = f"{node.label}\n{node.output}"
                lines.append(f"    {json.dumps(f'{graph.name}/{node.id}')} [label={json.dumps(label)}];")
            for node in graph.nodes:
                target = json.dumps(f"{graph.name}/{node.id}")
                for source in node.inputs:
                    lines.append(f"    {json.dumps(f'{graph.name}/{source}')} -> {target};")
            lines.append("  }")
        lines.append("}")
        return "\n".join(lines) + "\n"


def _ident(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)
