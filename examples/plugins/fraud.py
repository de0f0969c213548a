"""Fraud scoring (`fraud-score/detect`): a transparent rule-based score per transaction."""

from __future__ import annotations

import polars as pl

from heddle.core.step import StepConfig
from heddle.core.table import Table
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


@plugin.step(name="process", passthrough=True)
def process(config: ProcessConfig, input: Transactions) -> Scored:
    """Score each transaction: the amount against `high_amount`, capped at 1; flag those above `threshold`."""
    score = (pl.col("amount").cast(pl.Float64) / config.high_amount).clip(0.0, 1.0)
    frame = input.to_polars().with_columns(fraud_score=score).with_columns(
        is_fraud=pl.col("fraud_score") >= config.threshold)
    return Scored.from_polars(frame)
