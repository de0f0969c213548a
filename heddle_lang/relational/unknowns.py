"""Which output types of a block hold whatever its unknown input columns turn out to be.

A block is typed on empty frames where a column of unknown type (one an open table brings, `?`) is a
Polars `Null` column. Polars types an expression over `Null` as if the other operand decided: `amount * 2`
plans as Int32 (the literal's type), `amount ?? 0` too, yet at run time `amount` may be Float64 and so is
the result. The checker must state only types the run produces, so `settled` re-plans the block with each
unknown column given, in turn, each of a set of concrete types (`PROBES`), the others left `Null`: an output
column keeps the concrete type of the `Null` plan only if every plan that succeeds gives it the same type
(a comparison is Boolean whatever it compares; `count` counts). Any change, or a block whose probes cannot
all be planned within `MAX_PLANS`, makes the column unknown. A probe that fails to plan says the run fails
for that input type, so it constrains nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

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
Plan = Callable[[Frames], "dict[str, pl.DataType] | None"]


def unknown_columns(frames: Frames) -> list[tuple[str, str]]:
    """(table, column) for each column planned as `Null`: its type is known only at run time."""
    return [(table, column) for table, columns in frames.items() for column, dtype in columns.items()
            if dtype == pl.Null]


def settled(schema: Mapping[str, pl.DataType], frames: Frames, plan: Plan) -> dict[str, pl.DataType | None]:
    """`schema` (the output planned over `frames`) with None for every column whose type may differ at run
    time; `plan` types the block over other frames (None when it cannot)."""
    unknown = unknown_columns(frames)
    out: dict[str, pl.DataType | None] = dict(schema)
    if unknown and len(unknown) * len(PROBES) > MAX_PLANS:
        return dict.fromkeys(out)
    for table, column in unknown:
        planned_any = False
        for probe in PROBES:
            if all(dtype is None for dtype in out.values()):
                return out
            trial = {name: dict(columns) for name, columns in frames.items()}
            trial[table][column] = probe
            probed = plan(trial)
            if probed is None:
                continue
            planned_any = True
            for name, dtype in out.items():
                if dtype is not None and probed.get(name) != dtype:
                    out[name] = None
        if not planned_any:  # it runs, if at all, only on some other type: nothing is known to hold
            return dict.fromkeys(out)
    return out
