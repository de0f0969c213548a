"""The packed sort by several number-like keys (`lowering/packing.py`) puts rows in the order Polars' stable
sort by those keys does (nulls last), on keys at their types' extremes: 64-bit ends, unsigned past 2^63,
NaN, ±0.0, infinities, all-null keys, dates and booleans, in both directions."""

from __future__ import annotations

import datetime as dt
import math
import random

import polars as pl
import pytest

from heddle_lang.relational.lowering.packing import _sorted_positions

_VALUES: dict[str, tuple[pl.DataType, list[object]]] = {
    "i": (pl.Int64(), [1, 2, None, -5, 2**62, -(2**63), 2**63 - 1]),
    "f": (pl.Float64(), [0.5, -0.0, 0.0, math.nan, math.inf, -math.inf, None, -1.0, 1e300, 5e-324]),
    "u": (pl.UInt64(), [0, 2**64 - 1, None, 5, 2**63]),
    "b": (pl.Boolean(), [True, False, None]),
    "d": (pl.Date(), [dt.date(1970, 1, 1), dt.date(1, 1, 1), None, dt.date(9999, 12, 31)]),
    "s": (pl.Int8(), [-128, 127, 0, None]),
    "n": (pl.Int32(), [None]),
    "e": (pl.Int64(), [2**63 - 1, 2**63 - 5, None]),
    "m": (pl.Int64(), [-(2**63), -(2**63) + 3]),
    "w": (pl.UInt64(), [2**64 - 1, 2**64 - 3, None]),
}


@pytest.mark.parametrize("seed", range(120))
def test_same_order_as_polars(seed: int) -> None:
    chance = random.Random(seed)
    rows = chance.randint(0, 50)
    frame = pl.DataFrame({name: pl.Series(name, [chance.choice(values) for _ in range(rows)], dtype=dtype)
                          for name, (dtype, values) in _VALUES.items()})
    names = chance.sample(list(_VALUES), chance.randint(1, 4))
    descending = [chance.random() < 0.5 for _ in names]
    got = _sorted_positions([frame[name] for name in names], descending)
    expected = frame.with_row_index("at").sort(names, descending=descending, nulls_last=True, maintain_order=True)
    assert got.cast(pl.Int64).to_list() == expected["at"].cast(pl.Int64).to_list(), (names, descending)
