"""Fraud scoring (`fraud-score/detect`): a transparent rule-based score per transaction; a transaction that
cannot be scored (no user, an amount beyond any card limit) is a failed row for the stage's handler."""

from __future__ import annotations

import polars as pl

from heddle.core.step import StepConfig
from heddle.core.table import RowErrors, Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="fraud")


class Transactions(Table):
    user_id: int
    amount: float


class Scored(Table):
    fraud_score: float
    is_fraud: bool


class ProcessConfig(StepConfig[None]):
    threshold: float = 0.8
    """A score at or above it flags the transaction."""
    high_amount: float = 50_000.0
    """The amount at which the score reaches 1."""
    max_amount: float = 1_000_000.0
    """An amount above it is a data error, not a transaction to score: the row fails."""


@plugin.step(name="process", passthrough=True)
def process(config: ProcessConfig, input: Transactions) -> Scored:
    """Score each transaction: the amount against `high_amount`, capped at 1; flag those above `threshold`. A
    transaction without a user or above `max_amount` fails, with the reason."""
    frame = input.to_polars()
    unusable = pl.col("user_id").is_null() | pl.col("amount").is_null() | (pl.col("amount") > config.max_amount)
    score = (pl.col("amount").cast(pl.Float64) / config.high_amount).clip(0.0, 1.0)
    scored = frame.filter(~unusable).with_columns(fraud_score=score).with_columns(
        is_fraud=pl.col("fraud_score") >= config.threshold)
    failed = frame.filter(unusable)
    if failed.is_empty():
        return Scored.from_polars(scored)
    reasons = ["a transaction without user_id cannot be scored" if row["user_id"] is None
               else f"transaction of user {row['user_id']}: no amount to score" if row["amount"] is None
               else f"transaction of user {row['user_id']}: amount {row['amount']} exceeds any card limit "
                    f"({config.max_amount})" for row in failed.iter_rows(named=True)]
    raise RowErrors(Scored.from_polars(scored), Table.from_polars(failed), reasons)
