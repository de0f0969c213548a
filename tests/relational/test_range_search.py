"""The ends of range frames found next to their rows (`ranges._near`) are numpy's binary search's, wherever the
targets land: next to their row, far from it, past either end, among ties, on no rows."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest

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
