"""A small project with secrets in its configs, and a fake executor that drives a recorder through a run."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pyarrow as pa

from heddle_engine.catalog import EngineCatalog, load_catalog
from heddle_engine.events import ErrorInfo, NodeEvent, NodeState, RunInfo, RunObserver, RunResult
from heddle_engine.lineage import LineageError, LineageRecorder, project_root
from heddle_lang.plan import Plan
from heddle_lang.semantic import analyze
from heddle_lang.syntax import parse

TOKEN = "s3cr3t-token-value"  # a resource's secret key (`Annotated[str, Secret]`)
PEPPER = "pepper-secret-42"  # a step's secret key (`Secret`)

PLUGIN = '''\
"""Secrets in a resource's config and in a step's config; a step taking a workflow parameter, and one that
fails when told to."""

from typing import Annotated

import polars as pl

from heddle.core.resource import Resource, ResourceConfig, Secret
from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="vault")


class StoreConfig(ResourceConfig):
    url: str
    token: Annotated[str, Secret]


class Store(Resource):
    def __init__(self, config: StoreConfig) -> None:
        self.config = config


@plugin.resource(name="store")
def store(config: StoreConfig) -> Store:
    return Store(config)


class MaskConfig(StepConfig[StoreConfig]):
    pepper: Secret


@plugin.step(name="mask", resource="store", passthrough=True)
def mask(config: MaskConfig, input: Table) -> Table:
    return input


class Tagged(Table):
    tag: str


@plugin.step(name="tag", passthrough=True, parameters=("label",))
def tag(input: Table, **parameters: object) -> Tagged:
    """Adds the run's `@label` to every row."""
    return Tagged.from_polars(input.to_polars().with_columns(tag=pl.lit(str(parameters["label"]))))


class CheckConfig(StepConfig[None]):
    fail: bool = False


@plugin.step(name="check", passthrough=True)
def check(config: CheckConfig, input: Table) -> Table:
    if config.fail:
        raise ValueError("check failed on purpose")
    return input
'''

PROGRAM = f'''\
import "std/io" io
import "vault/tools" vault

resource keys = vault.store {{
  url: "https://vault.internal"
  token: "{TOKEN}"
}}

step mask = <store=keys> vault.mask {{
  pepper: "{PEPPER}"
}}

handler report {{
  *
    | io.stderr
}}

workflow Orders ? report {{
  [
    {{ id: 1, customer: "ada", amount: 120.5 }},
    {{ id: 2, customer: "bob", amount: 15000.0 }},
    {{ id: 3, customer: "cy", amount: 20.0 }},
  ]
  > orders

  orders
    | (from input filter amount > 100)
    | mask
  > masked

  masked
    | io.print
}}
'''

T = TypeVar("T")


def ok(value: T | LineageError) -> T:
    """The value, after checking it is not an error."""
    assert not isinstance(value, LineageError), str(value)
    return value


TAGGING = """\
import "vault/tools" vault

workflow Tagging {
  [
    { id: 1, amount: 120.5 },
    { id: 2, amount: 15000.0 },
    { id: 3, amount: 20.0 },
  ]
    | (from input filter amount > 100)
    | vault.tag
    | vault.check { fail: true }
    | (from input select {id, tag})
}
"""

ORDERS = pa.table({"id": [1, 2, 3], "customer": ["ada", "bob", "cy"], "amount": [120.5, 15000.0, 20.0]})
LARGE = ORDERS.slice(0, 2)


def write_project(root: Path, program: str = PROGRAM, name: str = "orders.he") -> Path:
    """The project under `root`; the path of its program."""
    (root / "plugins").mkdir(parents=True, exist_ok=True)
    (root / "plugins" / "__init__.py").write_text("", encoding="utf-8")
    (root / "plugins" / "vault.py").write_text(PLUGIN, encoding="utf-8")
    (root / "heddle.toml").write_text('[modules]\n"vault/tools" = "plugins.vault:plugin"\n', encoding="utf-8")
    path = root / name
    path.write_text(textwrap.dedent(program), encoding="utf-8")
    return path


_CATALOGS: dict[Path, EngineCatalog] = {}


def catalog_of(path: Path) -> EngineCatalog:
    """The catalog of the project `path` is in, loaded once per project (each test has its own)."""
    root = project_root(path) if path.is_file() else path
    if root not in _CATALOGS:
        _CATALOGS[root] = load_catalog(root)
    return _CATALOGS[root]


def new_recorder(root: Path, limit_bytes: int | None = None) -> LineageRecorder:
    """A recorder of the project at `root`, sharing the test's catalog."""
    return LineageRecorder(root, limit_bytes, catalog=catalog_of(root))


def plan_of(path: Path, workflow: str = "Orders") -> Plan:
    analysis = analyze(parse(path.read_text(encoding="utf-8")), catalog_of(path))
    errors = [d for d in analysis.diagnostics if d.is_error]
    assert errors == [], errors
    return analysis.plan.only(workflow)


def error(message: str, *, step: str = "mask", trace: str = "") -> ErrorInfo:
    return ErrorInfo(message=message, type="RuntimeError", stack_trace=trace or f"Traceback: {message}",
                     step=step, workflow="Orders", attempt=1, failed_at=datetime.now(UTC), line=27)


class FakeRun:
    """Emits what the executor would, in order, to one observer."""

    def __init__(self, observer: RunObserver, path: Path, run_id: str, *, workflow: str = "Orders",
                 parameters: dict[str, object] | None = None, replay_of: str | None = None) -> None:
        self.observer = observer
        self.info = RunInfo(run_id, str(path), workflow, parameters or {}, plan_of(path, workflow),
                            datetime.now(UTC), replay_of)

    def start(self) -> FakeRun:
        self.observer.run_started(self.info)
        return self

    def event(self, node: str, state: NodeState, *, graph: str = "Orders", attempt: int = 1,
              rows: int | None = None, failure: ErrorInfo | None = None) -> None:
        seconds = 0.01 if state in (NodeState.SUCCEEDED, NodeState.FAILED) else None
        self.observer.node_event(NodeEvent(graph, node, state, attempt, datetime.now(UTC), rows, seconds, failure))

    def succeed(self, node: str, table: pa.Table, *, graph: str = "Orders") -> None:
        self.event(node, NodeState.RUNNING, graph=graph)
        self.event(node, NodeState.SUCCEEDED, graph=graph, rows=table.num_rows)
        self.observer.node_output(graph, node, table)

    def fail(self, node: str, failure: ErrorInfo, *, graph: str = "Orders") -> None:
        self.event(node, NodeState.RUNNING, graph=graph)
        self.event(node, NodeState.FAILED, graph=graph, failure=failure)

    def finish(self, status: str = "succeeded", failure: ErrorInfo | None = None) -> None:
        self.observer.run_finished(RunResult(self.info.run_id, status, failure))

    def whole(self) -> None:
        """A complete successful run of `Orders`."""
        self.start()
        self.succeed("n1", ORDERS)
        self.succeed("n2", LARGE)
        self.succeed("n3", LARGE)
        self.succeed("n4", LARGE)
        self.finish()
