"""Text as PRQL's SQL computes it: values formatted as text (`f"{x}"`, `as text`), `LIKE` patterns
(`text.starts_with`/`contains`/`ends_with`), `SUBSTRING` (`text.extract`), case mapping and trimming.

The reference is DuckDB running prqlc's SQL; each function states the rule it follows.
"""

from __future__ import annotations

import re

import polars as pl

from heddle_lang.relational.lowering import casing
from heddle_lang.relational.lowering.errors import checked

# --- values as text --------------------------------------------------------------------------------


def _float_text(expr: pl.Expr) -> pl.Expr:
    """A double as DuckDB (and Python's `repr`) writes it: the shortest text that reads back as the same
    number, positional for exponents -4..15, else `d.ddde±XX` with at least two exponent digits;
    `inf`, `-inf`, `nan`, and `-nan` for a NaN whose sign bit is set (as `-x` of a NaN makes). Polars' text
    differs only below 1e-4 (nonzero), and only those rows go through the regular expressions: the others'
    are null there, which costs nothing (all rows through them: 8x)."""
    text = expr.cast(pl.String)
    tiny = (expr != 0) & (expr.abs() < 1e-4)
    # Polars writes 1e-5..1e-4 positionally ("0.0000908"): rewrite as scientific.
    small = pl.when(tiny).then(text).str.extract_groups(r"^(-?)0\.0000(0*)([1-9])(\d*)$")
    sign, zeros, first, rest = (small.struct.field(str(i)) for i in range(1, 5))
    exponent = zeros.str.len_chars() + 5
    mantissa = first + pl.when(rest.str.len_chars() > 0).then(pl.lit(".") + rest).otherwise(pl.lit(""))
    scientific = sign + mantissa + pl.lit("e-") + exponent.cast(pl.String).str.zfill(2)
    # One exponent digit ("1e-7") gets two ("1e-07").
    rewritten = pl.when(first.is_not_null()).then(scientific).otherwise(text).str.replace(r"e([+-])(\d)$", "e${1}0${2}")
    negative = expr.cast(pl.Float64).reinterpret(dtype=pl.Int64) < 0  # the sign bit
    nan = pl.when(negative).then(pl.lit("-nan")).otherwise(pl.lit("nan"))
    return pl.when(expr.is_nan()).then(nan).when(tiny).then(rewritten).otherwise(text)


def _fraction(micros: pl.Expr) -> pl.Expr:
    """`.5`, `.123456`: a fraction of a second as DuckDB writes it (trailing zeros dropped), or ``."""
    digits = micros.cast(pl.String).str.zfill(6).str.strip_chars_end("0")
    return pl.when(micros != 0).then(pl.lit(".") + digits).otherwise(pl.lit(""))


def to_text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
    """`expr` (of type `dtype`) as text the way DuckDB casts it to VARCHAR; None for a type whose
    text form the lowering does not reproduce."""
    if dtype == pl.String:
        return expr
    if dtype == pl.Null:
        return expr.cast(pl.String)
    if dtype == pl.Boolean or dtype.is_integer():
        return expr.cast(pl.String)
    if dtype == pl.Float64:
        return _float_text(expr)
    if dtype == pl.Date:
        return expr.dt.to_string("%Y-%m-%d")
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
        micros = expr.dt.microsecond() if dtype.time_unit != "ns" else expr.dt.nanosecond() // 1000
        return expr.dt.to_string("%Y-%m-%d %H:%M:%S") + _fraction(micros)
    if dtype == pl.Time:
        return expr.dt.to_string("%H:%M:%S") + _fraction(expr.dt.microsecond())
    return None


# --- LIKE ------------------------------------------------------------------------------------------

# Characters a regular expression (Rust's `regex`, which Polars runs; RE2 for DuckDB) may read as more than themselves.
_REGEX_SPECIAL = r"\.+*?()|[]{}^$#&-~"


