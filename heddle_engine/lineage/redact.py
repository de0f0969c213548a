"""Keeping secrets out of lineage: masked in the plan, scrubbed from messages, traces and string data.

A value is secret when it is a `heddle.core.Secret`, or when the config schema of its function or resource
marks its key secret (`password: Annotated[str, Secret]`), nested records included. Secret keys are written
as `"***"`; every secret value found that way is also replaced by `"***"` wherever it appears in what the
recorder writes (error messages, stack traces, and every column of recorded tables that can hold text:
strings, binaries, categoricals, lists and structs — `scrub.py`).

A secret taken from the environment (`password: "env:PGPASSWORD"`) stands in the plan as that reference,
never as its value; the run resolves the value when it makes the resource and registers it with its own
redactor, which the recorder reads (`RunInfo.secrets`): the value is scrubbed from every output recorded
after. A value a plugin reads from the environment by itself is invisible here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from heddle.core.config import Secret
from heddle_engine.execute.secrets import MASK, longest_first, scrub
from heddle_lang.catalog import Catalog
from heddle_lang.plan import Node, Plan, ResourceUse
from heddle_lang.types import ConfigSchema, ValueType

if TYPE_CHECKING:
    import pyarrow as pa


class Redactor:
    """Replaces known secret values by `MASK` in text, JSON-like values and Arrow tables.

    `secrets`: the values known when the run starts (the plan's); `live`: the run's own list, which grows as
    the run resolves secrets (`env:` values, read when a resource is made): read each time, so a value is
    scrubbed from every output written after it was resolved.
    """

    def __init__(self, secrets: Iterable[str] = (), live: Callable[[], tuple[str, ...]] | None = None) -> None:
        self._static = longest_first(secrets)
        self._live = live
        self._merged: tuple[tuple[str, ...] | None, tuple[str, ...]] = (None, self._static)

    @property
    def secrets(self) -> tuple[str, ...]:
        if self._live is None:
            return self._static
        current = self._live()
        seen, merged = self._merged
        if seen is not current:
            merged = longest_first((*self._static, *current)) if current else self._static
            self._merged = (current, merged)
        return merged

    def text(self, text: str) -> str:
        return scrub(text, self.secrets)

    def value(self, value: object) -> object:
        """A JSON-like value with every `Secret` masked and secret text scrubbed from its strings."""
        if isinstance(value, Secret):
            return MASK
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {str(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value

    def table(self, table: pa.Table) -> tuple[pa.Table, list[str]]:
        """The table with secret text masked in every column that can hold text (the same table when none
        holds any), and the columns that could not be scrubbed and are nulls instead."""
        secrets = self.secrets
        nulled: list[str] = []
        if not secrets:
            return table, nulled
        from heddle_engine.lineage.scrub import scrub_column  # pyarrow's kernels: only with a secret to scrub

        for index, column in enumerate(table.columns):
            scrubbed, failed = scrub_column(column, secrets)
            if failed:
                nulled.append(table.field(index).name)
            if scrubbed is not column:
                table = table.set_column(index, table.field(index).with_type(scrubbed.type), scrubbed)
        return table, nulled


def redact_plan(plan: Plan, catalog: Catalog | None) -> tuple[Plan, Redactor]:
    """The plan with secret config values masked, and a redactor that knows the values it masked."""
    found: list[str] = []
    graphs = tuple(dataclasses.replace(g, nodes=tuple(_redact_node(n, catalog, found) for n in g.nodes))
                   for g in plan.graphs)
    return Plan(graphs), Redactor(found)


def _redact_node(node: Node, catalog: Catalog | None, found: list[str]) -> Node:
    schema = _function_schema(catalog, node.module, node.function)
    config = _mask(node.config, schema, found)
    resources = tuple(
        dataclasses.replace(use, config=_mask(use.config, _resource_schema(catalog, use), found))
        for use in node.resources)
    return dataclasses.replace(node, config=config, resources=resources)


def _mask(config: Mapping[str, object], schema: ConfigSchema | None, found: list[str]) -> dict[str, object]:
    masked: dict[str, object] = {}
    for key, value in config.items():
        field = schema.get(key) if schema is not None else None
        if isinstance(value, Secret) or (field is not None and field.secret):
            found.extend(_leaves(value))
            masked[key] = MASK
        else:
            masked[key] = _mask_value(value, field.type if field is not None else None, found)
    return masked


def _mask_value(value: object, kind: ValueType | None, found: list[str]) -> object:
    if isinstance(value, Secret):
        found.append(str(value))
        return MASK
    if isinstance(value, Mapping):
        record = kind.record if kind is not None and kind.kind == "record" else None
        if record is not None:
            return _mask(value, record, found)
        item = kind.item if kind is not None and kind.kind == "dict" else None
        return {k: _mask_value(v, item, found) for k, v in value.items()}
    if isinstance(value, list | tuple):
        item = kind.item if kind is not None and kind.kind == "list" else None
        return [_mask_value(v, item, found) for v in value]
    return value


def _leaves(value: object) -> Iterator[str]:
    """The text of every scalar inside a secret value (a secret number is scrubbed as its digits)."""
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)
    elif value is not None and not isinstance(value, bool):
        yield str(value)


def _function_schema(catalog: Catalog | None, module: str | None, function: str | None) -> ConfigSchema | None:
    if catalog is None or module is None or function is None:
        return None
    spec = catalog.module(module)
    found = spec.functions.get(function) if spec is not None else None
    return found.config if found is not None else None


def _resource_schema(catalog: Catalog | None, use: ResourceUse) -> ConfigSchema | None:
    if catalog is None or not use.module:
        return None
    spec = catalog.module(use.module)
    found = spec.resources.get(use.constructor) if spec is not None else None
    return found.config if found is not None else None

