"""A joint unit whose chains end in writers, run as one Polars plan: the file the chains share is read once.

The chains that end in a writer (a sink: `lower.py`) give it their lazy query; each writer is called on a thread
of its own, as a member of one `heddle.core.sinks.SinkGroup`, and hands over its sink plan (`Table.sink`). Once
every writer has handed its plan or returned, one `pl.collect_all` runs those plans with the ends of the other
chains (collected), so Polars scans their shared source once and streams each writer's rows into its file.
When outputs are recorded, the blocks before each chain's end are collected first (to be recorded), and the
ends read them — or, where the observer that records them takes them so (lineage), they stream into its files
within the same plan.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Mapping, Sequence

import polars as pl

from heddle.core.sinks import SinkGroup
from heddle_engine.execute import relational
from heddle_engine.execute.data import Data
from heddle_engine.execute.errors import panics_as_failures
from heddle_lang.plan import Node
from heddle_lang.records import record


@record
class Streamed:
    """What a joint unit's pass gave: every node's output that was made (the blocks before the ends only when
    asked for), and each writer's own output (the table as it wrote it)."""

    outputs: Mapping[str, Data]  # node id -> its output
    written: Mapping[str, Data]  # writer node id -> its output (the table as it wrote it)


def stream_joint(nodes: Sequence[Node], ends: Sequence[str], writers: Mapping[str, Node], *,
                 read: Callable[[str], Data], pads: relational.Pads, every: bool,
                 call: Callable[[Node, Data], Data],
                 recorded: Mapping[str, Callable[[pl.LazyFrame], pl.LazyFrame]] | None = None) -> Streamed:
    """Run a unit's `nodes` in one pass: the `ends` in `writers` (end -> writer) streamed by their writers
    (`call(writer, input)` returns the writer's output, or raises), the other ends collected; the blocks before
    the ends streamed into an observer's sinks too (`recorded`: node id -> a maker of its sink plan), or, with
    `every`, collected first. Raises what failed (a block, a writer, the plan)."""
    before: dict[str, Data] = {}
    inner = [n for n in nodes if n.id not in ends]
    if every and inner:
        ran = relational.run_blocks(inner, read, every=True, pads=pads)
        before = {node_id: data for node_id, data in ran.items() if data is not None}

    def source(node_id: str) -> Data:
        return before[node_id] if node_id in before else read(node_id)

    lazies = relational.lazy_blocks([n for n in nodes if n.id not in before], source, pads)
    group = SinkGroup(len(writers))
    results: dict[str, Data] = {}
    failures: list[BaseException] = []

    def write(end: str, writer: Node) -> None:
        with group.member():
            try:
                results[writer.id] = call(writer, Data(lazy=lazies[end]))
            except BaseException as error:  # the writer's own failure, or the plan's
                failures.append(error)

    threads = [threading.Thread(target=contextvars.copy_context().run, args=(write, end, writer),
                                name=f"heddle-sink-{writer.id}", daemon=True) for end, writer in writers.items()]
    for thread in threads:
        thread.start()
    own = [end for end in ends if end not in writers]
    error: BaseException | None = None
    frames: list[pl.DataFrame] = []
    try:
        plans = group.plans()
        extra = [make(lazies[node_id]) for node_id, make in (recorded or {}).items()]
        with panics_as_failures():
            frames = pl.collect_all([*(lazies[end] for end in own), *extra, *plans])
    except BaseException as failed:
        error = failed
    finally:
        group.ran(error)
        for thread in threads:
            thread.join()
    if error is not None:
        raise error
    if failures:
        raise failures[0]
    outputs = {**before, **{end: Data(polars=frame) for end, frame in zip(own, frames[:len(own)], strict=True)}}
    return Streamed(outputs, results)