def _regex_of(pattern: str) -> str:
    """A piece of a SQL LIKE pattern (`%` any text, `_` one character, no escape character) as regex text."""
    return "".join(".*" if ch == "%" else "." if ch == "_" else "\\" + ch if ch in _REGEX_SPECIAL else ch
                   for ch in pattern)


def like_regex(pattern: str) -> str:
    """A SQL LIKE pattern as an anchored regex."""
    return f"(?s)^{_regex_of(pattern)}$"


def _regex_of_rows(piece: pl.Expr) -> pl.Expr:
    """`_regex_of` for a piece of pattern computed per row. Only the rows whose text holds a wildcard or a
    regex character are rewritten (the others are null there, which costs nothing; rewriting every row
    cost 10 times the match)."""
    special = pl.when(piece.str.contains(r"[\\.+*?()|\[\]{}^$#&\-~%_]")).then(piece)
    escaped = special.str.replace_all(r"([\\.+*?()|\[\]{}^$#&\-~])", r"\$1")
    return pl.coalesce(escaped.str.replace_all("%", ".*", literal=True).str.replace_all("_", ".", literal=True), piece)


def _merged(parts: list[pl.Expr | str]) -> list[pl.Expr | str]:
    """The parts with neighbouring literal ones joined, and `%%` as `%` (the same pattern)."""
    merged: list[pl.Expr | str] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    return [re.sub("%+", "%", part) if isinstance(part, str) else part for part in merged]


def like(value: pl.Expr, parts: list[pl.Expr | str]) -> pl.Expr:
    """`value LIKE CONCAT(parts...)`: literal parts are pattern text, expressions are pattern text computed
    per row (their `%` and `_` are wildcards too, and a null part counts as empty, as CONCAT does)."""
    parts = _merged(parts)
    if all(isinstance(p, str) for p in parts):
        pattern = "".join(p for p in parts if isinstance(p, str))
        inner = pattern.strip("%")
        plain = not any(c in "%_" for c in inner)
        if plain and pattern == inner:
            return value == pl.lit(pattern)
        if plain and pattern == inner + "%" and inner:
            return value.str.starts_with(inner)
        if plain and pattern == "%" + inner and inner:
            return value.str.ends_with(inner)
        if plain and pattern == f"%{inner}%":
            return value.str.contains(inner, literal=True) if inner else pl.when(value.is_not_null()).then(True)
        return value.str.contains(like_regex(pattern))
    exprs = [p if isinstance(p, str) else p.fill_null("") for p in parts]
    regex = pl.concat_str([pl.lit("(?s)^"), *(pl.lit(_regex_of(p)) if isinstance(p, str) else _regex_of_rows(p)
                                                for p in exprs), pl.lit("$")])
    shape = tuple(p if isinstance(p, str) else None for p in parts)
    search = {("%", None, "%"): "contains", (None, "%"): "starts_with", ("%", None): "ends_with"}.get(shape)
    if search is None:
        return value.str.contains(regex)
    # `text.contains column` and its kin: where the column's text holds no wildcard, a plain search
    # instead of a regex compiled per row (the other rows' regex: a constant where it is not needed)
    text = next(e for e in exprs if not isinstance(e, str))
    plain = ~text.str.contains("[%_]")
    if search == "contains":
        found = value.str.contains(text, literal=True)
    else:
        found = value.str.starts_with(text) if search == "starts_with" else value.str.ends_with(text)
    return pl.when(plain).then(found).otherwise(value.str.contains(pl.when(plain).then(pl.lit("^$")).otherwise(regex)))


def regex_search(value: pl.Expr, pattern: str) -> pl.Expr:
    """`value ~= pattern` with a constant pattern. A pattern that is plain text, anchored at one end, both or neither,
    is the text search it means, with no regex run for every row (10M rows, `^The `: ~3x faster); both engines'
    `$` is the end of the text only (not before a final line break), and their `^` its start."""
    head, tail = pattern.startswith("^"), pattern.endswith("$")
    inner = pattern[1 if head else 0:len(pattern) - 1 if tail else len(pattern)]
    if not inner or any(c in _REGEX_SPECIAL or (c.isspace() and c != " ") for c in inner):
        return value.str.contains(pattern)
    if head and tail:
        return value == pl.lit(inner)
    if head:
        return value.str.starts_with(inner)
    return value.str.ends_with(inner) if tail else value.str.contains(inner, literal=True)


