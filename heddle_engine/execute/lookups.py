"""Lookups: a step joined by a relational block, run once per distinct key of the joining rows.

`from input | join fetch_user_data (==user_id)` where `fetch_user_data`'s SQL says `WHERE id = @user_id`:
the distinct non-null values of `user_id` among the driver's rows are the bindings; the step is called
once per binding, `@user_id` bound as a real parameter of the query (never put into its text), and the
results, stacked, are the table the block joins. Bindings are taken in batches; a retry of the lookup
starts again at the batch that failed, keeping the batches done.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import polars as pl

from heddle_engine.execute.data import Data
from heddle_engine.execute.lower import LookupSource
from heddle_lang.types import Schema

DEFAULT_BATCH = 256


def bindings(sources: Sequence[LookupSource], read: Callable[[str], Data]) -> pl.DataFrame:
    """The distinct key values of every driver, one row per binding (rows with a null key left out)."""
    frames = [read(s.driver).polars().select(s.keys).drop_nulls() for s in sources]
    stacked = frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")
    return stacked.unique(maintain_order=True)


class Lookup:
    """The progress of one lookup: the bindings, the results of the batches done so far."""

    def __init__(self, keys: pl.DataFrame, batch: int = DEFAULT_BATCH) -> None:
        self.keys = keys
        self.batch = max(1, batch)
        self.done: list[pl.DataFrame] = []
        self.next = 0  # the first binding of the batch to run next

    def run(self, call: Callable[[Mapping[str, object]], Data]) -> None:
        """Run the remaining batches; a batch's results are kept only once all its calls returned."""
        while self.next < self.keys.height:
            batch = self.keys.slice(self.next, self.batch)
            results = [call(binding).polars() for binding in batch.iter_rows(named=True)]
            self.done.extend(results)
            self.next += batch.height

    def run_batched(self, call: Callable[[Mapping[str, object]], Data]) -> None:
        """Like `run`, one call per batch: each key column's distinct values as a `Keys` list."""
        from heddle.core.step import Keys

        while self.next < self.keys.height:
            batch = self.keys.slice(self.next, self.batch)
            self.done.append(call({name: Keys(batch[name].to_list()) for name in batch.columns}).polars())
            self.next += batch.height

    def remaining(self) -> pl.DataFrame:
        """The bindings not yet looked up (the payload of a failure)."""
        return self.keys.slice(self.next)

    def result(self, output: Schema) -> Data:
        """The stacked results; key columns of unknown type take the driver's key types."""
        if self.done:
            stacked = self.done[0] if len(self.done) == 1 else pl.concat(self.done, how="diagonal_relaxed")
        else:
            stacked = pl.DataFrame(schema=output.to_polars())
        casts = [pl.col(c).cast(self.keys.schema[c]) for c in self.keys.columns
                 if c in stacked.columns and stacked.schema[c] == pl.Null]
        return Data(polars=stacked.with_columns(casts) if casts else stacked)

