"""Keeping secrets out of lineage: masked in the plan, scrubbed from messages, traces and string data.

A value is secret when it is a `heddle.core.Secret`, or when the config schema of its function or resource
marks its key secret (`password: Annotated[str, Secret]`), nested records included. Secret keys are written
as `"***"`; every secret value found that way is also replaced by `"***"` wherever it appears in text the
recorder writes (error messages, stack traces, string columns of recorded tables).

A secret taken from the environment (`password: "env:PGPASSWORD"`) stands in the plan as that reference,
never as its value; the executor masks the value itself in the errors it reports. A value a plugin reads
from the environment by itself is invisible here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping

import pyarrow as pa
import pyarrow.compute as pc

from heddle.core.config import Secret
from heddle_engine.execute.secrets import MASK, longest_first, scrub
from heddle_lang.catalog import Catalog
from heddle_lang.plan import Node, Plan, ResourceUse
from heddle_lang.types import ConfigSchema, ValueType


class Redactor:
    """Replaces known secret values by `MASK` in text, JSON-like values and Arrow tables."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = longest_first(secrets)

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

    def table(self, table: pa.Table) -> pa.Table:
        """The table with secret text replaced in its string columns (the same table when none holds any)."""
        if not self.secrets:
            return table
        for index, column in enumerate(table.columns):
            scrubbed = self._column(column)
            if scrubbed is not column:
                table = table.set_column(index, table.field(index).with_type(scrubbed.type), scrubbed)
        return table

    def _column(self, column: pa.ChunkedArray) -> pa.ChunkedArray:
        """The column with secrets replaced; the same column when it holds none (or is not text)."""
        kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)):
            return column
        # The string kernels take plain strings: dictionaries and views are decoded to search them.
        text = column if column.type == kind and not pa.types.is_string_view(kind) else column.cast(pa.large_string())
        found = [s for s in self.secrets if pc.any(pc.match_substring(text, s)).as_py()]
        for secret in found:
            text = pc.replace_substring(text, secret, MASK)
        return text if found else column


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

