"""Every test starts on Polars' default engine: a failed query turns a process to the in-memory engine for the rest
of its life (`heddle_engine.execute.polars_engine`), which in pytest's one process would decide the engine of every
later test by which failed before it."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl
import pytest

from heddle_engine.execute import polars_engine


@pytest.fixture(autouse=True)
def _polars_default_engine() -> Iterator[None]:
    yield
    if polars_engine.streaming_avoided():
        polars_engine._AVOIDED.clear()
        pl.Config.set_engine_affinity(None)
