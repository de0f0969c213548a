"""A test plugin that cannot be imported here: it needs a package that is not installed."""

from __future__ import annotations

import heddle_test_missing_dependency  # noqa: F401 - the import that fails

from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="unimportable")


class Readings(Table):
    id: int
    value: float


class Predicted(Table):
    prediction: float


class PredictConfig(StepConfig[None]):
    model: str
    """The model's file."""
    limit: int = 10


@plugin.step(name="predict", passthrough=True)
def predict(config: PredictConfig, input: Readings) -> Predicted:
    """Predict a value per reading."""
    raise NotImplementedError
