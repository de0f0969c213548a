"""The ends of range frames found next to their rows (`ranges._near`, `ranges._nearby`) are those of a binary
search, wherever the targets land: next to their row, far from it, past either end, among ties, on no rows."""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl
import pytest

from heddle_lang.relational.lowering import ranges
from heddle_lang.relational.lowering.ranges import _near


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("seed", range(40))
def test_same_as_binary_search(seed: int, side: Literal["left", "right"]) -> None:
    chance = np.random.default_rng(seed)
    count = int(chance.integers(0, 80))
    rows = np.sort(chance.integers(-6, 6, count)).astype(np.int64)  # many ties
    spread = [0, 1, 3, 20][seed % 4]  # targets at their row's key, next to it, further, anywhere
    targets = (rows + chance.integers(-spread, spread + 1, count)).astype(np.int64)
    assert (_near(rows, targets, side) == np.searchsorted(rows, targets, side=side)).all()


def test_no_rows_and_one_row() -> None:
    empty = np.zeros(0, dtype=np.int64)
    assert len(_near(empty, empty, "left")) == 0
    one = np.array([5], dtype=np.int64)
    for target, side in [(4, "left"), (5, "left"), (5, "right"), (6, "right")]:
        found = _near(one, np.array([target], dtype=np.int64), side)  # type: ignore[arg-type]
        assert list(found) == list(np.searchsorted(one, [target], side=side))  # type: ignore[call-overload]


def _runs(seed: int) -> list[pl.Series]:
    """Runs of a few rows (numbered, ascending), each sorted by its key with ties, rows without a key last;
    a target per row at its key moved by a bound (none where the key is missing)."""
    chance = np.random.default_rng(seed)
    run, missing, key = [], [], []
    for number in range(int(chance.integers(0, 40))):
        size = int(chance.choice([1, 1, 2, 3, 6, 40 if seed % 5 == 0 else 2]))
        keys = sorted(int(k) for k in chance.integers(-4, 4, size))
        nulls = int(chance.integers(0, 2)) if size > 1 else 0
        run += [number] * size
        missing += [False] * (size - nulls) + [True] * nulls
        key += keys[:size - nulls] + [None] * nulls
    keys = pl.Series(key, dtype=pl.Int64)
    ends = [pl.Series([None if k is None else k + int(chance.integers(-3, 4)) for k in key], dtype=pl.Int64)
            for _ in range(2)]
    return [pl.Series(run, dtype=pl.UInt32), pl.Series(missing, dtype=pl.Boolean), keys, *ends]


@pytest.mark.parametrize("seed", range(60))
def test_nearby_same_as_packed(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Positions found next to their rows (`_nearby`) are those of the packed search, where it finds them."""
    columns = _runs(seed)
    sides: tuple[Literal["left", "right"], ...] = ("left", "right")
    monkeypatch.setattr(ranges, "_FURTHER", 1)  # every target looked for nearby, however many land further
    monkeypatch.setattr(ranges, "_STEPPED", 1 / 64)  # and however far
    nearby = ranges._nearby(columns[0], columns[1], columns[2], columns[3:], sides)
    # none on no rows; runs of 40 rows: some ends further than _STEPS rows
    assert nearby is not None or seed % 5 == 0 or columns[2].is_empty()
    monkeypatch.setattr(ranges, "_nearby", lambda *_: None)
    packed = ranges._search(columns, sides)
    if nearby is not None:
        known = columns[2].is_not_null()  # a missing key's position is not read
        for at, found in enumerate(nearby):
            assert found.filter(known).to_list() == packed.struct.field(f"{at}").filter(known).to_list()
