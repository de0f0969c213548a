"""Rows of Arrow text that may hold a needle (`text.contains "Love"`), found before the rows become Polars.

A relational block that keeps only the rows whose column holds some text (`pushdown.text_needles`) reads Arrow
data that Polars has not converted yet: converting a text column costs time in proportion to its size, and
Polars then tests each row on its own (10M rows, 160 MB of text: ~100 ms to convert, ~400 ms to test). The
text of an Arrow column is one buffer, the rows end to end: one search of it finds every place the needle
is (~20 ms), and the rows those places start in are the only rows that can hold it. Those rows alone are
taken and converted; the block then filters them as it would have filtered every row, so the result is the
same (a null row is taken only if its bytes hold the needle, and the block drops it).

The buffer is searched in pieces of whole rows (Polars' `str.find_many`, which gives the byte offset of each
match, overlapping ones too), so a match never runs from one piece into the next, and a piece's offsets fit
in 32 bits. When the needle is in more than half of the rows searched so far, the search stops and the block
reads every row (taking most rows costs as much as converting them; a needle in every byte would make
offsets four times the size of the text).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    import pyarrow as pa

Needles = Sequence[tuple[str, str]]  # (column, text): a row is kept only if its column holds the text

# tables of at most this many rows are converted whole: searching costs ~2.5 ms more to start, and saves
# ~0.03 ms per 1,000 rows (50,000 rows of 16-byte text: 2.8 ms converted whole, 3.1 ms searched first)
LEAST_ROWS = 50_000
PIECE = 1 << 16  # bytes of text per piece (about: a piece ends at the end of a row)
BATCH = 1 << 24  # bytes of text searched before the share of rows found is looked at
_LONGEST = (1 << 32) - 1  # a piece's offsets are 32 bits


def _offsets(array: pa.Array) -> pl.Series:
    """The offsets of a `string`/`large_string` array's rows into its text buffer (rows + 1 of them)."""
    import pyarrow as pa

    width = pa.int64() if pa.types.is_large_string(array.type) else pa.int32()
    buffer = array.buffers()[1]
    offsets = pa.Array.from_buffers(width, len(array) + 1, [None, buffer], offset=array.offset)
    return pl.Series(offsets).cast(pl.Int64).set_sorted()


def _found(offsets: pl.Series, text: pa.Buffer, needle: str) -> pl.Series | None:
    """The rows (of those `offsets` bound, sorted, each once) at whose bytes a match of `needle` starts; None
    when a piece of them is longer than 32-bit offsets reach."""
    import pyarrow as pa

    bounds = pl.int_range(offsets[0], offsets[-1], PIECE, eager=True, dtype=pl.Int64)
    cuts = pl.concat([offsets.search_sorted(bounds, side="right").cast(pl.Int64) - 1,
                      pl.Series([len(offsets) - 1], dtype=pl.Int64)]).set_sorted().unique()
    edges = offsets.gather(cuts)
    if (edges.diff().max() or 0) > _LONGEST:  # type: ignore[operator]
        return None
    pieces = pa.Array.from_buffers(pa.large_string(), len(edges) - 1, [None, edges.to_arrow().buffers()[1], text])
    starts = (pl.DataFrame({"text": pl.Series(pieces), "base": edges.head(-1)})
              .select(pl.col("text").str.find_many([needle], overlapping=True), "base")
              .explode("text").drop_nulls()
              .select(pl.col("text").cast(pl.Int64) + pl.col("base")).to_series())
    return (offsets.search_sorted(starts, side="right").cast(pl.Int64) - 1).set_sorted().unique()


@cache
def byte_offsets() -> bool:
    """Whether this Polars' `str.find_many` gives the byte offset of each match, which `_found` maps to rows (Polars
    2.1 does; 2.2 gives character offsets, which would map a match after a character beyond ASCII to an earlier row,
    and lose the row that holds it)."""
    return pl.Series(["\u00e9!"]).str.find_many(["!"], overlapping=True).to_list() == [[2]]


def rows_holding(column: pa.ChunkedArray, needle: str) -> pl.Series | None:
    """The rows of a `string`/`large_string` column whose bytes may hold `needle` (every row that holds it,
    sorted; rows with a null may be among them); None for another type, a needle in more than half of them, or a
    Polars whose search does not give byte offsets (`byte_offsets`)."""
    import pyarrow as pa

    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)) or not byte_offsets():
        return None
    found: list[pl.Series] = []
    base = 0
    for array in column.chunks:
        if len(array):
            offsets = _offsets(array)
            text = array.buffers()[2]
            start = 0
            while start < len(array):
                end = min(len(array), int(offsets.search_sorted(offsets[start] + BATCH, side="right")))
                end = max(end, start + 1)
                window = offsets.slice(start, end - start + 1).set_sorted()
                rows = _found(window, text, needle) if text is not None else pl.Series([], dtype=pl.Int64)
                if rows is None:
                    return None
                found.append(rows + (base + start))
                if sum(len(f) for f in found) * 2 > base + end:
                    return None
                start = end
        base += len(array)
    return pl.concat(found) if found else pl.Series([], dtype=pl.Int64)


def taken(table: pa.Table, needles: Needles) -> pa.Table | None:
    """The rows of `table` that may hold each (column, text) of `needles` (each row that does, in order);
    None when that is not known cheaply (a column not Arrow text, or a common needle)."""

    rows: pl.Series | None = None
    for name, needle in needles:
        if name not in table.column_names:
            return None
        found = rows_holding(table.column(name), needle)
        if found is None:
            return None
        rows = found if rows is None else rows.filter(rows.is_in(found.implode()))
    if rows is None:
        return None
    return table.take(rows.to_arrow())
