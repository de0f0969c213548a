"""The packed sort by several number-like keys (`lowering/packing.py`) puts rows in the order Polars' stable
sort by those keys does (nulls last), on keys at their types' extremes: 64-bit ends, unsigned past 2^63,
NaN, ±0.0, infinities, all-null keys, dates and booleans, in both directions."""

from __future__ import annotations

import datetime as dt
import math
import random

import polars as pl
import pytest

from heddle_lang.relational.lowering import packing
from heddle_lang.relational.lowering.packing import _ranked, _sorted_positions

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


def test_a_dense_rank_by_polars_is_the_rank_by_search(monkeypatch: pytest.MonkeyPatch) -> None:
    numbers = pl.Series([5, None, -(2**63), 5, 2**63 - 1, 0, None, 7], dtype=pl.Int64)
    searched = _ranked(numbers)
    monkeypatch.setattr(packing, "CACHED_DISTINCT", 1)  # every key has "many" distinct values
    assert _ranked(numbers).to_list() == searched.to_list() == [2, None, 0, 2, 4, 1, None, 3]


@pytest.mark.parametrize(("distinct", "second"), [(None, "i"), (40, "i"), (None, "f"), (7, "f")])
def test_many_rows_keys_of_many_or_few_distinct_values(distinct: int | None, second: str) -> None:
    """Past the sample's size: a float key of ~every value distinct (kept whole: 128 bits; ranked when two such keys
    pass 128 bits) or of few (ranked), beside an integer or a float key, NaN and nulls among them."""
    chance = random.Random(distinct or 0)
    rows = 2 * packing.SAMPLE + 3
    pool = [chance.uniform(-1e6, 1e6) for _ in range(distinct)] if distinct else None

    def draw() -> float | None:
        roll = chance.random()
        if roll < 0.01:
            return None
        if roll < 0.02:
            return math.nan
        return chance.choice(pool) if pool else chance.uniform(-1e6, 1e6)

    first = pl.Series("a", [draw() for _ in range(rows)], dtype=pl.Float64)
    other = (pl.Series("b", [chance.randint(-5, 2**40) for _ in range(rows)], dtype=pl.Int64) if second == "i"
             else pl.Series("b", [draw() for _ in range(rows)], dtype=pl.Float64))
    for descending in ([True, False], [False, True]):
        got = _sorted_positions([first, other], descending)
        expected = pl.DataFrame([first, other]).with_row_index("at").sort(
            ["a", "b"], descending=descending, nulls_last=True, maintain_order=True)
        assert got.cast(pl.Int64).to_list() == expected["at"].cast(pl.Int64).to_list()
