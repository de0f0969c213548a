"""RQ expressions → Polars expressions, with the meaning DuckDB gives prqlc's SQL.

The rules that differ from Polars' own and are reproduced here:

- Integer `+ - *` and negation fail on overflow (Polars wraps around; see `checked_integer`). `%` takes
  the sign of the dividend; `% 0` fails, as in DuckDB. `/` is a float division (1/0 is inf); `//` is
  prqlc's `TRUNC(a / b)`, a float.
- `== null` / `!= null` are null tests; comparing a date with a timestamp compares timestamps.
- f-strings (`CONCAT`) read a null as empty text and write other types as DuckDB casts them to text.
- `in [a, b]` is SQL's `IN` (a null in, or a null among unmatched values, gives null).
- `text.*` follow SQL (see `text.py`), `math.*` compute in doubles like DuckDB (`floor`, `ceil`, `pow`,
  `round` of a double), `date.*` see `dates.py`, `as T` casts as DuckDB does (a double rounds half to even
  into an integer; `int` is 32 bits and `float` 32 bits, as the SQL types are).

An aggregate or window function (`std.sum`, `std.rank`, ...) is lowered by the `functions` hook of the
context that allows it (`aggregates.py`, `windows.py`); elsewhere it is an error of the RQ.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import polars as pl

from heddle_lang.relational import rq
from heddle_lang.relational.lowering import dates, text
from heddle_lang.relational.lowering.errors import LoweringTypeError, UnsupportedError, checked
from heddle_lang.relational.lowering.scope import Scope

FunctionHook = Callable[[rq.Operator], pl.Expr | None]

# `as T`: DuckDB's type names (aliases included) → Polars types
CASTS: dict[str, pl.DataType] = {
    **dict.fromkeys(("int", "int4", "int32", "integer", "signed"), pl.Int32()),
    **dict.fromkeys(("bigint", "int8", "int64", "long"), pl.Int64()),
    **dict.fromkeys(("smallint", "int2", "int16", "short"), pl.Int16()),
    **dict.fromkeys(("tinyint", "int1"), pl.Int8()),
    **dict.fromkeys(("float", "float4", "real"), pl.Float32()),
    **dict.fromkeys(("double", "float8"), pl.Float64()),
    **dict.fromkeys(("text", "varchar", "string", "char", "bpchar"), pl.String()),
    **dict.fromkeys(("bool", "boolean", "logical"), pl.Boolean()),
    "date": pl.Date(), "timestamp": pl.Datetime("us"), "datetime": pl.Datetime("us"), "time": pl.Time(),
}


_CAST_NAMES = "int, bigint, smallint, float, double, text, bool, date, timestamp and time"


def literal_int(expr: rq.Expr) -> int | None:
    if isinstance(expr, rq.Lit) and expr.kind == "Integer":
        return int(expr.value)
    if isinstance(expr, rq.Operator) and expr.name == "std.neg" and len(expr.args) == 1:
        inner = literal_int(expr.args[0])
        return None if inner is None else -inner
    return None


def literal_text(expr: rq.Expr) -> str | None:
    if isinstance(expr, rq.Lit) and expr.kind in ("String", "RawString"):
        return str(expr.value)
    if isinstance(expr, rq.SString) and all(isinstance(i, str) for i in expr.items):
        return "".join(i for i in expr.items if isinstance(i, str))
    return None


def _is_null(expr: rq.Expr) -> bool:
    return isinstance(expr, rq.Lit) and expr.kind == "Null"


class Expressions:
    """Lowers the expressions of one scope. `functions` lowers aggregate/window functions (or None)."""

    def __init__(self, scope: Scope, functions: FunctionHook | None = None) -> None:
        self.scope = scope
        self.functions = functions

    # --- entry -----------------------------------------------------------------------------------

    def lower(self, expr: rq.Expr) -> pl.Expr:
        if isinstance(expr, rq.ColumnRef):
            if expr.cid not in self.scope.columns and expr.cid in self.scope.definitions:
                return self.lower(self.scope.definitions[expr.cid])
            return self.scope.col(expr.cid)
        if isinstance(expr, rq.Lit):
            return self.literal(expr)
        if isinstance(expr, rq.Operator):
            return self.operator(expr)
        if isinstance(expr, rq.Case):
            return self.case(expr)
        if isinstance(expr, rq.SString):
            raise UnsupportedError("an s-string (SQL text inside PRQL)", expr.span,
                              "s-strings are SQL for a database; write it with PRQL's functions (`math`, `text`, "
                              "`date` modules) or move it into a database step's query")
        if isinstance(expr, rq.Param):
            raise UnsupportedError(f"the query parameter `${expr.name}`", expr.span,
                              "relational blocks take their values from the tables they read")
        raise UnsupportedError("an array outside `in [...]`", expr.span)

    def dtype(self, expr: pl.Expr) -> pl.DataType:
        return self.scope.dtype(expr)

    # --- literals --------------------------------------------------------------------------------

    def literal(self, lit: rq.Lit) -> pl.Expr:
        kind, value = lit.kind, lit.value
        try:
            if kind == "Null":
                return pl.lit(None)
            if kind == "Integer":
                return pl.lit(int(value))
            if kind == "Float":
                return pl.lit(float(value), pl.Float64)
            if kind == "Boolean":
                return pl.lit(bool(value))
            if kind in ("String", "RawString"):
                return pl.lit(str(value), pl.String)
            if kind == "Date":
                return dates.date_literal(str(value))
            if kind == "Time":
                return dates.time_literal(str(value))
            if kind == "Timestamp":
                return dates.timestamp_literal(str(value))
            if kind == "ValueAndUnit":
                n, unit = value
                return dates.interval_value(n, unit)
        except dates.DateError as error:
            raise UnsupportedError(str(error), lit.span) from None
        raise UnsupportedError(f"a literal of kind {kind}", lit.span)

    # --- operators -------------------------------------------------------------------------------

    def operator(self, op: rq.Operator) -> pl.Expr:
        handler = _OPERATORS.get(op.name)
        if handler is None:
            return self._function(op)
        try:
            result = handler(self, op)
            self.dtype(result)  # a type error is reported at the operation, not later
        except pl.exceptions.PolarsError as error:
            raise self._type_error(op, error) from None
        return result

    def _type_error(self, op: rq.Operator, error: Exception) -> LoweringTypeError:
        types: list[pl.DataType] = []
        for arg in op.args:
            try:
                types.append(self.dtype(self.lower(arg)))
            except (pl.exceptions.PolarsError, UnsupportedError, LoweringTypeError):
                types.append(pl.Null())
        what = op.name.removeprefix("std.")
        shown = ", ".join(str(t) for t in types)
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return LoweringTypeError(f"`{what}` of {shown}: {first}", op.span, any(t == pl.Null for t in types))

    def _function(self, op: rq.Operator) -> pl.Expr:
        name = op.name
        if self.functions is not None:
            lowered = self.functions(op)
            if lowered is not None:
                return lowered
        if name in _CONTEXT_FUNCTIONS:
            raise UnsupportedError(f"`{name.removeprefix('std.')}` here", op.span,
                              "aggregate and window functions belong in `aggregate`, `group` or `window`")
        raise UnsupportedError(f"the function `{name.removeprefix('std.')}`", op.span)

    def args(self, op: rq.Operator) -> list[pl.Expr]:
        return [self.lower(a) for a in op.args]

    def typed(self, op: rq.Operator) -> list[tuple[pl.Expr, pl.DataType]]:
        lowered = self.args(op)
        return [(e, self.dtype(e)) for e in lowered]

    # arithmetic

    def _interval_shift(self, op: rq.Operator, sign: int) -> pl.Expr | None:
        """`date ± 3days` and `timestamp ± 1months`: calendar arithmetic on an interval literal."""
        left, right = op.args
        if isinstance(right, rq.Lit) and right.kind == "ValueAndUnit":
            value, interval = left, right
        elif sign > 0 and isinstance(left, rq.Lit) and left.kind == "ValueAndUnit":
            value, interval = right, left
        else:
            return None
        lowered = self.lower(value)
        dtype = self.dtype(lowered)
        if not dates.is_temporal(dtype) and dtype != pl.Null:
            return None
        n, unit = interval.value
        try:
            return dates.shift(lowered, dtype if dtype != pl.Null else pl.Datetime("us"), sign * n, unit)
        except dates.DateError as error:
            raise UnsupportedError(str(error), op.span) from None

    def arithmetic(self, op: rq.Operator) -> pl.Expr:
        sign = {"std.add": 1, "std.sub": -1}.get(op.name)
        if sign is not None:
            shifted = self._interval_shift(op, sign)
            if shifted is not None:
                return shifted
        (a, da), (b, db) = self.typed(op)
        _no_truth_values(op, da, db)
        if op.name == "std.sub" and {da, db} <= {pl.Date()}:
            return (a - b).dt.total_days().cast(pl.Int64)  # date - date: days
        if dates.is_temporal(da) and dates.is_temporal(db) and da != db:
            a, b = dates.as_timestamp(a, da), dates.as_timestamp(b, db)
        combine = {"std.add": _add, "std.sub": _sub, "std.mul": _mul}[op.name]
        result = combine(a, b)
        dtype = self.dtype(result)
        if dtype.is_integer():
            constants = (literal_int(op.args[0]), literal_int(op.args[1]))
            return checked_integer(op.name, a, b, result, dtype=dtype, constants=constants)
        return result

    def div_f(self, op: rq.Operator) -> pl.Expr:
        (a, da), (b, db) = self.typed(op)
        _no_truth_values(op, da, db)
        if (da.is_numeric() and db.is_numeric()) or pl.Null in (da, db):
            return a.cast(pl.Float64) / b.cast(pl.Float64)
        return a / b

    def div_i(self, op: rq.Operator) -> pl.Expr:
        (a, da), (b, db) = self.typed(op)
        _no_truth_values(op, da, db)
        quotient = a.cast(pl.Float64) / b.cast(pl.Float64)
        return pl.when(quotient >= 0).then(quotient.floor()).otherwise(quotient.ceil())

    def mod(self, op: rq.Operator) -> pl.Expr:
        (a, da), (b, db) = self.typed(op)
        _no_truth_values(op, da, db)
        natural = self.dtype(a % b)
        zero = b if literal_int(op.args[1]) not in (None, 0) else checked(b, b == 0, "division by zero (`%`)", db)
        if natural.is_integer():
            # Polars' `%` takes the divisor's sign: where that is not the dividend's, step back by one
            # divisor (|result| stays below |divisor|, so nothing overflows)
            floored = a % zero
            return pl.when((floored != 0) & ((a < 0) != (zero < 0))).then(floored - zero).otherwise(floored)
        fa = a.cast(pl.Float64) if not da.is_float() else a
        remainder = fa.abs() % zero.abs()
        return pl.when(fa < 0).then(-remainder).otherwise(remainder)

    def neg(self, op: rq.Operator) -> pl.Expr:
        (a, da), = self.typed(op)
        _no_truth_values(op, da)
        bits = next((n for t, n in _SIGNED_BITS.items() if da == t), None)
        if bits is not None:  # only the smallest value has no opposite
            return checked(-a, (a == -(2 ** (bits - 1))).any(), f"integer overflow: a result does not fit in {da}", da)
        if da.is_integer():
            return (pl.lit(0, pl.Int128) - a.cast(pl.Int128)).cast(da, strict=True)
        return -a

    # comparisons and logic

    def compare(self, op: rq.Operator) -> pl.Expr:
        left, right = op.args
        if op.name in ("std.eq", "std.ne") and (_is_null(left) or _is_null(right)):
            operand = self.lower(right if _is_null(left) else left)
            return operand.is_null() if op.name == "std.eq" else operand.is_not_null()
        (a, da), (b, db) = self.typed(op)
        if dates.is_temporal(da) and dates.is_temporal(db) and da != db:
            a, b = dates.as_timestamp(a, da), dates.as_timestamp(b, db)
        return _COMPARE[op.name](a, b)

    def logic(self, op: rq.Operator) -> pl.Expr:
        a, b = self.args(op)
        return (a & b) if op.name == "std.and" else (a | b)

    def not_(self, op: rq.Operator) -> pl.Expr:
        (a,) = self.args(op)
        return ~a

    def coalesce(self, op: rq.Operator) -> pl.Expr:
        typed = self.typed(op)
        _not_mixed("`??`", [dtype for _, dtype in typed], op.span)
        return pl.coalesce([e for e, _ in typed])

    def case(self, case: rq.Case) -> pl.Expr:
        chain: pl.Expr | None = None
        builder = None
        types = []
        for condition, value in case.cases:
            cond, result = self.lower(condition), self.lower(value)
            types.append(self.dtype(result))
            builder = pl.when(cond).then(result) if builder is None else builder.when(cond).then(result)
        _not_mixed("`case`", types, case.span)
        if builder is None:
            return pl.lit(None)
        chain = builder.otherwise(pl.lit(None))
        return chain

    # text

    def concat(self, op: rq.Operator) -> pl.Expr:
        return pl.concat_str([self._as_text(arg, op) for arg in _concat_args(op)], ignore_nulls=True)

    def _as_text(self, arg: rq.Expr, op: rq.Operator) -> pl.Expr:
        lowered = self.lower(arg)
        as_text = text.to_text(lowered, self.dtype(lowered))
        if as_text is None:
            raise UnsupportedError(f"a {self.dtype(lowered)} value inside an f-string", _span(arg, op))
        return as_text

    def _pattern_parts(self, argument: rq.Expr) -> list[pl.Expr | str]:
        """The pieces of a LIKE pattern: an f-string's literal pieces apart (their `%` and `_` are wildcards
        the lowering sees), its other pieces as text computed per row."""
        if not (isinstance(argument, rq.Operator) and argument.name == "std.concat"):
            literal = literal_text(argument)
            return [literal if literal is not None else self.lower(argument)]
        parts: list[pl.Expr | str] = []
        for arg in _concat_args(argument):
            literal = literal_text(arg)
            parts.append(literal if literal is not None else self._as_text(arg, argument))
        return parts

    def array_in(self, op: rq.Operator) -> pl.Expr:
        value, array = op.args
        if not isinstance(array, rq.Array):
            raise UnsupportedError("`in` with something other than a list or a range", op.span)
        if not array.items:
            return pl.lit(False)
        result: pl.Expr | None = None
        for item in array.items:
            test = self.compare(rq.Operator("std.eq", (value, item), op.span)) if not _is_null(item) else (
                pl.lit(None, pl.Boolean))
            result = test if result is None else result | test
        assert result is not None
        return result

    def regex(self, op: rq.Operator) -> pl.Expr:
        value, pattern = self.args(op)
        literal = literal_text(op.args[1])
        return text.regex_search(value, literal) if literal is not None else value.str.contains(pattern)

    def text_function(self, op: rq.Operator) -> pl.Expr:
        name = op.name.removeprefix("std.text.")
        if name in ("lower", "upper"):
            (value,) = self.args(op)
            return text.case_map(value, name)
        if name in ("ltrim", "rtrim", "trim"):
            (value,) = self.args(op)
            return text.trim(value, {"ltrim": "left", "rtrim": "right", "trim": "both"}[name])
        if name == "length":
            (value,) = self.args(op)
            return value.str.len_chars().cast(pl.Int64)
        if name == "extract":
            offset, length = literal_int(op.args[0]), literal_int(op.args[1])
            if offset is None or length is None:
                raise UnsupportedError("`text.extract` with a computed offset or length", op.span,
                                  "write the offset and the length as numbers")
            return text.substring(self.lower(op.args[2]), offset, length)
        if name == "replace":
            pattern, replacement = literal_text(op.args[0]), literal_text(op.args[1])
            value = self.lower(op.args[2])
            return text.replace(value, pattern if pattern is not None else self.lower(op.args[0]),
                                replacement if replacement is not None else self.lower(op.args[1]))
        if name in ("starts_with", "contains", "ends_with"):
            argument, value = op.args
            parts = self._pattern_parts(argument)
            pattern = {"starts_with": [*parts, "%"], "contains": ["%", *parts, "%"], "ends_with": ["%", *parts]}[name]
            return text.like(self.lower(value), pattern)
        raise UnsupportedError(f"the function `text.{name}`", op.span)

    # math

    def math_function(self, op: rq.Operator) -> pl.Expr:
        name = op.name.removeprefix("std.math.")
        if name == "pi":
            return pl.lit(math.pi, pl.Float64)
        if name == "round":
            digits = literal_int(op.args[0])
            if digits is None:
                raise UnsupportedError("`math.round` with a computed number of digits", op.span)
            (value, dtype), = [(e, self.dtype(e)) for e in [self.lower(op.args[1])]]
            return _round(value, dtype, digits)
        if name == "log":
            base, value = (a.cast(pl.Float64) for a in self.args(op))
            return value.log10() / base.log10()
        if name == "pow":
            exponent, value = (a.cast(pl.Float64) for a in self.args(op))
            return value.pow(exponent)
        (value, dtype), = self.typed(op)
        if name == "abs":
            if dtype.is_integer():
                return value.cast(pl.Int128).abs().cast(dtype, strict=True)
            return value.abs()
        unary = _MATH.get(name)
        if unary is None:
            raise UnsupportedError(f"the function `math.{name}`", op.span)
        return unary(value.cast(pl.Float64))

    # dates

    def date_function(self, op: rq.Operator) -> pl.Expr:
        name = op.name.removeprefix("std.date.")
        try:
            if name == "now":
                import datetime as dt

                return pl.lit(dt.datetime.now(dt.UTC).replace(tzinfo=None), pl.Datetime("us"))
            if name == "to_text":
                fmt = literal_text(op.args[0])
                if fmt is None:
                    raise UnsupportedError("`date.to_text` with a computed format", op.span,
                                      "write the format as a string literal")
                value = self.lower(op.args[1])
                return dates.to_text(value, self.dtype(value), fmt)
            if name == "trunc":
                unit = literal_text(op.args[0])
                if unit is None:
                    raise UnsupportedError("`date.trunc` with a computed unit", op.span)
                value = self.lower(op.args[1])
                return dates.trunc(value, self.dtype(value), unit)
            if name == "diff":
                unit = literal_text(op.args[0])
                if unit is None:
                    raise UnsupportedError("`date.diff` with a computed unit", op.span)
                start, end = self.lower(op.args[1]), self.lower(op.args[2])
                return dates.diff(unit, start, self.dtype(start), end, self.dtype(end))
        except dates.DateError as error:
            raise UnsupportedError(str(error), op.span) from None
        raise UnsupportedError(f"the function `date.{name}`", op.span)

    # casts

    def cast(self, op: rq.Operator) -> pl.Expr:
        type_name = literal_text(op.args[0])
        target = CASTS.get((type_name or "").strip().lower())
        if target is None:
            raise UnsupportedError(f"`as {type_name}`", op.span, f"the engine casts to {_CAST_NAMES}")
        value = self.lower(op.args[1])
        dtype = self.dtype(value)
        return _cast(value, dtype, target, op)


# --- helpers ---------------------------------------------------------------------------------------


_SIGNED_BITS = {pl.Int8: 8, pl.Int16: 16, pl.Int32: 32, pl.Int64: 64}


def checked_integer(name: str, a: pl.Expr, b: pl.Expr, result: pl.Expr, *, dtype: pl.DataType,
                    constants: tuple[int | None, int | None]) -> pl.Expr:
    """`result` (a + b, a - b or a * b in `dtype`, wrapping on overflow), failing the query where it
    overflowed, as DuckDB does. The checks cost a comparison or two when an operand is a constant (the
    range of the other operand that keeps the result in `dtype`), a few bitwise operations for a sum of
    columns, a product in doubles (with a margin) for a product of columns; other integer types compute
    in 128 bits."""
    bits = next((n for t, n in _SIGNED_BITS.items() if dtype == t), None)
    if bits is None:
        wide = {"std.add": _add, "std.sub": _sub, "std.mul": _mul}[name](a.cast(pl.Int128), b.cast(pl.Int128))
        return wide.cast(dtype, strict=True)
    high, low = 2 ** (bits - 1) - 1, -(2 ** (bits - 1))
    left, right = constants
    if name in ("std.add", "std.mul") and left is not None and right is None:
        a, b, left, right = b, a, right, left
    overflow: pl.Expr | None
    if name == "std.add" and right is not None:  # a + c
        overflow = _outside(a, low - right, high - right, low, high)
    elif name == "std.sub" and right is not None:  # a - c
        overflow = _outside(a, low + right, high + right, low, high)
    elif name == "std.sub" and left is not None:  # c - a
        overflow = _outside(b, left - high, left - low, low, high)
    elif name == "std.add":
        overflow = (a.xor(result) & b.xor(result)) < 0
    elif name == "std.sub":
        overflow = (a.xor(b) & a.xor(result)) < 0
    elif right is not None and right > 0:  # a * c: a within [low / c, high / c], rounded inwards
        overflow = _outside(a, -(-low // right), high // right, low, high)
    elif right is not None and right < 0:
        overflow = _outside(a, -(-high // right), low // right, low, high)
    elif right is not None:  # a * 0
        overflow = None
    else:
        margin = float(2 ** (bits - 1)) * (1 - 2.0 ** -30)
        overflow = (a.cast(pl.Float64) * b.cast(pl.Float64)).abs() >= margin
    if overflow is None:
        return result
    return checked(result, overflow.any(), "integer overflow: a result does not fit in " + str(dtype), dtype)


def _outside(value: pl.Expr, lowest: int, highest: int, low: int, high: int) -> pl.Expr | None:
    """`value` (of a type holding `low..high`) is outside `lowest..highest`; None when it never is."""
    terms = ([value < lowest] if lowest > low else []) + ([value > highest] if highest < high else [])
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else terms[0] | terms[1]


def _add(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return a + b


def _sub(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return a - b


def _mul(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return a * b


_COMPARE: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    "std.eq": lambda a, b: a == b, "std.ne": lambda a, b: a != b, "std.gt": lambda a, b: a > b,
    "std.lt": lambda a, b: a < b, "std.gte": lambda a, b: a >= b, "std.lte": lambda a, b: a <= b,
}

_MATH: dict[str, Callable[[pl.Expr], pl.Expr]] = {
    "floor": lambda x: x.floor(), "ceil": lambda x: x.ceil(), "exp": lambda x: x.exp(),
    "ln": lambda x: x.log(), "log10": lambda x: x.log10(), "sqrt": lambda x: x.sqrt(),
    "degrees": lambda x: x.degrees(), "radians": lambda x: x.radians(), "cos": lambda x: x.cos(),
    "acos": lambda x: x.arccos(), "sin": lambda x: x.sin(), "asin": lambda x: x.arcsin(),
    "tan": lambda x: x.tan(), "atan": lambda x: x.arctan(),
}

_CONTEXT_FUNCTIONS = frozenset({
    "std.min", "std.max", "std.sum", "std.average", "std.stddev", "std.all", "std.any", "std.concat_array",
    "std.count", "std.count_distinct", "std.lag", "std.lead", "std.first", "std.last", "std.rank",
    "std.rank_dense", "std.row_number",
})


def _no_truth_values(op: rq.Operator, *types: pl.DataType) -> None:
    """Arithmetic on a Boolean is refused, as PRQL's SQL does (Polars would count it as 0 or 1, and type the
    result differently when it plans than when it runs)."""
    if any(t == pl.Boolean for t in types):
        shown = ", ".join(str(t) for t in types)
        raise LoweringTypeError(f"`{op.name.removeprefix('std.')}` of {shown}: arithmetic on a truth value; "
                                "cast it first (`x | as int`)", op.span, False)


def _not_mixed(what: str, types: list[pl.DataType], span: rq.Span) -> None:
    """Values of a date or timestamp type and of a number type are not mixed in one column, nor text with
    values of another type (a number, a truth value, a date), as PRQL's SQL refuses: DuckDB binds no
    COALESCE or CASE of VARCHAR and INTEGER. Polars would make the mix text (or type it one way when it
    plans and another when it runs)."""
    shown = ", ".join(str(t) for t in types)
    if any(t == pl.String for t in types) and any(t not in (pl.String, pl.Null) for t in types):
        raise LoweringTypeError(f"{what} of {shown}: text and values of another type in one column; cast them "
                                "to one type first (`x | as text`, or the text `| as int`)", span, False)
    if any(dates.is_temporal(t) for t in types) and any(t.is_numeric() for t in types):
        raise LoweringTypeError(f"{what} of {shown}: a date or timestamp and a number in one column; "
                                "cast one of them first", span, False)


def _span(arg: rq.Expr, parent: rq.Operator) -> rq.Span:
    return getattr(arg, "span", None) or parent.span


def _concat_args(op: rq.Operator) -> list[rq.Expr]:
    out: list[rq.Expr] = []
    for arg in op.args:
        if isinstance(arg, rq.Operator) and arg.name == "std.concat":
            out.extend(_concat_args(arg))
        else:
            out.append(arg)
    return out


def _round(value: pl.Expr, dtype: pl.DataType, digits: int) -> pl.Expr:
    """DuckDB's ROUND(x, digits): half away from zero; an integer stays an integer."""
    if dtype.is_integer():
        if digits >= 0:
            return value
        factor = 10 ** (-digits)
        wide = value.cast(pl.Int128)
        rounded = ((wide.abs() + factor // 2) // factor) * factor * wide.sign()
        return rounded.cast(dtype, strict=True)
    as_float = value.cast(pl.Float64) if not dtype.is_float() else value
    if digits >= 0:
        return as_float.round(digits, mode="half_away_from_zero")
    factor = float(10 ** (-digits))
    return (as_float / factor).round(0, mode="half_away_from_zero") * factor


def _cast(value: pl.Expr, dtype: pl.DataType, target: pl.DataType, op: rq.Operator) -> pl.Expr:
    if dtype == target:
        return value
    if target == pl.String:
        as_text = text.to_text(value, dtype)
        if as_text is None:
            raise UnsupportedError(f"`as text` of a {dtype} value", op.span)
        return as_text
    if target.is_integer():
        if dtype.is_float():
            return value.round(0, mode="half_to_even").cast(target, strict=True)
        if dtype == pl.String:
            return value.str.strip_chars(" ").cast(target, strict=True)
        if dtype.is_integer() or dtype in (pl.Boolean, pl.Null):
            return value.cast(target, strict=True)
    if target.is_float() and (dtype.is_numeric() or dtype in (pl.Boolean, pl.Null)):
        return value.cast(target)
    if target.is_float() and dtype == pl.String:
        return value.str.strip_chars(" ").cast(target, strict=True)
    if target == pl.Boolean and (dtype.is_numeric() or dtype == pl.Null):
        return value.cast(target)
    if target == pl.Date and dates.is_temporal(dtype):
        return value.cast(pl.Datetime("us")).dt.date() if dtype != pl.Date else value
    if target == pl.Date and dtype == pl.String:
        return value.str.strip_chars(" ").str.to_date("%Y-%m-%d", strict=True)
    if isinstance(target, pl.Datetime) and dtype == pl.Date:
        return value.cast(target)
    if isinstance(target, pl.Datetime) and dtype == pl.String:
        return value.str.strip_chars(" ").str.to_datetime(time_unit="us", strict=True)
    if dtype == pl.Null:
        return value.cast(target)
    raise UnsupportedError(f"`as` from {dtype} to {target}", op.span)


_OPERATORS: dict[str, Callable[[Expressions, rq.Operator], pl.Expr]] = {
    "std.add": Expressions.arithmetic, "std.sub": Expressions.arithmetic, "std.mul": Expressions.arithmetic,
    "std.div_f": Expressions.div_f, "std.div_i": Expressions.div_i, "std.mod": Expressions.mod,
    "std.neg": Expressions.neg, "std.not": Expressions.not_,
    **dict.fromkeys(("std.eq", "std.ne", "std.gt", "std.lt", "std.gte", "std.lte"), Expressions.compare),
    "std.and": Expressions.logic, "std.or": Expressions.logic, "std.coalesce": Expressions.coalesce,
    "std.concat": Expressions.concat, "std.array_in": Expressions.array_in, "std.regex_search": Expressions.regex,
    "std.as": Expressions.cast,
}
for _name in ("lower", "upper", "ltrim", "rtrim", "trim", "length", "extract", "replace", "starts_with", "contains",
              "ends_with"):
    _OPERATORS[f"std.text.{_name}"] = Expressions.text_function
for _name in ("abs", "floor", "ceil", "pi", "exp", "ln", "log10", "log", "sqrt", "degrees", "radians", "cos", "acos",
              "sin", "asin", "tan", "atan", "pow", "round"):
    _OPERATORS[f"std.math.{_name}"] = Expressions.math_function
for _name in ("now", "to_text", "trunc", "diff"):
    _OPERATORS[f"std.date.{_name}"] = Expressions.date_function
