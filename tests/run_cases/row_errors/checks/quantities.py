"""A step that fails on some rows: quantities must be positive."""

from __future__ import annotations

import polars as pl

from heddle.core.table import RowErrors, Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="quantities")


class Lines(Table):
    id: int
    quantity: int


class Priced(Table):
    total: float


@plugin.step(name="price", passthrough=True)
def price(config: dict[str, object], input: Lines) -> Priced:
    frame = input.to_polars()
    bad = pl.col("quantity") <= 0
    good = frame.filter(~bad).with_columns(total=pl.col("quantity") * 2.5)
    failed = frame.filter(bad)
    if failed.is_empty():
        return Priced.from_polars(good)
    reasons = [f"quantity {q} is not positive" for q in failed["quantity"]]
    raise RowErrors(Priced.from_polars(good), Table.from_polars(failed), reasons)
