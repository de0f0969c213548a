"""Stream sources: a step that yields batches instead of returning one table.

A step declared with `@plugin.step(stream=True)` is a generator function taking no input. Each value it
yields is one micro-batch — a `Table`, a `pyarrow.Table`, a `polars.DataFrame`, or a `Batch` that carries
the table together with how to commit the source's position after it. The workflow that starts with such
a step is a *stream*: the engine pulls a batch, runs it through the workflow's DAG, and only when every
sink of that batch succeeded and every failed row reached a handler that succeeded does it call the
batch's `commit`; then it pulls the next one. A batch that is not done (a crash, an unhandled failure, a
second Ctrl-C) is never committed, so the source delivers it again: at-least-once.

The generator bounds its own batches (rows, and time waited for them: keys of its config). When nothing
arrives within its wait it yields an empty table, which tells the engine the source is idle (`heddle run
--until-idle`) and lets it stop between batches. The engine closes the generator when the run ends
(`GeneratorExit` at its `yield`): release the source's connections in a `finally`, and never commit there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from heddle_lang.records import record


@record
class Batch:
    """One micro-batch of a stream source."""

    table: object  # a Table, a pyarrow.Table or a polars.DataFrame
    commit: Callable[[], None] | None = None  # records the source's position after this batch; None: nothing to record
    lag: int | None = None  # how many messages the source holds beyond this batch, when it knows
    # Rows the source read but could not turn into rows of `table` (a message that does not decode): they
    # go to the source step's handler with their reason (one text, or one per row), and are committed with
    # the batch once the handler took them.
    failed: object | None = None  # a Table, a pyarrow.Table or a polars.DataFrame
    reasons: str | Sequence[str] = ()