# --- other functions -------------------------------------------------------------------------------


_PLACEHOLDER = 0x10FE00  # private use: no case mapping moves these


def case_map(value: pl.Expr, which: str) -> pl.Expr:
    """SQL's LOWER/UPPER as DuckDB maps case (see `casing.py`). Text without any of the characters Polars
    maps otherwise (nor a placeholder) is mapped by Polars; in the rest, those characters are set aside as
    private-use placeholders, the rest mapped, then the placeholders replaced by DuckDB's mapping (the other
    rows are null there: mapping every row that way cost 4 times more). Text that holds those placeholders
    itself is refused rather than mapped wrongly."""
    table = casing.UPPER if which == "upper" else casing.LOWER
    holders = [chr(_PLACEHOLDER + i) for i in range(len(table))]
    placeholders = f"{holders[0]}-{holders[-1]}"
    special = value.str.contains(f"[{''.join(chr(c) for c in table)}{placeholders}]")
    rare = pl.when(special).then(value)
    guarded = checked(rare, rare.str.contains(f"[{placeholders}]"),
                      f"`text.{which}` of text holding the private-use characters U+{_PLACEHOLDER:X}.. "
                      "(the engine uses them)", pl.String())
    held = guarded.str.replace_many([chr(c) for c in table], holders)
    mapped = held.str.to_uppercase() if which == "upper" else held.str.to_lowercase()
    common = value.str.to_uppercase() if which == "upper" else value.str.to_lowercase()
    return pl.when(special).then(mapped.str.replace_many(holders, [chr(c) for c in table.values()])).otherwise(common)


def trim(value: pl.Expr, side: str) -> pl.Expr:
    """SQL's TRIM/LTRIM/RTRIM: spaces only (not tabs or line breaks)."""
    if side == "left":
        return value.str.strip_chars_start(" ")
    if side == "right":
        return value.str.strip_chars_end(" ")
    return value.str.strip_chars(" ")


def substring(value: pl.Expr, start: int, length: int) -> pl.Expr:
    """DuckDB's SUBSTRING(value, start, length) with literal bounds, in characters: `start` counts from 1
    (0 is one before the first character; a negative start counts from the end); a negative `length`
    takes the characters before `start`."""
    n = value.str.len_chars().cast(pl.Int64)
    if start > 0:
        begin = pl.lit(start - 1, pl.Int64)
    elif start == 0:
        begin = pl.lit(-1, pl.Int64)
    else:
        begin = n + start
    end = begin + length
    lo = pl.min_horizontal(begin, end)
    hi = pl.max_horizontal(begin, end)
    lo = pl.max_horizontal(lo, pl.lit(0, pl.Int64))
    hi = pl.min_horizontal(hi, n)
    count = pl.max_horizontal(hi - lo, pl.lit(0, pl.Int64))
    return value.str.slice(pl.min_horizontal(lo, n), count)


def replace(value: pl.Expr, pattern: pl.Expr | str, replacement: pl.Expr | str) -> pl.Expr:
    """SQL's REPLACE: every occurrence of the literal text `pattern`; an empty pattern changes nothing."""
    if isinstance(pattern, str) and pattern == "":
        return value
    new = replacement if isinstance(replacement, pl.Expr) else pl.lit(replacement)
    old = pattern if isinstance(pattern, pl.Expr) else pl.lit(pattern)
    replaced = value.str.replace_all(old, new, literal=True)
    if isinstance(pattern, str):
        return replaced
    return pl.when(old == "").then(value).otherwise(replaced)
