"""`group {k} (sort {...} | take a..b)`: the rows a stable sort then numbering per group keeps (nulls last
either way, ties in the frame's order), checked against a plain Python reading of the rule on random
tables full of ties, nulls and NaN."""

from __future__ import annotations

import math
import random

import polars as pl
import pytest

from heddle_lang.relational import analyze_block, sql_table_name
from heddle_lang.types import Schema

SCHEMA = Schema.of({"g": pl.Int64(), "v": pl.Int64(), "w": pl.Float64(), "id": pl.Int64()})


def _key(value: float | None, descending: bool) -> tuple[int, float]:
    if value is None:
        return (1, 0.0)
    number = math.inf if isinstance(value, float) and math.isnan(value) else float(value)
    return (0, -number if descending else number)


def expected(rows: list[dict[str, object]], start: int, end: int, v_desc: bool, w_desc: bool) -> list[int]:
    groups: dict[object, list[dict[str, object]]] = {}
    for row in rows:
        groups.setdefault(row["g"], []).append(row)
    kept: list[int] = []
    for members in groups.values():
        # a stable sort on the second key, then on the first: the first key decides, ties keep order
        ordered = sorted(members, key=lambda r: _key(r["w"], w_desc))  # type: ignore[arg-type]
        ordered = sorted(ordered, key=lambda r: _key(r["v"], v_desc))  # type: ignore[arg-type]
        kept.extend(int(r["id"]) for r in ordered[start - 1:end])  # type: ignore[call-overload]
    return sorted(kept)


@pytest.mark.parametrize("seed", range(12))
def test_rows_of_each_group(seed: int) -> None:
    chance = random.Random(seed)
    rows = [{"g": chance.choice([1, 2, 3, None]), "v": chance.choice([1, 2, 2, 5, None]),
             "w": chance.choice([0.5, -1.0, float("nan"), None]), "id": i} for i in range(chance.randint(0, 60))]
    start = chance.randint(1, 3)
    end = start + chance.randint(0, 3)
    v_desc, w_desc = chance.random() < 0.5, chance.random() < 0.5
    sort = f"{'-' if v_desc else ''}v, {'-' if w_desc else ''}w"
    take = f"{start}..{end}" if start > 1 else str(end)
    analysis = analyze_block(f"from t | group g (sort {{{sort}}} | take {take})", {"t": SCHEMA}, is_source=True)
    assert analysis.program is not None, analysis.diagnostics
    frame = pl.DataFrame(rows, schema={"g": pl.Int64, "v": pl.Int64, "w": pl.Float64, "id": pl.Int64})
    result = analysis.program.lazy({sql_table_name("t"): frame.lazy()}).collect()
    assert sorted(result["id"].to_list()) == expected(rows, start, end, v_desc, w_desc)
    assert result.columns == ["g", "v", "w", "id"]
