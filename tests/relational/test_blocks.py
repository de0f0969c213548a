"""Reductions over arbitrary frames (`blocks.py`) against the same reduction of each frame's values one by one:
frames of no row, one row (most, as in partitions of a row or two) and up to a few dozen, values with nulls and
ties."""

from __future__ import annotations

import math
import random
import statistics

import polars as pl
import pytest

from heddle_lang.relational.lowering.blocks import extreme_positions, sample_stddev


def _frames(seed: int) -> pl.DataFrame:
    chance = random.Random(seed)
    count = chance.randint(0, 120)
    widest = chance.choice([1, 2, 3, 9, 40])
    lo = sorted(chance.randint(0, count) for _ in range(count))
    hi = [min(count, start + chance.choice([0, 1, 1, 1, chance.randint(0, widest)])) for start in lo]
    values = [chance.choice([1.5, -2.0, 4.0, 4.0, 0.0, None]) for _ in range(count)]
    return pl.DataFrame({"v": values, "lo": lo, "hi": hi}, schema={"v": pl.Float64, "lo": pl.Int64, "hi": pl.Int64})


@pytest.mark.parametrize("seed", range(60))
def test_extremes_and_stddev_frame_by_frame(seed: int) -> None:
    frame = _frames(seed)
    found = frame.select(
        low=extreme_positions(pl.col("v"), pl.col("lo"), pl.col("hi"), lowest=True),
        high=extreme_positions(pl.col("v"), pl.col("lo"), pl.col("hi"), lowest=False),
        spread=sample_stddev(pl.col("v"), pl.col("lo"), pl.col("hi")))
    values = frame["v"].to_list()
    for row, (start, end) in enumerate(zip(frame["lo"], frame["hi"], strict=True)):
        held = [(value, at) for at, value in enumerate(values[start:end], start) if value is not None]
        low = min(held, key=lambda pair: pair[0])[1] if held else None  # the first of equal ones
        high = max(held, key=lambda pair: (pair[0], -pair[1]))[1] if held else None
        assert (found["low"][row], found["high"][row]) == (low, high)
        spread = statistics.stdev([value for value, _ in held]) if len(held) > 1 else None
        got = found["spread"][row]
        assert (got is None and spread is None) or (got is not None and spread is not None
                                                    and math.isclose(got, spread, rel_tol=1e-12, abs_tol=1e-12))
