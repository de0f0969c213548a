"""What runs in Ray tasks: relational units (whole, or one partition of a row-local unit, or a phase of an
aggregation in two phases), cutting a table into partitions, putting partitions together, the distinct keys
of a lookup's driver partition.

These are plain functions of tables: the placement wraps them with `ray.remote` and passes object refs,
which Ray resolves to the tables where the task runs (zero-copy on the node that holds them). A task
answers with a small `meta` value first (rows, schema, or the error) and the tables after it, so the
driver fetches only the meta.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from heddle_engine.cluster.data import Frame
from heddle_engine.execute import relational
from heddle_engine.execute.data import Data
from heddle_engine.run_folder import running_in
from heddle_lang.plan import Node
from heddle_lang.records import record
from heddle_lang.relational.lowering.phases import TwoPhases

Meta = dict[str, Any]
PARTIALS = "#partials"  # where phase two finds the partial aggregates in its layout (no node has this id)


@record
class Phase:
    """A unit whose last block (phase one, per partition) or first block (phase two, once, reading the partials
    under `PARTIALS`) aggregates in two phases; phase two knows the schema of the table the partials came from."""

    split: TwoPhases
    driver: Mapping[str, pl.DataType] | None = None  # None: phase one


def error_meta(error: BaseException) -> Meta:
    """An exception as data: its class (and base classes, for a retry policy's `on:`), message and trace."""
    classes = type(error).__mro__
    kinds = [c.__name__ for c in classes] + [f"{c.__module__}.{c.__qualname__}" for c in classes]
    trace = getattr(error, "stack", "") or "".join(traceback.format_exception(error))  # a timeout: where it hung
    return {"error": {"type": type(error).__name__, "message": str(error) or type(error).__name__,
                      "trace": trace, "kinds": kinds}}


def table_meta(table: pa.Table) -> tuple[int, pa.Schema]:
    return table.num_rows, table.schema


def inputs_of(layout: Sequence[tuple[str, int]], frames: Sequence[Frame]) -> dict[str, Data]:
    """The tables of `layout` ((node id, number of parts) in order) from the flat list of parts."""
    found: dict[str, Data] = {}
    position = 0
    for node_id, count in layout:
        parts = [f.table for f in frames[position:position + count]]
        position += count
        found[node_id] = Data(arrow=parts[0] if len(parts) == 1 else pa.concat_tables(parts))
    return found


def run_relational(nodes: Sequence[Node], every: bool, pads: Mapping[str, Mapping[str, object]], folder: str,  # noqa: PLR0917
                   phase: Phase | None, layout: Sequence[tuple[str, int]], *frames: Frame) -> tuple[Any, ...]:
    """A relational unit over its input tables: (meta, one table per node, None where not computed)."""
    try:
        inputs = inputs_of(layout, frames)
        with running_in(Path(folder)):
            if phase is not None and phase.driver is not None:
                outputs = relational.run_combined(nodes, inputs.__getitem__, phase.split, inputs[PARTIALS],
                                                  phase.driver, every=every, pads=pads)
            else:
                outputs = relational.run_blocks(nodes, inputs.__getitem__, every=every, pads=pads,
                                                partial=phase.split if phase is not None else None)
    except Exception as error:
        return (error_meta(error), *([None] * len(nodes)))
    arrows = [data.arrow() if data is not None else None for data in (outputs[n.id] for n in nodes)]
    meta = {"outputs": [table_meta(t) if t is not None else None for t in arrows]}
    return (meta, *(Frame(t) if t is not None else None for t in arrows))


def split(frame: Frame, count: int) -> tuple[Any, ...]:
    """A table cut into `count` consecutive slices of (nearly) equal rows: (rows of each, *slices)."""
    table = frame.table
    size, extra = divmod(table.num_rows, count)
    slices, start = [], 0
    for index in range(count):
        length = size + (1 if index < extra else 0)
        slices.append(table.slice(start, length))
        start += length
    return ([s.num_rows for s in slices], *(Frame(s) for s in slices))


def concat(*frames: Frame) -> Frame:
    return Frame(pa.concat_tables([f.table for f in frames])) if len(frames) > 1 else frames[0]


def distinct_keys(frame: Frame, columns: Sequence[str]) -> Frame:
    """A lookup driver's partition reduced to the distinct values of its key columns, in the order they first
    come (what `lookups.bindings` takes from it: the same bindings, in the same order, as from the whole)."""
    keys = pl.from_arrow(frame.table.select(list(columns)), rechunk=False)
    assert isinstance(keys, pl.DataFrame)
    return Frame(keys.unique(maintain_order=True).to_arrow(compat_level=pl.CompatLevel.newest()))
