"""Which output types of a block hold whatever its unknown input columns turn out to be.

A block is typed on empty frames where a column of unknown type (one an open table brings, `?`) is a
Polars `Null` column. Polars types an expression over `Null` as if the other operand decided: `amount * 2`
plans as Int32 (the literal's type), `amount ?? 0` too, yet at run time `amount` may be Float64 and so is
the result. The checker must state only types the run produces, so `settled` re-plans the block with its
unknown columns given concrete types (`PROBES`): all of them the same type, then each alone, the others left
`Null`. An output column keeps the concrete type of the `Null` plan only if every plan that succeeds gives it
the same type (a comparison is Boolean whatever it compares; `count` counts). Any change, an unknown column
no probe type plans with, or more probes than `MAX_PLANS` makes the column unknown. A probe that fails to plan
says the run fails for that input type, so it constrains nothing.

The checker must not refuse what would run either: when the `Null` plan fails (`text.upper (name ?? 0)` is
`text.upper` of Int32 over `Null`), `runnable` tries the same probes, and a block that plans with one of
them, or fails only for an operand still `Null`, is kept, its output types all unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import polars as pl

# Concrete types an unknown column may have at run time, chosen so an expression whose type follows its
# input's differs between two of them: integers and floats of two widths, exact decimals, text, truth
# values, dates and timestamps.
PROBES: tuple[pl.DataType, ...] = (
    pl.Int64(), pl.Float64(), pl.Int32(), pl.Float32(), pl.Decimal(38, 9), pl.String(), pl.Boolean(),
    pl.Date(), pl.Datetime("us"),
)
MAX_PLANS = 96  # beyond this many probe plans, every concrete output type is given up as unknown

Frames = Mapping[str, Mapping[str, pl.DataType]]
UNDECIDED = "undecided"  # a plan that failed only for an operand still of unknown type
Plan = Callable[[Frames], "dict[str, pl.DataType] | str | None"]
Column = tuple[str, str]  # (table, column)


def unknown_columns(frames: Frames) -> list[Column]:
    """(table, column) for each column planned as `Null`: its type is known only at run time."""
    return [(table, column) for table, columns in frames.items() for column, dtype in columns.items()
            if dtype == pl.Null]


def _given(frames: Frames, columns: list[Column], dtype: pl.DataType) -> dict[str, dict[str, pl.DataType]]:
    trial = {name: dict(table) for name, table in frames.items()}
    for table, column in columns:
        trial[table][column] = dtype
    return trial


def _trials(frames: Frames, unknown: list[Column], *, each: bool) -> Iterator[tuple[Column | None, Frames]]:
    """Frames to plan on: every unknown column given one probe type at once; then, if `each`, one column at a
    time given each probe type, the others left `Null`."""
    if len(unknown) > 1 or not each:
        for probe in PROBES:
            yield None, _given(frames, unknown, probe)
    if each:
        for column in unknown:
            for probe in PROBES:
                yield column, _given(frames, [column], probe)


def _affordable(unknown: list[Column]) -> bool:
    return len(PROBES) * (len(unknown) + 1) <= MAX_PLANS


def settled(schema: Mapping[str, pl.DataType], frames: Frames, plan: Plan) -> dict[str, pl.DataType | None]:
    """`schema` (the output planned over `frames`) with None for every column whose type may differ at run
    time; `plan` types the block over other frames (None when it cannot)."""
    unknown = unknown_columns(frames)
    out: dict[str, pl.DataType | None] = dict(schema)
    if not unknown:
        return out
    if not _affordable(unknown):
        return dict.fromkeys(out)
    planned: set[Column | None] = set()
    for column, trial in _trials(frames, unknown, each=True):
        if all(dtype is None for dtype in out.values()):
            return out
        probed = plan(trial)
        if probed is None or isinstance(probed, str):
            continue
        planned.add(column)
        for name, dtype in out.items():
            if dtype is not None and probed.get(name) != dtype:
                out[name] = None
    if any(column not in planned for column in unknown):
        return dict.fromkeys(out)  # a column that runs, if at all, only on some other type: nothing is known
    return out


def runnable(frames: Frames, plan: Plan) -> tuple[bool, list[str] | None]:
    """Whether the block may run (it plans with its unknown columns given some concrete types, or fails then
    only for an operand still unknown: it is not to be refused now), with its output column names when a
    plan gave them."""
    unknown = unknown_columns(frames)
    if not unknown:
        return False, None
    undecided = False
    for _, trial in _trials(frames, unknown, each=_affordable(unknown)):
        probed = plan(trial)
        if isinstance(probed, dict):
            return True, list(probed)
        undecided = undecided or probed == UNDECIDED
    return undecided, None
