"""A test plugin: order scoring with declared contracts, a resource, and an inference hook."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict

import polars as pl

from heddle.core.resource import Resource, ResourceConfig
from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin
from heddle_lang.catalog import InferenceError
from heddle_lang.types import Schema


class Orders(Table):
    id: int
    amount: float


class Scored(Table):
    score: float


class ModelConfig(ResourceConfig):
    path: str
    version: int = 1


class Model(Resource):
    def __init__(self, path: str) -> None:
        self.path = path


class ScoreConfig(StepConfig[ModelConfig]):
    threshold: float
    labels: list[str] | None = None


class TopConfig(TypedDict):
    n: int


plugin = Plugin(namespace="orders")


@plugin.resource(name="model")
def load_model(config: ModelConfig) -> Model:
    return Model(config.path)


@plugin.step(name="score", resource="model", passthrough=True)
def score(config: ScoreConfig, input: Orders) -> Scored:
    """Adds a `score` column to each order."""
    frame = input.to_polars().with_columns(score=pl.col("amount") / 100.0)
    return Scored.from_polars(frame)


def _top_schema(config: Mapping[str, object], input_schema: Schema | None) -> Schema:
    n = config.get("n")
    if not isinstance(n, int) or n <= 0:
        raise InferenceError(f"`n` must be a positive int, not {n!r}")
    return input_schema or Schema.unknown()


@plugin.step(name="top", infer=_top_schema)
def top(config: TopConfig, input: Table) -> Table:
    """The first `n` rows."""
    return Table.from_polars(input.to_polars().head(config["n"]))
