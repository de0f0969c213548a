"""`Plugin`: a namespace of resources and steps, registered with decorators.

Registering only records declarations (the function, where it is, its doc and options); nothing runs
and no annotation is resolved until the catalog asks for the module's spec (`heddle.sdk.spec`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

from heddle_lang.catalog import DescribeHook, InferHook, SourceLocation
from heddle_lang.records import record

if TYPE_CHECKING:
    from heddle_lang.catalog import ModuleSpec

F = TypeVar("F", bound=Callable[..., object])
ParametersHook = Callable[[Mapping[str, object]], Sequence[str]]
ResourceKinds = Mapping[str, str | tuple[str, bool]]

_NAMESPACE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@record
class ResourceDeclaration:
    name: str
    kind: str
    function: Callable[..., object]
    doc: str | None = None
    scope: Mapping[str, object] | None = None  # the enclosing function's names, to resolve annotations


@record
class SlotDeclaration:
    key: str
    kind: str  # qualified
    required: bool = True


@record
class StepDeclaration:
    name: str
    function: Callable[..., object]
    slots: tuple[SlotDeclaration, ...] = ()
    infer: InferHook | None = None
    passthrough: bool = False
    takes_input: bool | None = None  # None: decided by the function's signature
    parameters: Sequence[str] | ParametersHook = ()
    doc: str | None = None
    scope: Mapping[str, object] | None = None
    describe: DescribeHook | None = None
    lookup_batches: bool | Callable[[Mapping[str, object]], bool] = False
    pushdown: str | None = None
    stream: bool = False
    placement: str | None = None  # "driver": runs in the process that runs the workflow
    rowwise: bool = False  # each output row depends on its input row alone: may run per partition
    sink: bool = False  # writes a table not read yet without collecting it (see `Plugin.step`)


PLACEMENTS = ("driver",)


class Plugin:
    """`plugin = Plugin(namespace="security")`; resource kinds are qualified by the namespace (`security.vault`)."""

    def __init__(self, namespace: str, *, doc: str | None = None) -> None:
        if not isinstance(namespace, str) or not _NAMESPACE.match(namespace):
            raise ValueError(f"a plugin namespace is a name such as `security` or `fraud_score`, not {namespace!r}")
        caller = sys._getframe(1)
        self.namespace = namespace
        self.module = str(caller.f_globals.get("__name__", ""))
        self.doc = doc if doc is not None else str(caller.f_globals.get("__doc__") or "").strip()
        self.location = SourceLocation(caller.f_code.co_filename, caller.f_lineno)
        self.resources: dict[str, ResourceDeclaration] = {}
        self.steps: dict[str, StepDeclaration] = {}

    def __repr__(self) -> str:
        return f"Plugin(namespace={self.namespace!r}, resources={list(self.resources)}, steps={list(self.steps)})"

    def qualify(self, kind: str) -> str:
        """A resource kind as written in a declaration → qualified (`vault` → `security.vault`)."""
        return kind if "." in kind else f"{self.namespace}.{kind}"

    def resource(self, name: str | None = None, *, doc: str | None = None) -> Callable[[F], F]:
        """Register a resource initializer `fn(config: SomeResourceConfig) -> SomeResource`."""
        _check_not_bare(name, "resource")

        def register(function: F) -> F:
            resource_name = _checked_name(name or function.__name__, "resource", self.resources)
            self.resources[resource_name] = ResourceDeclaration(resource_name, self.qualify(resource_name),
                                                                function, doc, _enclosing_scope())
            return function

        return register

    def step(self, name: str | None = None, *, resource: str | None = None, resources: ResourceKinds | None = None,
             infer: InferHook | None = None, passthrough: bool | None = None, takes_input: bool | None = None,
             parameters: Sequence[str] | ParametersHook | None = None, doc: str | None = None,
             describe: DescribeHook | None = None,
             lookup_batches: bool | Callable[[Mapping[str, object]], bool] = False,
             pushdown: str | None = None, stream: bool = False, placement: str | None = None,
             rowwise: bool = False, sink: bool = False) -> Callable[[F], F]:
        """Register a step `fn(config, input: SomeTable) -> OtherTable` (no input parameter: a source).

        `resource="vault"` asks for one resource, injected with `<vault=...>`, of kind `<namespace>.vault`
        (a kind with a dot is another plugin's: `resource="redis.client"` is injected with `<client=...>`);
        `resources={"key": "kind", "other": ("kind", False)}` asks for several (`False`: optional).
        `infer(config, input_schema) -> Schema` types the output from the config at planning time.
        `passthrough=True`: the output is the input plus the columns of the return annotation.
        `parameters`: the `@name` parameters the config refers to, or a function of the config giving them.
        `describe(config, resources) -> Schema | None` types the output by asking the injected resource (a
        database describing a query) at check time: `resources` maps each injection key to that resource's
        effective config; None means "not known now" (the `infer` typing stands); raising `InferenceError`
        says the resource refused (a warning). It must bound its own time; `heddle_engine.describe` helps.
        `lookup_batches` (or a function of the config saying it): joined by one key as a lookup, the step is called
        once per batch of distinct keys, its `@name` parameter a `heddle.core.step.Keys` list, and returns the
        rows of all of them (else it is called once per key).
        `pushdown="postgres"` (a SQL dialect, as prqlc names it): the config's `query` is one SELECT in that
        dialect; a relational block that alone reads the step may have its filters, projections and limits
        sent to the database in that query (the engine rewrites `query` before calling the step).
        `stream=True`: a stream source, a generator function without input that yields batches (tables, or
        `heddle.core.Batch`es with a `commit`); its workflow runs batch by batch (see `heddle.core.stream`).
        `placement="driver"`: on a cluster the step still runs in the process that runs the workflow (it uses
        that machine's console or files); others run on the cluster. `rowwise=True`: each output row depends on
        its input row alone (no order, no totals), so on a cluster a large input may be cut into partitions
        that run side by side.
        `sink=True`: the step writes its input somewhere and, given a table not read yet
        (`input.pending_query()` is a lazy query), writes it as the query streams without collecting it — best
        with `input.sink(query.sink_parquet(path, lazy=True))`, which lets the engine run it with other writers'
        sinks that read the same file, read once — then returns the table as written (a `Table.scan` of it).
        The engine then gives it the lazy query of the relational blocks before it, so a workflow larger than
        memory runs.
        """
        _check_not_bare(name, "step")
        if resource is not None and resources is not None:
            raise TypeError("give either `resource=` or `resources=`, not both")
        slots = self._slots(resource, resources)
        if placement is not None and placement not in PLACEMENTS:
            raise ValueError(f"a step's placement is one of {', '.join(PLACEMENTS)}, not {placement!r}")

        def register(function: F) -> F:
            step_name = _checked_name(name or function.__name__, "step", self.steps)
            self.steps[step_name] = StepDeclaration(
                step_name, function, slots, infer, bool(passthrough), takes_input,
                parameters if parameters is not None else (), doc, _enclosing_scope(), describe, lookup_batches,
                pushdown, bool(stream), placement, bool(rowwise), bool(sink))
            return function

        return register

    def spec(self, path: str) -> ModuleSpec:
        """This plugin as the module an import path names (what the checker sees)."""
        from heddle.sdk.spec import module_spec

        return module_spec(self, path)

    def serve(self, argv: Sequence[str] | None = None) -> None:
        """Serve this plugin to engines over Arrow Flight until shut down (`if __name__ == "__main__":
        plugin.serve()`). Address from `--address` or `HEDDLE_WORKER_ADDRESS`, default 127.0.0.1 on a free
        port; token from `HEDDLE_WORKER_TOKEN`; TLS from `--tls-cert`/`--tls-key` (see `heddle.flight.serve`)."""
        from heddle.flight.serve import serve_plugin

        serve_plugin(self, argv)

    def _slots(self, resource: str | None, resources: ResourceKinds | None) -> tuple[SlotDeclaration, ...]:
        if resource is not None:
            if not isinstance(resource, str):
                raise TypeError(f"`resource=` names a resource kind, such as \"vault\", not {resource!r}")
            key = resource.rpartition(".")[2]  # `resource="redis.client"`: the key is `client`
            return (SlotDeclaration(_checked_key(key), self.qualify(resource)),)
        slots = []
        for key, value in (resources or {}).items():
            kind, required = (value, True) if isinstance(value, str) else _kind_and_flag(key, value)
            slots.append(SlotDeclaration(_checked_key(key), self.qualify(kind), required))
        return tuple(slots)


def _kind_and_flag(key: str, value: object) -> tuple[str, bool]:
    if (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str)
            and isinstance(value[1], bool)):
        return value[0], value[1]
    raise TypeError(f"resources[{key!r}] must be a kind (\"connection\") or (kind, required), not {value!r}")


def _checked_key(key: str) -> str:
    if not isinstance(key, str) or not _NAME.match(key):
        raise ValueError(f"an injection key is a name such as `connection`, not {key!r}")
    return key


def _checked_name(name: str, what: str, taken: Mapping[str, object]) -> str:
    if not _NAME.match(name):
        raise ValueError(f"a {what} name is a name such as `query`, not {name!r}")
    if name in taken:
        raise ValueError(f"this plugin already has a {what} named `{name}`")
    return name


def _enclosing_scope() -> Mapping[str, object] | None:
    """The local names where a decorator is applied inside a function (None at module level): classes
    defined there are found when the annotations are resolved later."""
    frame = sys._getframe(2)
    return dict(frame.f_locals) if frame.f_locals is not frame.f_globals else None


def _check_not_bare(name: object, what: str) -> None:
    if callable(name):
        raise TypeError(f"use `@plugin.{what}(name=...)` (with parentheses) as the decorator")
