"""Credit checks (`shop/credit`): orders within the customer's credit limit go on; the others fail, row by row."""

from __future__ import annotations

import polars as pl

from heddle.core.table import RowErrors, Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="credit")


class Orders(Table):
    id: int
    customer: str
    amount: float
    credit_limit: float


class Checked(Table):
    headroom: float


@plugin.step(name="check", passthrough=True)
def check(config: dict[str, object], input: Orders) -> Checked:
    """Add `headroom` (the limit left after the order). An order above the customer's limit is a failed row,
    sent to the stage's handler with the reason."""
    frame = input.to_polars()
    over = pl.col("amount") > pl.col("credit_limit")
    passed = frame.filter(~over).with_columns(headroom=pl.col("credit_limit") - pl.col("amount"))
    failed = frame.filter(over)
    if failed.is_empty():
        return Checked.from_polars(passed)
    reasons = [f"order {row['id']} of {row['amount']} exceeds the credit limit {row['credit_limit']} of "
               f"{row['customer']}" for row in failed.iter_rows(named=True)]
    raise RowErrors(Checked.from_polars(passed), Table.from_polars(failed), reasons)
